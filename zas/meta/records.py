"""Metadata values that cross layers: what is known about a bucket and an object."""

from __future__ import annotations

from datetime import datetime

import attrs

from zas.protocol.operations import ObjectMetadata


@attrs.frozen
class BucketRecord:
    name: str
    created: datetime
    region: str
    owner: str


@attrs.frozen
class ObjectRecord:
    bucket: str
    key: str
    size: int
    etag: str  # hex, unquoted
    sha256: str  # hex; the blob holding the bytes
    last_modified: datetime
    metadata: ObjectMetadata

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'
