"""Bucket and object semantics in S3 terms, over a blob store and the metadata store.

This is where "durable before 200" holds: a PUT streams the body into a blob writer, checks
every digest the client declared, makes the blob addressable, then commits the metadata row
and only then returns. Nothing half-written becomes visible: a failed check or a dropped
connection leaves the temp file to the writer's cleanup and no row behind.

Blob lifetime: a blob is deleted as soon as no object refers to it. An upload pins its
digest from the moment the blob is committed until its row is committed, so the metadata
writer's orphan sweep can never delete a blob that a row is about to point to.
No HTTP here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from zas.meta.records import BucketRecord, ObjectRecord
from zas.meta.store import MetaStore
from zas.protocol.errors import (
    BadDigest,
    IncompleteBody,
    NoSuchKey,
    XAmzContentSHA256Mismatch,
)
from zas.protocol.operations import ListParams, PutObject
from zas.protocol.ranges import ByteRange
from zas.protocol.sigv4 import PayloadHash, PayloadKind
from zas.protocol.xml import ListPage
from zas.storage.base import BlobStore

# Largest single PUT, as S3 (larger objects need multipart upload).
MAX_PUT_SIZE = 5 * 1024**3


class ObjectService:
    def __init__(self, blobs: BlobStore, meta: MetaStore, *, region: str, owner: str) -> None:
        self.blobs = blobs
        self.meta = meta
        self.region = region
        self.owner = owner
        self._pins: Counter[str] = Counter()

    # Wire the metadata writer's orphan decisions to blob deletion.
    def delete_orphans(self, digests: list[str]) -> None:
        for digest in digests:
            if not self._pins[digest]:
                self.blobs.delete_now(digest)

    async def collect_garbage(self) -> int:
        """Delete blobs no object refers to (e.g. left by a crash between blob and row)."""
        referenced = await self.meta.referenced_digests()
        removed = 0
        for digest in await self.blobs.list_digests():
            if digest not in referenced and not self._pins[digest]:
                self.blobs.delete_now(digest)
                removed += 1
        return removed

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
        self, op: PutObject, body: AsyncIterator[bytes], payload: PayloadHash
    ) -> ObjectRecord:
        self.meta.require_bucket(op.bucket)
        algorithms = [checksum.algorithm for checksum in op.checksums]
        async with self.blobs.open_writer(algorithms) as writer:
            async for chunk in body:
                await writer.write(chunk)
            info = await writer.finish()
            if op.content_length is not None and info.size != op.content_length:
                raise IncompleteBody()
            if op.content_md5 is not None and info.md5 != op.content_md5.hex():
                raise BadDigest(ExpectedDigest=op.content_md5.hex(), CalculatedDigest=info.md5)
            if payload.kind is PayloadKind.SHA256 and payload.value != info.sha256:
                raise XAmzContentSHA256Mismatch(
                    ClientComputedContentSHA256=payload.value,
                    S3ComputedContentSHA256=info.sha256,
                )
            for checksum in op.checksums:
                computed = (
                    bytes.fromhex(info.sha256)
                    if checksum.algorithm == "sha256"
                    else info.checksum(checksum.algorithm)
                )
                if computed != checksum.digest:
                    raise BadDigest(
                        f"The {checksum.algorithm.upper()} you specified did not match the "
                        "calculated checksum."
                    )
            record = ObjectRecord(
                bucket=op.bucket,
                key=op.key,
                size=info.size,
                etag=info.md5,
                sha256=info.sha256,
                last_modified=datetime.now(UTC),
                metadata=op.metadata,
            )
            self._pins[info.sha256] += 1
            committed = False
            try:
                await writer.commit()
                await self.meta.put_object(record, op.preconditions)
                committed = True
            finally:
                self._unpin(info.sha256)
                if not committed:
                    # The row was refused (precondition, bucket gone, ...): let the writer
                    # decide whether the blob we just committed is now an orphan.
                    await self.meta.release([info.sha256])
        return record

    def _unpin(self, digest: str) -> None:
        self._pins[digest] -= 1
        if self._pins[digest] <= 0:
            del self._pins[digest]

    async def head_object(self, bucket: str, key: str) -> ObjectRecord:
        self.meta.require_bucket(bucket)
        record = await self.meta.get_object(bucket, key)
        if record is None:
            raise NoSuchKey(resource=f"/{bucket}/{key}", Key=key)
        return record

    def read_object(
        self, record: ObjectRecord, byte_range: ByteRange | None = None
    ) -> AsyncIterator[bytes]:
        if byte_range is None:
            return self.blobs.read(record.sha256)
        return self.blobs.read(record.sha256, byte_range.start, byte_range.end + 1)

    async def delete_object(self, bucket: str, key: str) -> None:
        self.meta.require_bucket(bucket)
        await self.meta.delete_object(bucket, key)
