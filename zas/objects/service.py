"""Bucket and object semantics in S3 terms, over a blob store and the metadata store.

This is where "durable before 200" holds: a PUT streams the body into a blob writer, checks
every digest the client declared, makes the blob addressable, then commits the metadata row
and only then returns. Nothing half-written becomes visible: a failed check or a dropped
connection leaves the temp file to the writer's cleanup and no row behind.

Blob lifetime: a blob is deleted as soon as no object or upload part refers to it. An upload
pins its digest from the moment the blob is committed until its row is committed, so the
metadata writer's orphan sweep never deletes a blob that a row is about to point to.
Copies share blobs: CopyObject writes a row, never bytes. No HTTP here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime

import attrs
import trio

from zas.meta.batch import CopyObjectRow
from zas.meta.records import BucketRecord, ChecksumValue, ObjectRecord, Tags
from zas.meta.store import MetaStore
from zas.objects.ingest import BlobPins, Expected, ingest
from zas.protocol.conditions import Preconditions
from zas.protocol.errors import NoSuchKey, S3Error
from zas.protocol.operations import CopySource, ListParams, ObjectMetadata
from zas.protocol.ranges import ByteRange
from zas.protocol.xml import ListPage
from zas.storage.base import BlobStore

# Largest single PUT, as S3 (larger objects need multipart upload).
MAX_PUT_SIZE = 5 * 1024**3


@attrs.frozen
class DeleteResult:
    key: str
    error: S3Error | None = None


class ObjectService:
    def __init__(self, blobs: BlobStore, meta: MetaStore, *, region: str, owner: str) -> None:
        self.blobs = blobs
        self.meta = meta
        self.region = region
        self.owner = owner
        self.pins = BlobPins()
        # Called with (blobs, bytes) each time blobs are collected (metrics).
        self.on_gc: Callable[[int, int], None] = lambda blobs, freed: None

    # Wired to the metadata writer: blobs it found unreferenced after a commit.
    async def delete_orphans(self, digests: list[str]) -> None:
        await self._delete(digests)

    async def collect_garbage(self) -> int:
        """Delete blobs no row refers to (e.g. left by a crash between blob and row)."""
        referenced = await self.meta.referenced_digests()
        stored = await self.blobs.list_digests()
        return await self._delete(digest for digest in stored if digest not in referenced)

    async def _delete(self, digests: Iterable[str]) -> int:
        """Delete the blobs of `digests` that no upload has pinned; returns how many."""
        async with self.pins.claim(digests) as claimed:
            if not claimed:
                return 0
            freed = await self.blobs.delete(claimed)
        self.on_gc(len(claimed), freed)
        return len(claimed)

    # --- buckets -----------------------------------------------------------------------

    async def create_bucket(self, name: str, now: datetime) -> BucketRecord:
        return await self.meta.create_bucket(BucketRecord(name, now, self.region, self.owner))

    async def delete_bucket(self, name: str, *, force: bool) -> None:
        await self.meta.delete_bucket(name, force=force)

    def head_bucket(self, name: str) -> BucketRecord:
        return self.meta.require_bucket(name)

    def list_buckets(self) -> list[BucketRecord]:
        return self.meta.list_buckets()

    async def list_objects(self, bucket: str, params: ListParams) -> ListPage:
        self.meta.require_bucket(bucket)
        return await self.meta.list_objects(bucket, params)

    # --- objects -----------------------------------------------------------------------

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: AsyncIterator[bytes],
        expected: Expected,
        *,
        metadata: ObjectMetadata,
        preconditions: Preconditions | None = None,
        tags: Tags = (),
    ) -> ObjectRecord:
        self.meta.require_bucket(bucket)
        async with ingest(self.blobs, self.meta, self.pins, body, expected) as info:
            # Keep the client's flexible checksum; SHA-256 is stored as the address anyway.
            declared = next(
                (c for c in expected.checksums if c.algorithm != "sha256"),
                expected.checksums[0] if expected.checksums else None,
            )
            checksum = ChecksumValue(declared.algorithm, declared.base64) if declared else None
            record = ObjectRecord(
                bucket=bucket,
                key=key,
                size=info.size,
                etag=info.md5,
                sha256=info.sha256,
                last_modified=datetime.now(UTC),
                metadata=metadata,
                tags=tags,
                checksum=checksum,
            )
            await self.meta.put_object(record, preconditions)
        return record

    async def head_object(self, bucket: str, key: str) -> ObjectRecord:
        self.meta.require_bucket(bucket)
        record = await self.meta.get_object(bucket, key)
        if record is None:
            raise NoSuchKey(resource=f"/{bucket}/{key}", Key=key)
        return record

    async def read_object(
        self, record: ObjectRecord, byte_range: ByteRange | None = None
    ) -> AsyncIterator[bytes]:
        """The object's bytes (or a range of them), across its part blobs if multipart."""
        start = 0 if byte_range is None else byte_range.start
        end = record.size if byte_range is None else byte_range.end + 1
        offset = 0
        for blob in record.blobs:
            blob_start, blob_end = offset, offset + blob.size
            offset = blob_end
            if blob_end <= start or blob_start >= end:
                continue
            async for chunk in self.blobs.read(
                blob.sha256, max(start - blob_start, 0), min(end, blob_end) - blob_start
            ):
                yield chunk

    async def delete_object(self, bucket: str, key: str) -> None:
        self.meta.require_bucket(bucket)
        await self.meta.delete_object(bucket, key)

    async def delete_objects(self, bucket: str, keys: Sequence[str]) -> list[DeleteResult]:
        """DeleteObjects: every key is deleted independently (its own outcome), but they are
        submitted together so the metadata writer commits them in one or a few batches."""
        self.meta.require_bucket(bucket)
        results: list[DeleteResult | None] = [None] * len(keys)

        async def delete(index: int, key: str) -> None:
            try:
                await self.meta.delete_object(bucket, key)
                results[index] = DeleteResult(key)
            except S3Error as error:
                results[index] = DeleteResult(key, error)

        async with trio.open_nursery() as nursery:
            for index, key in enumerate(keys):
                nursery.start_soon(delete, index, key)
        return [result for result in results if result is not None]

    async def copy_object(
        self,
        source: CopySource,
        bucket: str,
        key: str,
        *,
        source_preconditions: Preconditions,
        preconditions: Preconditions | None = None,
        metadata: ObjectMetadata | None = None,
        tags: Tags | None = None,
    ) -> ObjectRecord:
        """A new row sharing the source's blobs. `metadata`/`tags` None means COPY. The
        source is read in the metadata writer (see `CopyObjectRow`)."""
        self.meta.require_bucket(bucket)
        copied: ObjectRecord = await self.meta.change(
            CopyObjectRow(
                source.bucket,
                source.key,
                source_preconditions,
                bucket,
                key,
                datetime.now(UTC),
                metadata,
                tags,
                preconditions or Preconditions(),
            )
        )
        return copied

    async def get_tags(self, bucket: str, key: str) -> Tags:
        return (await self.head_object(bucket, key)).tags

    async def set_tags(self, bucket: str, key: str, tags: Tags) -> None:
        self.meta.require_bucket(bucket)
        await self.meta.set_object_tags(bucket, key, tags)
