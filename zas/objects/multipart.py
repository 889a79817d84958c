"""Multipart uploads: parts are content-addressed blobs; completing writes a row, not bytes.

Completing an upload only checks the part list and commits one metadata row that lists the
part blobs in order, so a 5 GiB upload completes with no data work. The ETag is S3's
`md5(concatenated part MD5s)-N`; a composite flexible checksum is computed the same way from
the parts' checksums.

The whole object's SHA-256 (the digest supply-chain checks use) cannot come from the part
digests, so it is computed after completion by a read-only pass over the part blobs in a
background task (`WholeObjectHasher`): ~0.7 s per GiB of one core's time (SHA-256 runs at
~1.45 GB/s here), off the request path. Until then the object's sha256 is unknown and not
reported. The pass resumes at start-up for any object still missing it.

Incomplete uploads expire after `upload_expiry` (default 7 days, configurable) and their
parts are collected by the same orphan sweep as everything else.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import trio

from zas.meta.records import BlobRef, ChecksumValue, ObjectRecord, PartRecord, UploadRecord
from zas.meta.store import AFTER_ALL, common_prefix
from zas.objects.ingest import Expected, ingest, share
from zas.objects.service import ObjectService
from zas.protocol.checksum_algorithms import composite, encode, full_object, parse_algorithm
from zas.protocol.conditions import Preconditions, check_copy_source
from zas.protocol.errors import (
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    NoSuchKey,
    NoSuchUpload,
)
from zas.protocol.operations import CopySource, ObjectMetadata
from zas.protocol.ranges import ByteRange
from zas.protocol.xml import UploadsPage, UploadSummary
from zas.protocol.xml_requests import CompletedPart
from zas.storage.base import BlobNotFound

log = logging.getLogger("zas.multipart")

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024**3


def new_upload_id() -> str:
    """256 random bits in hex. Not base64url: one id in 64 began with "-", which s3cmd's
    `listmp s3://bucket/key <upload-id>` (and any command line) takes for an option."""
    return secrets.token_hex(32)


class MultipartUploads:
    def __init__(self, objects: ObjectService, *, expiry: timedelta = timedelta(days=7)) -> None:
        self.objects = objects
        self.meta = objects.meta
        self.blobs = objects.blobs
        self.expiry = expiry
        self.hasher = WholeObjectHasher(objects)

    async def create(
        self,
        bucket: str,
        key: str,
        *,
        metadata: ObjectMetadata,
        tags: tuple[tuple[str, str], ...] = (),
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> UploadRecord:
        self.meta.require_bucket(bucket)
        record = UploadRecord(
            new_upload_id(),
            bucket,
            key,
            datetime.now(UTC),
            metadata,
            tags,
            checksum_algorithm.lower() if checksum_algorithm else None,
            checksum_type,
        )
        return await self.meta.create_upload(record)

    async def require(self, bucket: str, key: str, upload_id: str) -> UploadRecord:
        self.meta.require_bucket(bucket)
        upload = await self.meta.get_upload(upload_id)
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            raise NoSuchUpload(resource=f"/{bucket}/{key}", UploadId=upload_id)
        return upload

    async def upload_part(
        self,
        upload: UploadRecord,
        part_number: int,
        body: AsyncIterator[bytes],
        expected: Expected,
    ) -> PartRecord:
        """`upload` comes from `require`, which the caller runs before reading the body.
        The part number is already validated by routing (1..10,000)."""
        algorithm = upload.checksum_algorithm
        if algorithm and algorithm not in expected.algorithms:
            expected.algorithms = [*expected.algorithms, algorithm]
        async with ingest(self.blobs, self.meta, self.objects.pins, body, expected) as info:
            if info.size > MAX_PART_SIZE:
                raise InvalidArgument("Part exceeds the maximum part size of 5 GiB.")
            part = PartRecord(
                upload.upload_id,
                part_number,
                info.sha256,
                info.md5,
                info.size,
                datetime.now(UTC),
                _part_checksum(algorithm, info.sha256, info.checksum(algorithm or "")),
            )
            await self.meta.put_part(upload.bucket, upload.key, part)
        return part

    async def upload_part_copy(
        self,
        upload: UploadRecord,
        part_number: int,
        source: CopySource,
        *,
        source_range: tuple[int, int] | None,
        source_preconditions: Preconditions,
    ) -> PartRecord:
        """A part made of (a range of) another object. A whole single-blob source is shared,
        not copied; a range or a multipart source is read and stored as a new blob."""
        original = await self.objects.head_object(source.bucket, source.key)
        check_copy_source(source_preconditions, original.quoted_etag, original.last_modified)
        if source_range is not None:
            first, last = source_range
            if first > last or last >= original.size:
                raise InvalidArgument(
                    f"Range specified is not valid for source object of size: {original.size}",
                    ArgumentName="x-amz-copy-source-range",
                )
            byte_range: ByteRange | None = ByteRange(first, last, original.size)
        else:
            byte_range = None
        if byte_range is None and not original.parts and not upload.checksum_algorithm:
            assert original.sha256 is not None
            part = PartRecord(
                upload.upload_id,
                part_number,
                original.sha256,
                original.etag,
                original.size,
                datetime.now(UTC),
            )
            gone = NoSuchKey(resource=f"/{source.bucket}/{source.key}", Key=source.key)
            async with share(self.blobs, self.meta, self.objects.pins, part.sha256, gone):
                await self.meta.put_part(upload.bucket, upload.key, part)
            return part
        body = self.objects.read_object(original, byte_range)
        return await self.upload_part(upload, part_number, body, Expected())

    async def complete(
        self,
        upload: UploadRecord,
        requested: Sequence[CompletedPart],
        *,
        preconditions: Preconditions | None = None,
    ) -> ObjectRecord:
        bucket, key, upload_id = upload.bucket, upload.key, upload.upload_id
        if not requested:
            raise InvalidRequest("You must specify at least one part")
        stored = {part.part_number: part for part in await self.meta.list_parts(upload_id)}
        chosen: list[PartRecord] = []
        previous_number = 0
        for index, wanted in enumerate(requested):
            if wanted.part_number <= previous_number:
                raise InvalidPartOrder(UploadId=upload_id)
            previous_number = wanted.part_number
            part = stored.get(wanted.part_number)
            if part is None or part.md5 != wanted.etag.strip('"'):
                raise InvalidPart(UploadId=upload_id, PartNumber=str(wanted.part_number))
            declared = [
                c.base64 for c in wanted.checksums if c.algorithm == upload.checksum_algorithm
            ]
            if declared and declared[0] != part.checksum:
                raise InvalidPart(
                    f"The {(upload.checksum_algorithm or '').upper()} of part {wanted.part_number} "
                    "does not match the uploaded part.",
                    UploadId=upload_id,
                )
            if index < len(requested) - 1 and part.size < MIN_PART_SIZE:
                raise EntityTooSmall(
                    ProposedSize=str(part.size),
                    MinSizeAllowed=str(MIN_PART_SIZE),
                    PartNumber=str(part.part_number),
                )
            chosen.append(part)
        record = ObjectRecord(
            bucket=bucket,
            key=key,
            size=sum(part.size for part in chosen),
            etag=multipart_etag([part.md5 for part in chosen]),
            sha256=None,
            last_modified=datetime.now(UTC),
            metadata=upload.metadata,
            parts=tuple(BlobRef(part.sha256, part.size) for part in chosen),
            tags=upload.tags,
            checksum=_multipart_checksum(upload, chosen),
        )
        await self.meta.complete_upload(upload_id, record, preconditions)
        self.hasher.submit(record)
        return record

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        max_uploads: int = 1000,
        key_marker: str = "",
        upload_id_marker: str = "",
    ) -> UploadsPage:
        """ListMultipartUploads: uploads in key order (then upload id), keys under a delimiter
        rolled up into common prefixes, `max_uploads` entries (uploads + prefixes) a page."""
        self.meta.require_bucket(bucket)
        entries: list[UploadSummary | str] = []
        marker_key, marker_id = key_marker, upload_id_marker
        if (
            delimiter
            and not marker_id
            and common_prefix(marker_key, prefix, delimiter) == marker_key
        ):
            marker_key += AFTER_ALL  # resuming after a common prefix: skip what it covers
        if max_uploads == 0:
            return UploadsPage((), (), False)
        while True:
            batch = await self.meta.list_uploads(
                bucket,
                prefix=prefix,
                key_marker=marker_key,
                upload_id_marker=marker_id,
                limit=max_uploads + 1,
            )
            for upload in batch:
                if len(entries) == max_uploads:
                    return _uploads_page(entries, truncated=True)
                common = common_prefix(upload.key, prefix, delimiter) if delimiter else None
                if common is not None:
                    entries.append(common)
                    marker_key, marker_id = common + AFTER_ALL, ""
                    break  # the next uploads may lie under the same prefix: query again
                entries.append(
                    UploadSummary(
                        upload.key,
                        upload.upload_id,
                        upload.initiated,
                        checksum_algorithm=upload.checksum_algorithm,
                        checksum_type=upload.checksum_type,
                    )
                )
                marker_key, marker_id = upload.key, upload.upload_id
            else:
                if len(batch) <= max_uploads:
                    return _uploads_page(entries, truncated=False)

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        self.meta.require_bucket(bucket)
        await self.meta.abort_upload(bucket, key, upload_id)

    async def expire(self, now: datetime) -> int:
        """Abort every upload initiated more than `expiry` ago; returns how many."""
        expired = await self.meta.uploads_initiated_before(now - self.expiry)
        for upload in expired:
            try:
                await self.meta.abort_upload(upload.bucket, upload.key, upload.upload_id)
            except NoSuchUpload:
                continue  # completed or aborted meanwhile
        if expired:
            log.info("expired %d incomplete multipart upload(s)", len(expired))
        return len(expired)

    async def run_expiry(self, interval: float, *, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        while True:
            await self.expire(datetime.now(UTC))
            await trio.sleep(interval)


def _uploads_page(entries: list[UploadSummary | str], *, truncated: bool) -> UploadsPage:
    uploads = tuple(entry for entry in entries if isinstance(entry, UploadSummary))
    prefixes = tuple(entry for entry in entries if isinstance(entry, str))
    if not truncated or not entries:
        return UploadsPage(uploads, prefixes, False)
    last = entries[-1]
    if isinstance(last, str):
        return UploadsPage(uploads, prefixes, True, next_key_marker=last)
    return UploadsPage(
        uploads, prefixes, True, next_key_marker=last.key, next_upload_id_marker=last.upload_id
    )


def multipart_etag(part_md5s: Sequence[str]) -> str:
    """S3's multipart ETag: MD5 of the concatenated binary part MD5s, then "-<parts>"."""
    joined = b"".join(bytes.fromhex(md5) for md5 in part_md5s)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_md5s)}"


def _part_checksum(algorithm: str | None, sha256: str, computed: bytes | None) -> str | None:
    if not algorithm:
        return None
    raw = bytes.fromhex(sha256) if algorithm == "sha256" else computed
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def _multipart_checksum(upload: UploadRecord, parts: list[PartRecord]) -> ChecksumValue | None:
    """COMPOSITE: the checksum of the part checksums, "-N". FULL_OBJECT (CRCs only): the CRC of
    the whole object, combined arithmetically from the part CRCs without reading any data."""
    algorithm = upload.checksum_algorithm
    if not algorithm or any(part.checksum is None for part in parts):
        return None
    kind = parse_algorithm(algorithm)
    digests = [base64.b64decode(part.checksum or "") for part in parts]
    if upload.checksum_type == "FULL_OBJECT" and kind.is_crc:
        whole = full_object(kind, zip(digests, [part.size for part in parts], strict=True))
        return ChecksumValue(algorithm, encode(whole), "FULL_OBJECT")
    raw, suffix = composite(kind, digests)
    return ChecksumValue(algorithm, encode(raw) + suffix, "COMPOSITE")


class WholeObjectHasher:
    """Computes multipart objects' SHA-256 by reading their parts, one object at a time."""

    def __init__(self, objects: ObjectService) -> None:
        self.objects = objects
        self._send, self._receive = trio.open_memory_channel[ObjectRecord](10_000)

    def submit(self, record: ObjectRecord) -> None:
        try:
            self._send.send_nowait(record)
        except trio.WouldBlock:
            log.warning("hash queue full; %s/%s is hashed at next start", record.bucket, record.key)

    async def run(self, *, task_status: trio.TaskStatus[None]) -> None:
        for record in await self.objects.meta.objects_missing_sha256():
            self.submit(record)
        task_status.started()
        async for record in self._receive:
            try:
                await self.hash_one(record)
            except BlobNotFound:
                pass  # the object was replaced or deleted meanwhile: nothing to record
            except Exception:
                log.exception("hashing %s/%s failed", record.bucket, record.key)

    async def hash_one(self, record: ObjectRecord) -> bool:
        digest = hashlib.sha256()
        async for chunk in self.objects.read_object(record):
            await trio.to_thread.run_sync(digest.update, chunk)
        return await self.objects.meta.set_object_sha256(
            record.bucket, record.key, record.etag, digest.hexdigest()
        )
