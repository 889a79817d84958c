"""Request -> S3 operation: routing and typed parameters.

`route(request)` reads method, path, query and headers and returns one operation value
(`PutObject`, `ListObjectsV2`, `UploadPart`, ...) whose fields are already parsed and
validated, or raises the S3 error a client expects. Handlers then never look at raw query
strings or headers. The header grammars shared by several operations live in `headers.py`.

Path-style addressing: `/{bucket}` and `/{bucket}/{key}`, at the root and, identically, under
`/s3/`. Virtual-hosted style when a domain is configured: `Host: {bucket}.{domain}` and the
whole path is the key (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html).
Sub-resources that ZAS does not implement (`?acl`, bucket `?tagging`, `?versionId`, ...) answer
501 NotImplemented rather than being mistaken for a plain GET or PUT, which would silently do
the wrong thing.
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
    InvalidRequest,
    MethodNotAllowed,
    NotImplementedOperation,
)

# Re-exported: these lived here before headers.py, and other layers import them from here.
from zas.protocol.headers import CHECKSUM_SIZES as CHECKSUM_SIZES
from zas.protocol.headers import MAX_USER_METADATA_BYTES as MAX_USER_METADATA_BYTES
from zas.protocol.headers import STORED_HEADERS as STORED_HEADERS
from zas.protocol.headers import Checksum as Checksum
from zas.protocol.headers import ChecksumType as ChecksumType
from zas.protocol.headers import CopySource as CopySource
from zas.protocol.headers import ObjectMetadata as ObjectMetadata
from zas.protocol.headers import (
    multipart_checksum_type,
    parse_checksum_algorithm,
    parse_checksum_type,
    parse_content_length,
    parse_content_md5,
    parse_copy_source,
    parse_copy_source_range,
)
from zas.protocol.headers import parse_checksum_headers as parse_checksum_headers
from zas.protocol.headers import parse_object_metadata as parse_object_metadata
from zas.protocol.http import HttpRequest, parse_int
from zas.protocol.names import Tags, parse_tagging_header, validate_bucket_name, validate_key
from zas.protocol.ranges import RangeSpec, parse_range

S3_PREFIX = "/s3"
MAX_KEYS_LIMIT = 1000
# ListParts max-parts and ListMultipartUploads max-uploads: default and cap, as max-keys.
MAX_PARTS_LIMIT = 1000
MAX_UPLOADS_LIMIT = 1000
# Part numbers run 1..10,000 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
MAX_PART_NUMBER = 10_000

# Query parameters that select a sub-resource. Any combination route() does not handle is
# refused (501).
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

# Besides REPLACE metadata, what makes copying an object onto itself legal: S3 refuses a
# self-copy that changes nothing ("... without changing the object's metadata, storage class,
# website redirect location or encryption attributes"), and it accepts a new checksum algorithm.
_SELF_COPY_CHANGES = (
    "x-amz-storage-class",
    "x-amz-website-redirect-location",
    "x-amz-server-side-encryption",
    "x-amz-checksum-algorithm",
)
_SELF_COPY_MESSAGE = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or encryption "
    "attributes."
)
_PART_NUMBER_MESSAGE = "Part number must be an integer between 1 and 10000, inclusive"


# --- operations ----------------------------------------------------------------------------
# Every operation is a frozen attrs value; `name` is the S3 operation name (used in audit
# records, metrics and policies).


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
class GetBucketVersioning:
    """ZAS does not version objects: answered with an empty VersioningConfiguration."""

    bucket: str
    name = "GetBucketVersioning"


@attrs.frozen
class GetBucketPolicy:
    bucket: str
    name = "GetBucketPolicy"


@attrs.frozen
class PutBucketPolicy:
    """The JSON document is the body; the IAM policy engine validates it."""

    bucket: str
    content_length: int | None
    name = "PutBucketPolicy"


@attrs.frozen
class DeleteBucketPolicy:
    bucket: str
    name = "DeleteBucketPolicy"


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
    checksums: tuple[Checksum, ...] = ()  # the x-amz-checksum-* header (at most one)
    tagging: Tags = ()  # x-amz-tagging, validated
    # x-amz-sdk-checksum-algorithm: the algorithm of a checksum sent as a header or trailer.
    checksum_algorithm: str | None = None
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
    # ?partNumber=N: that part of a multipart object (1 for a single-part object is all of it).
    part_number: int | None = None

    @property
    def name(self) -> str:
        return "HeadObject" if self.head else "GetObject"


@attrs.frozen
class DeleteObject:
    bucket: str
    key: str
    name = "DeleteObject"


@attrs.frozen
class CopyObject:
    """PUT with x-amz-copy-source: a new object from a stored one, no bytes copied."""

    bucket: str
    key: str
    source: CopySource
    metadata_directive: Literal["COPY", "REPLACE"]
    metadata: ObjectMetadata  # the request's; used only when metadata_directive is REPLACE
    tagging_directive: Literal["COPY", "REPLACE"]
    tagging: Tags  # x-amz-tagging; () unless tagging_directive is REPLACE
    source_preconditions: Preconditions  # x-amz-copy-source-if-*, checked on the source
    preconditions: Preconditions  # If-Match / If-None-Match on the destination
    checksum_algorithm: str | None = None  # x-amz-checksum-algorithm for the copy
    name = "CopyObject"


@attrs.frozen
class DeleteObjects:
    """POST /bucket?delete; the body is parsed by `parse_delete` once it is read and checked
    against content_md5 / checksums (one of which S3 requires)."""

    bucket: str
    content_md5: bytes | None
    checksums: tuple[Checksum, ...]
    checksum_algorithm: str | None = None
    name = "DeleteObjects"


@attrs.frozen
class PutObjectTagging:
    """PUT /bucket/key?tagging; the body is parsed by `parse_tagging`."""

    bucket: str
    key: str
    content_md5: bytes | None = None
    checksums: tuple[Checksum, ...] = ()
    checksum_algorithm: str | None = None
    name = "PutObjectTagging"


@attrs.frozen
class GetObjectTagging:
    bucket: str
    key: str
    name = "GetObjectTagging"


@attrs.frozen
class DeleteObjectTagging:
    bucket: str
    key: str
    name = "DeleteObjectTagging"


# --- multipart upload ---
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html


@attrs.frozen
class CreateMultipartUpload:
    bucket: str
    key: str
    metadata: ObjectMetadata
    tagging: Tags = ()
    checksum_algorithm: str | None = None  # x-amz-checksum-algorithm, lower-case
    # x-amz-checksum-type, defaulted as S3 does when an algorithm is given (CRC64NVME:
    # FULL_OBJECT, the others COMPOSITE); None without an algorithm.
    checksum_type: ChecksumType | None = None
    name = "CreateMultipartUpload"


@attrs.frozen
class UploadPart:
    bucket: str
    key: str
    upload_id: str
    part_number: int  # 1..10000
    content_length: int | None
    content_md5: bytes | None = None
    checksums: tuple[Checksum, ...] = ()
    checksum_algorithm: str | None = None  # x-amz-sdk-checksum-algorithm
    name = "UploadPart"


@attrs.frozen
class UploadPartCopy:
    bucket: str
    key: str
    upload_id: str
    part_number: int  # 1..10000
    source: CopySource
    # x-amz-copy-source-range as (first, last), inclusive; None copies the whole source.
    source_range: tuple[int, int] | None
    source_preconditions: Preconditions
    name = "UploadPartCopy"


@attrs.frozen
class CompleteMultipartUpload:
    """POST ?uploadId=X; the part list is parsed by `parse_complete_multipart_upload`."""

    bucket: str
    key: str
    upload_id: str
    preconditions: Preconditions  # If-Match / If-None-Match on the key, as for PutObject
    # A full-object checksum of the whole upload (x-amz-checksum-*), when the client sent one.
    checksums: tuple[Checksum, ...] = ()
    checksum_type: ChecksumType | None = None  # x-amz-checksum-type, must match the upload's
    object_size: int | None = None  # x-amz-mp-object-size: the expected total size
    name = "CompleteMultipartUpload"


@attrs.frozen
class AbortMultipartUpload:
    bucket: str
    key: str
    upload_id: str
    name = "AbortMultipartUpload"


@attrs.frozen
class ListParts:
    bucket: str
    key: str
    upload_id: str
    max_parts: int = MAX_PARTS_LIMIT  # 0..1000
    part_number_marker: int = 0  # list parts after this number
    name = "ListParts"


@attrs.frozen
class ListMultipartUploads:
    bucket: str
    prefix: str = ""
    delimiter: str = ""
    max_uploads: int = MAX_UPLOADS_LIMIT  # 0..1000
    # Uploads of keys after key_marker; with upload_id_marker, also the uploads of key_marker
    # itself after that upload (S3 ignores upload-id-marker without key-marker, and so "" here).
    key_marker: str = ""
    upload_id_marker: str = ""
    encoding_type: Literal["url"] | None = None
    name = "ListMultipartUploads"


Operation = (
    ListBuckets
    | CreateBucket
    | HeadBucket
    | GetBucketLocation
    | GetBucketVersioning
    | GetBucketPolicy
    | PutBucketPolicy
    | DeleteBucketPolicy
    | DeleteBucket
    | ListObjects
    | ListMultipartUploads
    | DeleteObjects
    | PutObject
    | GetObject
    | DeleteObject
    | CopyObject
    | PutObjectTagging
    | GetObjectTagging
    | DeleteObjectTagging
    | CreateMultipartUpload
    | UploadPart
    | UploadPartCopy
    | CompleteMultipartUpload
    | AbortMultipartUpload
    | ListParts
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


def virtual_host_bucket(host: str | None, domain: str | None) -> str | None:
    """The bucket a virtual-hosted-style Host names ('photos.s3.example.com' -> 'photos' for
    the domain 's3.example.com'), or None for a path-style request (the domain itself, an IP
    address or any other name). Ports and a trailing dot are ignored; DNS is case-insensitive."""
    if host is None or not domain:
        return None
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal
        return None
    name = name.partition(":")[0].rstrip(".")
    suffix = "." + domain.strip().lower().strip(".")
    if name.endswith(suffix) and len(name) > len(suffix):
        return name[: -len(suffix)]
    return None


def route(request: HttpRequest, *, virtual_host_domain: str | None = None) -> Operation:
    """The operation `request` asks for.

    With `virtual_host_domain`, a Host of `<bucket>.<domain>` selects the bucket and the whole
    path (no /s3 prefix) is the key; any other Host is routed path-style.
    """
    host_bucket = virtual_host_bucket(request.header("host"), virtual_host_domain)
    if host_bucket is not None:
        bucket: str | None = host_bucket
        key: str | None = unquote(request.raw_path.removeprefix("/")) or None
    else:
        bucket, key = split_path(request.raw_path)
    method = request.method
    subresources = frozenset(name for name, _ in request.query) & _SUBRESOURCES
    if bucket is None:
        if method in ("GET", "HEAD"):
            return ListBuckets()
        raise MethodNotAllowed(resource="/")
    if method == "PUT" and key is None and not subresources:
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


def _route_bucket(request: HttpRequest, bucket: str, subresources: frozenset[str]) -> Operation:
    method = request.method
    if not subresources:
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
    only = next(iter(subresources)) if len(subresources) == 1 else None
    if method == "GET" and only == "location":
        return GetBucketLocation(bucket)
    if method == "GET" and only == "versioning":
        return GetBucketVersioning(bucket)
    if only == "policy":
        if method == "GET":
            return GetBucketPolicy(bucket)
        if method == "PUT":
            return PutBucketPolicy(bucket, parse_content_length(request))
        if method == "DELETE":
            return DeleteBucketPolicy(bucket)
    if method == "GET" and only == "uploads":
        return _list_multipart_uploads(request, bucket)
    if method == "POST" and only == "delete":
        return _delete_objects(request, bucket)
    raise _not_implemented(subresources)


def _route_object(
    request: HttpRequest, bucket: str, key: str, subresources: frozenset[str]
) -> Operation:
    method = request.method
    if not subresources:
        if method == "PUT":
            source = request.header("x-amz-copy-source")
            if source is not None:
                return _copy_object(request, bucket, key, source)
            return _put_object(request, bucket, key)
        if method in ("GET", "HEAD"):
            return _get_object(request, bucket, key, part_number=None)
        if method == "DELETE":
            return DeleteObject(bucket, key)
        if method == "POST":
            raise NotImplementedOperation("POST on an object is not implemented")
        raise MethodNotAllowed(resource=f"/{bucket}/{key}")
    multipart = subresources & {"uploadId", "partNumber"}
    if subresources == {"tagging"}:
        if method == "PUT":
            return PutObjectTagging(
                bucket,
                key,
                parse_content_md5(request),
                parse_checksum_headers(request),
                parse_checksum_algorithm(request, "x-amz-sdk-checksum-algorithm"),
            )
        if method == "GET":
            return GetObjectTagging(bucket, key)
        if method == "DELETE":
            return DeleteObjectTagging(bucket, key)
    elif subresources == {"uploads"} and method == "POST":
        return _create_multipart_upload(request, bucket, key)
    elif subresources == {"partNumber"} and method in ("GET", "HEAD"):
        return _get_object(request, bucket, key, part_number=_part_number(request))
    elif multipart == subresources and method == "PUT":
        return _upload_part(request, bucket, key)
    elif subresources == {"uploadId"}:
        upload_id = request.query_value("uploadId") or ""
        if method == "POST":
            return _complete_multipart_upload(request, bucket, key, upload_id)
        if method == "DELETE":
            return AbortMultipartUpload(bucket, key, upload_id)
        if method == "GET":
            return _list_parts(request, bucket, key, upload_id)
    raise _not_implemented(subresources)


def _not_implemented(subresources: frozenset[str]) -> NotImplementedOperation:
    names = ", ".join(sorted(subresources))
    return NotImplementedOperation(f"The S3 sub-resource ?{names} is not implemented by ZAS yet")


# --- single objects ---


def _put_object(request: HttpRequest, bucket: str, key: str) -> PutObject:
    tagging = request.header("x-amz-tagging")
    return PutObject(
        bucket,
        key,
        parse_object_metadata(request),
        Preconditions.from_request(request),
        parse_content_length(request),
        parse_content_md5(request),
        parse_checksum_headers(request),
        tagging=() if tagging is None else parse_tagging_header(tagging),
        checksum_algorithm=parse_checksum_algorithm(request, "x-amz-sdk-checksum-algorithm"),
    )


def _get_object(request: HttpRequest, bucket: str, key: str, part_number: int | None) -> GetObject:
    byte_range = parse_range(request.header("range"))
    if part_number is not None and request.header("range") is not None:
        raise InvalidRequest("Cannot specify both Range header and partNumber query parameter")
    overrides = tuple(
        (header, value)
        for name, header in RESPONSE_OVERRIDES.items()
        if (value := request.query_value(name)) is not None
    )
    return GetObject(
        bucket,
        key,
        Preconditions.from_request(request),
        range=byte_range,
        checksum_mode=(request.header("x-amz-checksum-mode") or "").upper() == "ENABLED",
        response_overrides=overrides,
        head=request.method == "HEAD",
        part_number=part_number,
    )


def _directive(request: HttpRequest, header: str, what: str) -> Literal["COPY", "REPLACE"]:
    # Case-sensitive, as S3 is: "replace" is refused.
    value = request.header(header)
    if value is None or value == "COPY":
        return "COPY"
    if value == "REPLACE":
        return "REPLACE"
    raise InvalidArgument(
        f"Unknown {what} directive.", ArgumentName=header, ArgumentValue=value[:64]
    )


def _copy_object(request: HttpRequest, bucket: str, key: str, source_header: str) -> CopyObject:
    """CopyObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html

    With the (default) COPY directives the request's metadata and tag headers are ignored, as
    S3 ignores them, so they are not validated either.
    """
    source = parse_copy_source(source_header)
    metadata_directive = _directive(request, "x-amz-metadata-directive", "metadata")
    tagging_directive = _directive(request, "x-amz-tagging-directive", "tagging")
    checksum_algorithm = parse_checksum_algorithm(request, "x-amz-checksum-algorithm")
    if (
        (source.bucket, source.key) == (bucket, key)
        and source.version_id in (None, "null")
        and metadata_directive == "COPY"
        and all(request.header(name) is None for name in _SELF_COPY_CHANGES)
    ):
        raise InvalidRequest(_SELF_COPY_MESSAGE)
    metadata = ObjectMetadata()
    if metadata_directive == "REPLACE":
        metadata = parse_object_metadata(request)
    tagging: Tags = ()
    if tagging_directive == "REPLACE" and (header := request.header("x-amz-tagging")) is not None:
        tagging = parse_tagging_header(header)
    return CopyObject(
        bucket,
        key,
        source,
        metadata_directive,
        metadata,
        tagging_directive,
        tagging,
        Preconditions.from_request(request, "x-amz-copy-source-"),
        Preconditions.from_request(request),
        checksum_algorithm,
    )


def _delete_objects(request: HttpRequest, bucket: str) -> DeleteObjects:
    """DeleteObjects: https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html

    S3 requires Content-MD5 or a flexible checksum of the body; current SDKs send a CRC.
    """
    content_md5 = parse_content_md5(request)
    checksums = parse_checksum_headers(request)
    if content_md5 is None and not checksums:
        raise InvalidRequest("Missing required header for this request: Content-MD5")
    return DeleteObjects(
        bucket,
        content_md5,
        checksums,
        parse_checksum_algorithm(request, "x-amz-sdk-checksum-algorithm"),
    )


# --- multipart upload ---


def _part_number(request: HttpRequest) -> int:
    value = request.query_value("partNumber")
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 5:
        number = 0
    else:
        number = int(value)
    if not 1 <= number <= MAX_PART_NUMBER:
        raise InvalidArgument(
            _PART_NUMBER_MESSAGE, ArgumentName="partNumber", ArgumentValue=(value or "")[:64]
        )
    return number


def _upload_id(request: HttpRequest) -> str:
    upload_id = request.query_value("uploadId")
    if upload_id is None:
        raise InvalidRequest("A part upload needs the uploadId query parameter.")
    return upload_id


def _create_multipart_upload(request: HttpRequest, bucket: str, key: str) -> CreateMultipartUpload:
    tagging = request.header("x-amz-tagging")
    algorithm = parse_checksum_algorithm(request, "x-amz-checksum-algorithm")
    return CreateMultipartUpload(
        bucket,
        key,
        parse_object_metadata(request),
        () if tagging is None else parse_tagging_header(tagging),
        algorithm,
        multipart_checksum_type(algorithm, parse_checksum_type(request)),
    )


def _upload_part(request: HttpRequest, bucket: str, key: str) -> UploadPart | UploadPartCopy:
    part_number = _part_number(request)
    upload_id = _upload_id(request)
    source = request.header("x-amz-copy-source")
    if source is not None:
        source_range = request.header("x-amz-copy-source-range")
        return UploadPartCopy(
            bucket,
            key,
            upload_id,
            part_number,
            parse_copy_source(source),
            None if source_range is None else parse_copy_source_range(source_range),
            Preconditions.from_request(request, "x-amz-copy-source-"),
        )
    return UploadPart(
        bucket,
        key,
        upload_id,
        part_number,
        parse_content_length(request),
        parse_content_md5(request),
        parse_checksum_headers(request),
        parse_checksum_algorithm(request, "x-amz-sdk-checksum-algorithm"),
    )


def _complete_multipart_upload(
    request: HttpRequest, bucket: str, key: str, upload_id: str
) -> CompleteMultipartUpload:
    size = request.header("x-amz-mp-object-size")
    return CompleteMultipartUpload(
        bucket,
        key,
        upload_id,
        Preconditions.from_request(request),
        parse_checksum_headers(request),
        parse_checksum_type(request),
        None if size is None else parse_int(size, "x-amz-mp-object-size"),
    )


def _list_parts(request: HttpRequest, bucket: str, key: str, upload_id: str) -> ListParts:
    """ListParts: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html"""
    values = dict(request.query)
    marker = values.get("part-number-marker")
    return ListParts(
        bucket,
        key,
        upload_id,
        _capped(values, "max-parts", MAX_PARTS_LIMIT),
        0 if marker is None else parse_int(marker, "part-number-marker", maximum=2**31 - 1),
    )


def _list_multipart_uploads(request: HttpRequest, bucket: str) -> ListMultipartUploads:
    """ListMultipartUploads:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html"""
    values = dict(request.query)
    key_marker = values.get("key-marker", "")
    return ListMultipartUploads(
        bucket,
        prefix=values.get("prefix", ""),
        delimiter=values.get("delimiter", ""),
        max_uploads=_capped(values, "max-uploads", MAX_UPLOADS_LIMIT),
        key_marker=key_marker,
        upload_id_marker=values.get("upload-id-marker", "") if key_marker else "",
        encoding_type=_encoding_type(values),
    )


# --- listings ---


def _capped(values: dict[str, str], name: str, limit: int) -> int:
    """A max-keys-like parameter: default `limit`, larger values capped at it, as S3 does."""
    if name not in values:
        return limit
    return min(parse_int(values[name], name, maximum=2**31 - 1), limit)


def _encoding_type(values: dict[str, str]) -> Literal["url"] | None:
    encoding = values.get("encoding-type")
    if encoding is None:
        return None
    if encoding.lower() != "url":
        raise InvalidArgument(
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding[:64],
        )
    return "url"


def parse_list_params(query: tuple[tuple[str, str], ...], version: Literal[1, 2]) -> ListParams:
    """ListObjects (v1) / ListObjectsV2 query parameters.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    max-keys above 1000 is capped at 1000 as S3 does; a continuation token takes precedence
    over start-after.
    """
    values = dict(query)
    max_keys = _capped(values, "max-keys", MAX_KEYS_LIMIT)
    encoding_type = _encoding_type(values)
    prefix = values.get("prefix", "")
    delimiter = values.get("delimiter", "")
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
