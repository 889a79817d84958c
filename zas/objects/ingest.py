"""Receiving bytes into a blob, checking every digest the client declared on the way.

Shared by PutObject and UploadPart. The blob becomes addressable only after every check has
passed; it is pinned (see `BlobPins`) from then until the caller's metadata row is
committed, and if that commit fails the digest is handed back to the metadata writer to
decide whether it is now an orphan.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager

import attrs
import trio

from zas.meta.store import MetaStore
from zas.observability.tracing import tracer
from zas.protocol.errors import BadDigest, IncompleteBody, XAmzContentSHA256Mismatch
from zas.protocol.operations import Checksum
from zas.storage.base import BlobInfo, BlobStore
from zas.storage.checksums import Checksummer


@attrs.define
class Expected:
    """What the client declared about the body. `checksums` may grow while the body streams
    (aws-chunked trailers arrive after the data)."""

    content_length: int | None = None
    content_md5: bytes | None = None
    payload_sha256: str | None = None  # hex, from x-amz-content-sha256
    checksums: list[Checksum] = attrs.field(factory=list)
    # Algorithms to compute even before their value is known (declared trailers).
    algorithms: Sequence[str] = ()

    def all_algorithms(self) -> list[str]:
        names = {checksum.algorithm for checksum in self.checksums} | set(self.algorithms)
        return sorted(names - {"sha256"})  # SHA-256 is always computed


class BlobPins:
    """Digests that must not be garbage-collected: committed blobs whose rows are pending.

    Blob files are deleted in a worker thread, so the event loop never waits on `unlink`
    (under a small-PUT load that had cost a tenth of its time). While a digest's file is being
    deleted it is claimed: a writer that pins it meanwhile waits (`settled`) before it looks
    for the file, or it could find the file about to go and skip writing its identical bytes.
    Pins and claims change only on the event loop, so checking one against the other needs
    no lock."""

    def __init__(self) -> None:
        self._pins: Counter[str] = Counter()
        # Digests a worker thread is deleting now -> set when it has finished.
        self._claims: dict[str, trio.Event] = {}

    def __contains__(self, digest: object) -> bool:
        return bool(self._pins[digest]) if isinstance(digest, str) else False

    def add(self, digest: str) -> None:
        self._pins[digest] += 1

    def remove(self, digest: str) -> None:
        self._pins[digest] -= 1
        if self._pins[digest] <= 0:
            del self._pins[digest]

    async def settled(self, digest: str) -> None:
        """Return once no deletion of `digest` is under way (call after pinning it)."""
        claim = self._claims.get(digest)
        if claim is not None:
            await claim.wait()

    @asynccontextmanager
    async def claim(self, digests: Iterable[str]) -> AsyncIterator[list[str]]:
        """Of `digests`, those free to delete (neither pinned nor claimed already), claimed
        until the block ends."""
        done = trio.Event()
        claimed = sorted({d for d in digests if d not in self and d not in self._claims})
        for digest in claimed:
            self._claims[digest] = done
        try:
            yield claimed
        finally:
            for digest in claimed:
                del self._claims[digest]
            done.set()


def verify(info: BlobInfo, expected: Expected) -> None:
    """Raise the S3 error for the first declared digest the received bytes do not match."""
    if expected.content_length is not None and info.size != expected.content_length:
        raise IncompleteBody()
    if expected.content_md5 is not None and info.md5 != expected.content_md5.hex():
        raise BadDigest(ExpectedDigest=expected.content_md5.hex(), CalculatedDigest=info.md5)
    if expected.payload_sha256 is not None and expected.payload_sha256 != info.sha256:
        raise XAmzContentSHA256Mismatch(
            ClientComputedContentSHA256=expected.payload_sha256,
            S3ComputedContentSHA256=info.sha256,
        )
    for checksum in expected.checksums:
        computed = (
            bytes.fromhex(info.sha256)
            if checksum.algorithm == "sha256"
            else info.checksum(checksum.algorithm)
        )
        if computed is None or not hmac.compare_digest(computed, checksum.digest):
            raise BadDigest(
                f"The {checksum.algorithm.upper()} you specified did not match the "
                "calculated checksum."
            )


def verify_bytes(data: bytes, expected: Expected) -> None:
    """`verify` for a small body held in memory (XML request documents)."""
    extra = Checksummer.for_algorithms(expected.all_algorithms())
    if extra is not None:
        extra.update(data)
    info = BlobInfo(
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        len(data),
        extra.digests() if extra is not None else (),
    )
    verify(info, expected)


@asynccontextmanager
async def ingest(
    blobs: BlobStore,
    meta: MetaStore,
    pins: BlobPins,
    body: AsyncIterator[bytes],
    expected: Expected,
    *,
    on_received: Callable[[BlobInfo], None] | None = None,
) -> AsyncIterator[BlobInfo]:
    """Stream `body` into a committed, verified, pinned blob; the caller commits its row
    inside the block. Leaving the block by an exception releases the blob to the GC."""
    async with blobs.open_writer(expected.all_algorithms()) as writer:
        with tracer().span("storage.write"):
            async for chunk in body:
                await writer.write(chunk)
            info = await writer.finish()
            verify(info, expected)
        if on_received is not None:
            on_received(info)
        async with _pinned(meta, pins, info.sha256):
            with tracer().span("storage.commit"):
                await writer.commit()
            yield info


@asynccontextmanager
async def share(
    blobs: BlobStore, meta: MetaStore, pins: BlobPins, digest: str, missing: Exception
) -> AsyncIterator[None]:
    """Keep a stored blob that a new row is about to share (UploadPartCopy of a whole
    object) until the caller has committed that row; raise `missing` if the blob was
    collected after the row it was read from went away."""
    async with _pinned(meta, pins, digest):
        if await blobs.size_of(digest) is None:
            raise missing
        yield


@asynccontextmanager
async def _pinned(meta: MetaStore, pins: BlobPins, digest: str) -> AsyncIterator[None]:
    """`digest` pinned for the block, which starts once no deletion of it is under way. If
    the block fails, the metadata writer decides whether the blob is now an orphan."""
    pins.add(digest)
    failed = False
    try:
        await pins.settled(digest)
        yield
    except BaseException:
        failed = True
        raise
    finally:
        pins.remove(digest)
        if failed:
            with trio.CancelScope(shield=True):
                # The row was refused (precondition, bucket gone, ...): let the writer
                # decide whether the blob is now an orphan.
                await meta.release([digest])
