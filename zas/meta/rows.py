"""Records <-> DuckDB rows. The only place that knows column order and JSON encodings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from zas.meta.records import BlobRef, ChecksumValue, ObjectRecord, PartRecord, UploadRecord
from zas.protocol.operations import ObjectMetadata

OBJECT_COLUMNS = (
    "bucket, key, size, etag, sha256, last_modified, content_type, content_encoding, "
    "content_disposition, content_language, cache_control, expires, user_metadata, "
    "part_digests, part_sizes, tags, checksum_algorithm, checksum_value, checksum_type"
)
# SQL types of OBJECT_COLUMNS, for columnar inserts (`unnest(?::TYPE[])`).
OBJECT_TYPES = (
    "VARCHAR", "VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "TIMESTAMPTZ", "VARCHAR", "VARCHAR",
    "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR[]", "BIGINT[]", "VARCHAR",
    "VARCHAR", "VARCHAR", "VARCHAR",
)  # fmt: skip


def object_id(bucket: str, key: str) -> str:
    """The objects table's one-column primary key (schema migration 5). Bucket names hold no
    "/", so it is unique exactly when (bucket, key) is."""
    return f"{bucket}/{key}"


def objects_insert(records: Sequence[ObjectRecord]) -> tuple[str, list[Any]]:
    """One columnar INSERT of many object rows, as SQL and parameters (DuckDB charges per
    statement, almost nothing per row). A single row is inserted with VALUES, which DuckDB
    runs in 2.9 ms against 4.4 for the columnar form (BENCHMARKS.md, session 7)."""
    if len(records) == 1:
        record = records[0]
        row = object_to_row(record)
        marks = ", ".join("?" * (len(row) + 1))
        sql = f"INSERT INTO objects (id, {OBJECT_COLUMNS}) VALUES ({marks})"
        return sql, [object_id(record.bucket, record.key), *row]
    rows = [object_to_row(record) for record in records]
    columns = [list(column) for column in zip(*rows, strict=True)]
    ids = [object_id(record.bucket, record.key) for record in records]
    selects = ", ".join(f"unnest(?::{kind}[])" for kind in OBJECT_TYPES)
    sql = f"INSERT INTO objects (id, {OBJECT_COLUMNS}) SELECT unnest(?::VARCHAR[]), {selects}"
    return sql, [ids, *columns]


UPLOAD_COLUMNS = (
    "upload_id, bucket, key, initiated, metadata, tags, checksum_algorithm, checksum_type"
)
PART_COLUMNS = "upload_id, part_number, sha256, md5, size, last_modified, checksum"


def as_utc(moment: datetime) -> datetime:
    # DuckDB hands TIMESTAMPTZ back in the session's zone; S3 speaks UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def metadata_to_json(meta: ObjectMetadata) -> str:
    return json.dumps(
        {
            "content_type": meta.content_type,
            "content_encoding": meta.content_encoding,
            "content_disposition": meta.content_disposition,
            "content_language": meta.content_language,
            "cache_control": meta.cache_control,
            "expires": meta.expires,
            "user": dict(meta.user),
        }
    )


def metadata_from_json(text: str) -> ObjectMetadata:
    data = json.loads(text)
    return ObjectMetadata(
        content_type=data["content_type"],
        content_encoding=data["content_encoding"],
        content_disposition=data["content_disposition"],
        content_language=data["content_language"],
        cache_control=data["cache_control"],
        expires=data["expires"],
        user=tuple(sorted(data["user"].items())),
    )


def tags_to_json(tags: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(tags))


def tags_from_json(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(json.loads(text).items())


def object_to_row(record: ObjectRecord) -> tuple[Any, ...]:
    meta = record.metadata
    checksum = record.checksum
    return (
        record.bucket,
        record.key,
        record.size,
        record.etag,
        record.sha256,
        record.last_modified,
        meta.content_type,
        meta.content_encoding,
        meta.content_disposition,
        meta.content_language,
        meta.cache_control,
        meta.expires,
        json.dumps(dict(meta.user)),
        [part.sha256 for part in record.parts] if record.parts else None,
        [part.size for part in record.parts] if record.parts else None,
        tags_to_json(record.tags),
        checksum.algorithm if checksum else None,
        checksum.value if checksum else None,
        checksum.type if checksum else None,
    )


def object_from_row(row: tuple[Any, ...]) -> ObjectRecord:
    bucket, key, size, etag, sha256, last_modified, *headers = row[:12]
    user_metadata, part_digests, part_sizes, tags = row[12:16]
    checksum_algorithm, checksum_value, checksum_type = row[16:19]
    content_type, content_encoding, content_disposition, content_language = headers[:4]
    cache_control, expires = headers[4:6]
    return ObjectRecord(
        bucket=bucket,
        key=key,
        size=size,
        etag=etag,
        sha256=sha256,
        last_modified=as_utc(last_modified),
        metadata=ObjectMetadata(
            content_type=content_type,
            content_encoding=content_encoding,
            content_disposition=content_disposition,
            content_language=content_language,
            cache_control=cache_control,
            expires=expires,
            user=tuple(sorted(json.loads(user_metadata).items())),
        ),
        parts=tuple(
            BlobRef(digest, part_size)
            for digest, part_size in zip(part_digests or (), part_sizes or (), strict=True)
        ),
        tags=tags_from_json(tags),
        checksum=(
            ChecksumValue(checksum_algorithm, checksum_value, checksum_type)
            if checksum_algorithm
            else None
        ),
    )


def upload_to_row(record: UploadRecord) -> tuple[Any, ...]:
    return (
        record.upload_id,
        record.bucket,
        record.key,
        record.initiated,
        metadata_to_json(record.metadata),
        tags_to_json(record.tags),
        record.checksum_algorithm,
        record.checksum_type,
    )


def upload_from_row(row: tuple[Any, ...]) -> UploadRecord:
    upload_id, bucket, key, initiated, metadata, tags, checksum_algorithm, checksum_type = row
    return UploadRecord(
        upload_id,
        bucket,
        key,
        as_utc(initiated),
        metadata_from_json(metadata),
        tags_from_json(tags),
        checksum_algorithm,
        checksum_type,
    )


def part_to_row(record: PartRecord) -> tuple[Any, ...]:
    return (
        record.upload_id,
        record.part_number,
        record.sha256,
        record.md5,
        record.size,
        record.last_modified,
        record.checksum,
    )


def part_from_row(row: tuple[Any, ...]) -> PartRecord:
    upload_id, part_number, sha256, md5, size, last_modified, checksum = row
    return PartRecord(upload_id, part_number, sha256, md5, size, as_utc(last_modified), checksum)
