"""Typed values of the S3 request headers that several operations share.

Object metadata (Content-Type & co., x-amz-meta-*), Content-Length, Content-MD5, the flexible
checksums (x-amz-checksum-<algorithm>, x-amz-sdk-checksum-algorithm, x-amz-checksum-algorithm
and -type) and the copy source of CopyObject/UploadPartCopy (x-amz-copy-source and
x-amz-copy-source-range). Each parser reads an `HttpRequest` or one header value and returns a
value or raises the S3 error AWS answers; routing (`operations.py`) composes them.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal
from urllib.parse import unquote

import attrs

from zas.protocol.errors import (
    InvalidArgument,
    InvalidDigest,
    InvalidRequest,
    MetadataTooLarge,
)
from zas.protocol.http import HttpRequest, parse_int
from zas.protocol.names import form_decode, validate_key

# S3 limits user-defined metadata (names + values of x-amz-meta-*) to 2 KB.
MAX_USER_METADATA_BYTES = 2048

# System metadata that S3 stores with the object and returns on GET/HEAD.
STORED_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)


@attrs.frozen
class ObjectMetadata:
    """What a PUT stores besides the bytes: system headers and x-amz-meta-* pairs."""

    content_type: str = "binary/octet-stream"
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    # (name without the "x-amz-meta-" prefix, lower-case; value), sorted by name.
    user: tuple[tuple[str, str], ...] = ()

    def headers(self) -> list[tuple[str, str]]:
        """The response headers a GET/HEAD returns for this metadata."""
        out = [("Content-Type", self.content_type)]
        for name, value in (
            ("Content-Encoding", self.content_encoding),
            ("Content-Disposition", self.content_disposition),
            ("Content-Language", self.content_language),
            ("Cache-Control", self.cache_control),
            ("Expires", self.expires),
        ):
            if value is not None:
                out.append((name, value))
        out.extend((f"x-amz-meta-{name}", value) for name, value in self.user)
        return out


def parse_object_metadata(request: HttpRequest) -> ObjectMetadata:
    values = {name: request.header(name) for name in STORED_HEADERS}
    user: dict[str, str] = {}
    size = 0
    for name, header_values in request.headers.items():
        if name.startswith("x-amz-meta-"):
            short = name[len("x-amz-meta-") :]
            value = ",".join(header_values)
            user[short] = value
            size += len(short.encode()) + len(value.encode())
    if size > MAX_USER_METADATA_BYTES:
        raise MetadataTooLarge(Size=str(size), MaxSizeAllowed=str(MAX_USER_METADATA_BYTES))
    return ObjectMetadata(
        content_type=values["content-type"] or "binary/octet-stream",
        content_encoding=values["content-encoding"],
        content_disposition=values["content-disposition"],
        content_language=values["content-language"],
        cache_control=values["cache-control"],
        expires=values["expires"],
        user=tuple(sorted(user.items())),
    )


def parse_content_length(request: HttpRequest) -> int | None:
    value = request.header("content-length")
    return None if value is None else parse_int(value, "Content-Length")


def parse_content_md5(request: HttpRequest) -> bytes | None:
    """The 16 raw bytes of Content-MD5, None when absent; InvalidDigest when malformed."""
    value = request.header("content-md5")
    if value is None:
        return None
    digest = decode_base64_digest(value, 16)
    if digest is None:
        raise InvalidDigest()
    return digest


# --- flexible checksums ----------------------------------------------------------------------
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html

# Algorithm (lower-case, as in the header names) -> digest size in bytes.
CHECKSUM_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}
ChecksumType = Literal["COMPOSITE", "FULL_OBJECT"]
# Multipart checksum types per algorithm: CRC64NVME is full-object only, the SHAs composite
# only, the 32-bit CRCs either (their full-object value is combined from the parts' CRCs).
MULTIPART_CHECKSUM_TYPES: dict[str, frozenset[ChecksumType]] = {
    "crc32": frozenset({"COMPOSITE", "FULL_OBJECT"}),
    "crc32c": frozenset({"COMPOSITE", "FULL_OBJECT"}),
    "crc64nvme": frozenset({"FULL_OBJECT"}),
    "sha1": frozenset({"COMPOSITE"}),
    "sha256": frozenset({"COMPOSITE"}),
}
_UNSUPPORTED_ALGORITHM = (
    "Checksum algorithm provided is unsupported. Please try again with any of the valid "
    "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
)


@attrs.frozen
class Checksum:
    """A client-declared checksum: x-amz-checksum-<algorithm>, or a part's in XML."""

    algorithm: str  # a key of CHECKSUM_SIZES
    digest: bytes

    @property
    def header(self) -> str:
        return f"x-amz-checksum-{self.algorithm}"

    @property
    def base64(self) -> str:
        return base64.b64encode(self.digest).decode("ascii")


def parse_checksum_headers(request: HttpRequest) -> tuple[Checksum, ...]:
    """The x-amz-checksum-<algorithm> header: the base64 digest the body must match.

    At most one (S3 refuses two algorithms at once); a value that is not base64 of the
    algorithm's digest size is InvalidRequest. A tuple, so callers need no None check.
    """
    found = []
    for algorithm, size in CHECKSUM_SIZES.items():
        value = request.header(f"x-amz-checksum-{algorithm}")
        if value is None:
            continue
        raw = decode_base64_digest(value, size)
        if raw is None:
            raise InvalidRequest(f"Value for x-amz-checksum-{algorithm} header is invalid.")
        found.append(Checksum(algorithm, raw))
    if len(found) > 1:
        raise InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    return tuple(found)


def parse_checksum_algorithm(request: HttpRequest, header: str) -> str | None:
    """x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm ("CRC32", ...) as a
    CHECKSUM_SIZES key, None when absent; InvalidRequest for an algorithm S3 does not have."""
    value = request.header(header)
    if value is None:
        return None
    algorithm = value.strip().lower()
    if algorithm not in CHECKSUM_SIZES:
        raise InvalidRequest(_UNSUPPORTED_ALGORITHM)
    return algorithm


def parse_checksum_type(request: HttpRequest) -> ChecksumType | None:
    """x-amz-checksum-type: COMPOSITE or FULL_OBJECT (case-insensitive), None when absent."""
    value = request.header("x-amz-checksum-type")
    if value is None:
        return None
    kind = value.strip().upper()
    if kind == "COMPOSITE":
        return "COMPOSITE"
    if kind == "FULL_OBJECT":
        return "FULL_OBJECT"
    raise InvalidRequest("Value for x-amz-checksum-type header is invalid.")


def multipart_checksum_type(
    algorithm: str | None, kind: ChecksumType | None
) -> ChecksumType | None:
    """CreateMultipartUpload: the upload's checksum type, defaulted per algorithm as S3 does."""
    if algorithm is None:
        if kind is not None:
            raise InvalidRequest(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        return None
    allowed = MULTIPART_CHECKSUM_TYPES[algorithm]
    if kind is None:
        return "FULL_OBJECT" if "COMPOSITE" not in allowed else "COMPOSITE"
    if kind not in allowed:
        raise InvalidRequest(
            f"The {kind} checksum type cannot be used with the {algorithm.upper()} "
            "checksum algorithm."
        )
    return kind


def decode_base64_digest(value: str, size: int) -> bytes | None:
    """Strict base64 of exactly `size` bytes, else None."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


# --- copy source -----------------------------------------------------------------------------
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax

_COPY_SOURCE_MESSAGE = "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
_COPY_RANGE_MESSAGE = (
    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and "
    "last are the zero-based offsets of the first and last bytes to copy"
)
# No position of a real object needs more digits; longer ones would only feed int() its
# 4300-digit guard.
_COPY_RANGE = re.compile(r"bytes=([0-9]{1,19})-([0-9]{1,19})")


@attrs.frozen
class CopySource:
    """x-amz-copy-source: the object a copy reads."""

    bucket: str
    key: str
    version_id: str | None = None


def parse_copy_source(value: str) -> CopySource:
    """`[/]bucket/url-encoded-key[?versionId=id]`, as botocore, the AWS CLI and rclone send it.

    The key is form-decoded as S3 does ('+' is a space, so clients send a plus as %2B) and
    must be UTF-8. No bucket, no key or any query other than versionId is the InvalidArgument
    S3 answers; an access-point ARN is taken as a bucket name and fails later as NoSuchBucket.
    """

    def invalid() -> InvalidArgument:
        return InvalidArgument(
            _COPY_SOURCE_MESSAGE, ArgumentName="x-amz-copy-source", ArgumentValue=value[:1024]
        )

    path, has_query, query = value.strip().partition("?")
    version_id = None
    if has_query:
        name, _, version = query.partition("=")
        if name != "versionId" or not version or "&" in version:
            raise invalid()
        version_id = unquote(version)
    decoded = form_decode(path)
    if decoded is None:
        raise invalid()
    bucket, _, key = decoded.removeprefix("/").partition("/")
    if not bucket or len(bucket) > 255 or not key:
        raise invalid()
    validate_key(key)
    return CopySource(bucket, key, version_id)


def parse_copy_source_range(value: str) -> tuple[int, int]:
    """x-amz-copy-source-range `bytes=first-last` (inclusive; S3 takes no other Range form).

    Whether `last` lies inside the source is for the objects layer (InvalidRange)."""
    match = _COPY_RANGE.fullmatch(value.strip())
    if match is None or int(match.group(1)) > int(match.group(2)):
        raise InvalidArgument(
            _COPY_RANGE_MESSAGE, ArgumentName="x-amz-copy-source-range", ArgumentValue=value[:64]
        )
    return int(match.group(1)), int(match.group(2))
