"""Metadata values that cross layers: what is known about buckets, objects and uploads."""

from __future__ import annotations

from datetime import datetime

import attrs

from zas.protocol.operations import ObjectMetadata

Tags = tuple[tuple[str, str], ...]


@attrs.frozen
class BucketRecord:
    name: str
    created: datetime
    region: str
    owner: str


@attrs.frozen
class BlobRef:
    """One stored blob and how many of its bytes belong to the object (all of them)."""

    sha256: str
    size: int


@attrs.frozen
class ChecksumValue:
    """A flexible checksum as S3 reports it: algorithm, base64 value (with "-N" for a
    composite checksum of N parts) and type."""

    algorithm: str
    value: str
    type: str = "FULL_OBJECT"  # or "COMPOSITE"


@attrs.frozen
class ObjectRecord:
    bucket: str
    key: str
    size: int
    etag: str  # hex MD5, or "<hex>-N" for a multipart object; unquoted
    # Whole-object SHA-256 (hex). For a single-PUT object it is also the blob's address.
    # For a multipart object it is computed after completion by a read-only pass: None until
    # that pass has run.
    sha256: str | None
    last_modified: datetime
    metadata: ObjectMetadata
    # Multipart objects: the part blobs, in order. Empty: the object is the one blob `sha256`.
    parts: tuple[BlobRef, ...] = ()
    tags: Tags = ()
    checksum: ChecksumValue | None = None

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'

    @property
    def blobs(self) -> tuple[BlobRef, ...]:
        """The blobs holding the object's bytes, in order."""
        if self.parts:
            return self.parts
        assert self.sha256 is not None
        return (BlobRef(self.sha256, self.size),)


@attrs.frozen
class UploadRecord:
    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    metadata: ObjectMetadata
    tags: Tags = ()
    checksum_algorithm: str | None = None
    checksum_type: str | None = None  # COMPOSITE or FULL_OBJECT, with an algorithm


@attrs.frozen
class PartRecord:
    upload_id: str
    part_number: int
    sha256: str
    md5: str  # hex; the part's ETag
    size: int
    last_modified: datetime
    checksum: str | None = None  # base64 of the upload's checksum algorithm, if any

    @property
    def quoted_etag(self) -> str:
        return f'"{self.md5}"'
