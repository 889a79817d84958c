"""Request -> S3 operation: path-style routing and typed parameters.

`route(request)` reads method, path, query and headers and returns one operation value
(`PutObject`, `ListObjectsV2`, ...) whose fields are already parsed and validated, or raises
the S3 error a client expects. Handlers then never look at raw query strings.

Path-style addressing only: `/{bucket}` and `/{bucket}/{key}`, at the root and, identically,
under `/s3/`. Sub-resources that ZAS does not implement yet (`?acl`, `?tagging`, `?uploads`,
...) answer 501 NotImplemented rather than being mistaken for a plain GET or PUT, which would
silently do the wrong thing.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal
from urllib.parse import unquote

import attrs

from zas.protocol.conditions import Preconditions
from zas.protocol.errors import (
    InvalidArgument,
    InvalidDigest,
    InvalidRequest,
    MetadataTooLarge,
    MethodNotAllowed,
    NotImplementedOperation,
)
from zas.protocol.http import HttpRequest, parse_int
from zas.protocol.names import validate_bucket_name, validate_key
from zas.protocol.ranges import RangeSpec, parse_range

S3_PREFIX = "/s3"
MAX_KEYS_LIMIT = 1000
# S3 limits user-defined metadata (names + values of x-amz-meta-*) to 2 KB.
MAX_USER_METADATA_BYTES = 2048

# Query parameters that select a sub-resource. Any we do not implement is refused (501).
_SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging", "metrics",
        "notification", "object-lock", "ownershipControls", "partNumber", "policy",
        "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore",
        "retention", "select", "tagging", "torrent", "uploadId", "uploads", "versionId",
        "versioning", "versions", "website", "location",
    }
)  # fmt: skip

# Response header overrides a signed GET may ask for (GetObject "response-*" parameters).
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}

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


# Flexible checksums: algorithm -> digest size in bytes.
CHECKSUM_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}
# The ones verified today (standard library); CRC32C and CRC64NVME come with the S3 breadth work.
VERIFIED_CHECKSUMS = frozenset({"crc32", "sha1", "sha256"})


@attrs.frozen
class Checksum:
    """A client-declared whole-object checksum (x-amz-checksum-<algorithm>)."""

    algorithm: str
    digest: bytes

    @property
    def header(self) -> str:
        return f"x-amz-checksum-{self.algorithm}"

    @property
    def base64(self) -> str:
        return base64.b64encode(self.digest).decode("ascii")


# --- operations ----------------------------------------------------------------------------


@attrs.frozen
class ListBuckets:
    name = "ListBuckets"


@attrs.frozen
class CreateBucket:
    bucket: str
    name = "CreateBucket"


@attrs.frozen
class HeadBucket:
    bucket: str
    name = "HeadBucket"


@attrs.frozen
class GetBucketLocation:
    bucket: str
    name = "GetBucketLocation"


@attrs.frozen
class DeleteBucket:
    bucket: str
    # ZAS extension (as MinIO's x-minio-force-delete): also delete every object in it.
    force: bool = False
    name = "DeleteBucket"


@attrs.frozen
class ListParams:
    prefix: str = ""
    delimiter: str = ""
    max_keys: int = MAX_KEYS_LIMIT
    encoding_type: Literal["url"] | None = None
    # Listing resumes strictly after this key (from continuation-token, start-after or marker).
    after: str = ""
    # The raw values echoed back in the response.
    continuation_token: str | None = None
    start_after: str | None = None
    marker: str | None = None
    fetch_owner: bool = False


@attrs.frozen
class ListObjects:
    bucket: str
    params: ListParams
    version: Literal[1, 2]

    @property
    def name(self) -> str:
        return "ListObjectsV2" if self.version == 2 else "ListObjects"


@attrs.frozen
class PutObject:
    bucket: str
    key: str
    metadata: ObjectMetadata
    preconditions: Preconditions
    content_length: int | None
    content_md5: bytes | None = None  # the 16 raw bytes, when Content-MD5 was sent
    checksums: tuple[Checksum, ...] = ()  # x-amz-checksum-* headers
    name = "PutObject"


@attrs.frozen
class GetObject:
    bucket: str
    key: str
    preconditions: Preconditions
    range: RangeSpec | None = None
    checksum_mode: bool = False
    response_overrides: tuple[tuple[str, str], ...] = ()
    head: bool = False

    @property
    def name(self) -> str:
        return "HeadObject" if self.head else "GetObject"


@attrs.frozen
class DeleteObject:
    bucket: str
    key: str
    name = "DeleteObject"


Operation = (
    ListBuckets
    | CreateBucket
    | HeadBucket
    | GetBucketLocation
    | DeleteBucket
    | ListObjects
    | PutObject
    | GetObject
    | DeleteObject
)


# --- routing -------------------------------------------------------------------------------


def split_path(raw_path: str) -> tuple[str | None, str | None]:
    """'/bucket/some/key' -> ('bucket', 'some/key'); the /s3 prefix is accepted and dropped."""
    path = raw_path
    # "/s3/..." is the prefixed API; a bare "/s3" is a (reserved, so invalid) bucket name.
    if path.startswith(S3_PREFIX + "/"):
        path = path[len(S3_PREFIX) :]
    path = path.lstrip("/")
    if not path:
        return None, None
    bucket_raw, sep, key_raw = path.partition("/")
    bucket = unquote(bucket_raw)
    if not sep or not key_raw:
        return bucket, None
    return bucket, unquote(key_raw)


def route(request: HttpRequest) -> Operation:
    bucket, key = split_path(request.raw_path)
    method = request.method
    subresources = {name for name, _ in request.query} & _SUBRESOURCES
    if bucket is None:
        if method in ("GET", "HEAD"):
            return ListBuckets()
        raise MethodNotAllowed(resource="/")
    if method == "PUT" and key is None:
        validate_bucket_name(bucket)  # CreateBucket: the full naming rules
    else:
        _check_bucket(bucket)
    if key is None:
        return _route_bucket(request, bucket, subresources)
    validate_key(key)
    return _route_object(request, bucket, key, subresources)


def _check_bucket(bucket: str) -> None:
    # Existing buckets are looked up, not re-validated; only refuse what cannot be a name,
    # so a stray "/favicon.ico" gets NoSuchBucket rather than a confusing InvalidBucketName.
    if not bucket or len(bucket) > 255:
        validate_bucket_name(bucket)


def _route_bucket(request: HttpRequest, bucket: str, subresources: set[str]) -> Operation:
    method = request.method
    if subresources == {"location"} and method == "GET":
        return GetBucketLocation(bucket)
    if subresources:
        raise _not_implemented(subresources)
    if method == "PUT":
        return CreateBucket(bucket)
    if method == "HEAD":
        return HeadBucket(bucket)
    if method == "DELETE":
        force = (request.header("x-zas-force-delete") or "").lower() == "true"
        return DeleteBucket(bucket, force=force)
    if method == "GET":
        version: Literal[1, 2] = 2 if request.query_value("list-type") == "2" else 1
        return ListObjects(bucket, parse_list_params(request.query, version), version)
    raise MethodNotAllowed(resource=f"/{bucket}")


def _route_object(request: HttpRequest, bucket: str, key: str, subresources: set[str]) -> Operation:
    method = request.method
    if subresources:
        raise _not_implemented(subresources)
    if method == "PUT":
        if request.header("x-amz-copy-source") is not None:
            raise NotImplementedOperation("CopyObject is not implemented yet")
        return _put_object(request, bucket, key)
    if method in ("GET", "HEAD"):
        overrides = tuple(
            (header, value)
            for name, header in RESPONSE_OVERRIDES.items()
            if (value := request.query_value(name)) is not None
        )
        return GetObject(
            bucket,
            key,
            Preconditions.from_request(request),
            range=parse_range(request.header("range")),
            checksum_mode=(request.header("x-amz-checksum-mode") or "").upper() == "ENABLED",
            response_overrides=overrides,
            head=method == "HEAD",
        )
    if method == "DELETE":
        return DeleteObject(bucket, key)
    if method == "POST":
        raise NotImplementedOperation("POST on an object is not implemented")
    raise MethodNotAllowed(resource=f"/{bucket}/{key}")


def _not_implemented(subresources: set[str]) -> NotImplementedOperation:
    names = ", ".join(sorted(subresources))
    return NotImplementedOperation(f"The S3 sub-resource ?{names} is not implemented by ZAS yet")


def _put_object(request: HttpRequest, bucket: str, key: str) -> PutObject:
    length_header = request.header("content-length")
    content_length = None
    if length_header is not None:
        content_length = parse_int(length_header, "Content-Length")
    md5_header = request.header("content-md5")
    content_md5 = None
    if md5_header is not None:
        content_md5 = _decode_base64_digest(md5_header, 16)
        if content_md5 is None:
            raise InvalidDigest()
    return PutObject(
        bucket,
        key,
        parse_object_metadata(request),
        Preconditions.from_request(request),
        content_length,
        content_md5,
        parse_checksum_headers(request),
    )


def parse_checksum_headers(request: HttpRequest) -> tuple[Checksum, ...]:
    """x-amz-checksum-<algorithm> headers: base64 digests the body must match.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
    An algorithm ZAS cannot verify yet is refused (501), never accepted unchecked.
    """
    found = []
    for algorithm, size in CHECKSUM_SIZES.items():
        value = request.header(f"x-amz-checksum-{algorithm}")
        if value is None:
            continue
        raw = _decode_base64_digest(value, size)
        if raw is None:
            raise InvalidRequest(f"Value for x-amz-checksum-{algorithm} header is invalid.")
        if algorithm not in VERIFIED_CHECKSUMS:
            raise NotImplementedOperation(
                f"x-amz-checksum-{algorithm} is not supported yet; "
                f"use one of {', '.join(sorted(VERIFIED_CHECKSUMS))}"
            )
        found.append(Checksum(algorithm, raw))
    return tuple(found)


def _decode_base64_digest(value: str, size: int) -> bytes | None:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


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


def parse_list_params(query: tuple[tuple[str, str], ...], version: Literal[1, 2]) -> ListParams:
    """ListObjects (v1) / ListObjectsV2 query parameters.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    max-keys above 1000 is capped at 1000 as S3 does; a continuation token takes precedence
    over start-after.
    """
    values = dict(query)
    max_keys = MAX_KEYS_LIMIT
    if "max-keys" in values:
        max_keys = min(parse_int(values["max-keys"], "max-keys", maximum=2**31 - 1), MAX_KEYS_LIMIT)
    encoding = values.get("encoding-type")
    if encoding is not None and encoding.lower() != "url":
        raise InvalidArgument(
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding[:64],
        )
    prefix = values.get("prefix", "")
    delimiter = values.get("delimiter", "")
    encoding_type: Literal["url"] | None = "url" if encoding is not None else None
    if version == 1:
        marker = values.get("marker")
        return ListParams(
            prefix, delimiter, max_keys, encoding_type, after=marker or "", marker=marker
        )
    token = values.get("continuation-token")
    start_after = values.get("start-after")
    after = decode_continuation_token(token) if token is not None else start_after or ""
    return ListParams(
        prefix,
        delimiter,
        max_keys,
        encoding_type,
        after=after,
        continuation_token=token,
        start_after=start_after,
        fetch_owner=values.get("fetch-owner", "").lower() == "true",
    )


def encode_continuation_token(last_key: str) -> str:
    """Opaque to clients: the key (or common prefix) the next page starts after."""
    return base64.urlsafe_b64encode(last_key.encode("utf-8")).decode("ascii")


def decode_continuation_token(token: str) -> str:
    # validate=True: urlsafe_b64decode() silently drops characters outside the alphabet, so
    # "!!!!" (or "") would decode to "" and restart the listing from the first key instead
    # of being refused. encode_continuation_token never produces "": keys are not empty.
    try:
        after = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        key = after.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        key = ""
    if not key:
        raise InvalidArgument(
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
        )
    return key
