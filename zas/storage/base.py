"""The blob-store interface: bytes in, digests out.

A blob store knows bytes, sizes and digests, nothing of buckets, keys or users. Blobs are
addressed by their SHA-256; writing is two-phase so the caller can check what it received
(Content-MD5, x-amz-content-sha256, checksums) before anything becomes visible:

    async with store.open_writer() as writer:
        async for chunk in body:
            await writer.write(chunk)
        info = await writer.finish()      # durable in a temp file, digests known
        ...verify info against what the client declared...
        await writer.commit()             # now addressable as info.sha256
    # leaving the block without commit() removes the temp file

Every implementation passes `zas.storage.conformance.check_blob_store`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs


class StorageError(Exception):
    """A blob store failed; mapped to an S3 InternalError at the API boundary."""


class BlobNotFound(StorageError):
    pass


@attrs.frozen
class BlobInfo:
    sha256: str  # hex; the blob's address
    md5: str  # hex; the S3 ETag of a single-part object
    size: int
    # Extra digests asked for when the writer was opened: (algorithm, raw digest).
    checksums: tuple[tuple[str, bytes], ...] = ()

    def checksum(self, algorithm: str) -> bytes | None:
        return dict(self.checksums).get(algorithm)


class BlobWriter(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def finish(self) -> BlobInfo:
        """All bytes written and made durable; returns the digests. Not yet visible."""
        ...

    async def commit(self) -> BlobInfo:
        """Make the finished blob addressable (atomically; a no-op if it already exists)."""
        ...


class BlobStore(Protocol):
    def open_writer(
        self, checksums: Collection[str] = ()
    ) -> AbstractAsyncContextManager[BlobWriter]:
        """A writer for one blob; `checksums` names extra digests to compute on the way
        (see zas.storage.checksums)."""
        ...

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes [start, end) of a blob; BlobNotFound if absent."""
        ...

    async def size_of(self, sha256: str) -> int | None: ...

    def delete_now(self, sha256: str) -> int:
        """Remove a blob; returns the bytes freed (0 if it was already gone). Synchronous on
        purpose: callers decide and delete without a checkpoint in between, so no concurrent
        commit of the same digest can interleave."""
        ...

    async def delete(self, digests: Sequence[str]) -> int:
        """Remove blobs off the event loop; returns the bytes freed. Callers claim the digests
        first (see zas.objects.ingest.BlobPins) so no commit of the same content interleaves."""
        ...

    async def list_digests(self) -> list[str]: ...

    async def remove_temporaries(self) -> int:
        """Delete leftovers of interrupted writes; returns how many were removed."""
        ...
