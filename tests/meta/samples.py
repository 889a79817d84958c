"""Records shared by the metadata tests."""

from __future__ import annotations

import datetime as dt

from zas.meta.records import BlobRef, ChecksumValue, ObjectRecord
from zas.protocol.operations import ObjectMetadata


def every_column_record(key: str, last_modified: dt.datetime, bucket: str = "bkt") -> ObjectRecord:
    """An object row with every column set (parts, tags, checksum, all headers, non-ASCII
    metadata), so a round trip that drops or mangles one shows."""
    return ObjectRecord(
        bucket,
        key,
        12,
        "9" * 32,
        "8" * 64,
        last_modified,
        ObjectMetadata(
            content_type="text/plain",
            content_encoding="gzip",
            content_disposition="attachment",
            content_language="en",
            cache_control="no-cache",
            expires="Thu, 01 Dec 2033 16:00:00 GMT",
            user=(("owner", "ci"), ("team", "é")),
        ),
        parts=(BlobRef("6" * 64, 5), BlobRef("7" * 64, 7)),
        tags=(("stage", "release"),),
        checksum=ChecksumValue("CRC32C", "AAAAAA==-2", "COMPOSITE"),
    )
