"""S3 XML out (responses) and the hardened parser every request body goes through.

Rendering builds strings directly (escaped), which is several times faster than building an
ElementTree for the large listings this serves. Parsing goes through defusedxml with DTDs
refused outright and a size cap per body, so entity expansion, external entities and
oversized documents cannot hurt the server. The request-body parsers built on `parse_xml`
(CompleteMultipartUpload, Delete, Tagging) are in `xml_requests.py`.

Response shapes: https://docs.aws.amazon.com/AmazonS3/latest/API/API_<Operation>.html for
ListObjectsV2, ListObjects, ListBuckets, GetBucketLocation, CreateMultipartUpload,
CompleteMultipartUpload, ListParts, ListMultipartUploads, CopyObject, UploadPartCopy,
DeleteObjects, GetObjectTagging and GetBucketVersioning; errors: ErrorResponses.html.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from urllib.parse import quote
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import attrs
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from zas.protocol.errors import InvalidLocationConstraint, MalformedXML, S3Error
from zas.protocol.http import format_iso8601
from zas.protocol.operations import ListMultipartUploads, ListParams

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


@attrs.frozen
class Owner:
    id: str
    display_name: str


@attrs.frozen
class BucketSummary:
    name: str
    created: datetime


@attrs.frozen
class ObjectSummary:
    key: str
    last_modified: datetime
    etag: str  # quoted
    size: int
    storage_class: str = "STANDARD"


@attrs.frozen
class ListPage:
    """One page of a listing: objects and common prefixes, in key order."""

    contents: tuple[ObjectSummary, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    # The last key or prefix on this page: where the next page starts after.
    next_after: str | None


def _text(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _element(name: str, value: str | int | bool) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{_text(str(value))}</{name}>"


def render_error(error: S3Error, request_id: str, resource: str) -> bytes:
    parts = [
        _DECLARATION,
        "<Error>",
        _element("Code", error.code),
        _element("Message", error.message),
    ]
    parts.extend(_element(name, value) for name, value in error.details.items())
    parts.append(_element("Resource", error.resource or resource))
    parts.append(_element("RequestId", request_id))
    parts.append("</Error>")
    return "".join(parts).encode("utf-8")


def render_list_buckets(owner: Owner, buckets: Iterable[BucketSummary]) -> bytes:
    parts = [
        _DECLARATION,
        f'<ListAllMyBucketsResult xmlns="{S3_NS}">',
        _owner(owner),
        "<Buckets>",
    ]
    for bucket in buckets:
        parts.append(
            "<Bucket>"
            + _element("Name", bucket.name)
            + _element("CreationDate", format_iso8601(bucket.created))
            + "</Bucket>"
        )
    parts.append("</Buckets></ListAllMyBucketsResult>")
    return "".join(parts).encode("utf-8")


def _owner(owner: Owner) -> str:
    return (
        "<Owner>"
        + _element("ID", owner.id)
        + _element("DisplayName", owner.display_name)
        + "</Owner>"
    )


def render_location(region: str) -> bytes:
    # us-east-1 is reported as an empty LocationConstraint, as AWS does.
    value = "" if region == "us-east-1" else _text(region)
    body = f'<LocationConstraint xmlns="{S3_NS}">{value}</LocationConstraint>'
    return (_DECLARATION + body).encode()


def render_list_objects(
    bucket: str,
    params: ListParams,
    page: ListPage,
    *,
    version: int,
    owner: Owner,
    next_token: str | None,
) -> bytes:
    encode = _url_encoder(params.encoding_type == "url")
    parts = [
        _DECLARATION,
        f'<ListBucketResult xmlns="{S3_NS}">',
        _element("Name", bucket),
        _element("Prefix", encode(params.prefix)),
    ]
    if version == 2:
        parts.append(_element("KeyCount", len(page.contents) + len(page.common_prefixes)))
        if params.continuation_token is not None:
            parts.append(_element("ContinuationToken", params.continuation_token))
        if params.start_after is not None:
            parts.append(_element("StartAfter", encode(params.start_after)))
    else:
        parts.append(_element("Marker", encode(params.marker or "")))
    parts.append(_element("MaxKeys", params.max_keys))
    if params.delimiter:
        parts.append(_element("Delimiter", encode(params.delimiter)))
    if params.encoding_type:
        parts.append(_element("EncodingType", params.encoding_type))
    parts.append(_element("IsTruncated", page.is_truncated))
    if page.is_truncated and page.next_after is not None:
        if version == 2 and next_token is not None:
            parts.append(_element("NextContinuationToken", next_token))
        elif version == 1 and params.delimiter:
            # V1 returns NextMarker only when a delimiter is used; clients otherwise resume
            # from the last Key (documented S3 behaviour, which s3cmd and others rely on).
            parts.append(_element("NextMarker", encode(page.next_after)))
    for item in page.contents:
        parts.append(
            "<Contents>"
            + _element("Key", encode(item.key))
            + _element("LastModified", format_iso8601(item.last_modified))
            + _element("ETag", item.etag)
            + _element("Size", item.size)
            + (_owner(owner) if version == 1 or params.fetch_owner else "")
            + _element("StorageClass", item.storage_class)
            + "</Contents>"
        )
    for prefix in page.common_prefixes:
        parts.append("<CommonPrefixes>" + _element("Prefix", encode(prefix)) + "</CommonPrefixes>")
    parts.append("</ListBucketResult>")
    return "".join(parts).encode("utf-8")


def _url_encoder(enabled: bool) -> Callable[[str], str]:
    """encoding-type=url: keys are URL-encoded in the XML ('+' too, since SDKs decode with
    unquote_plus); '/' stays readable as in S3's own responses."""
    return _url_encode if enabled else _verbatim


def _url_encode(value: str) -> str:
    return quote(value, safe="/")


def _verbatim(value: str) -> str:
    return value


# Request bodies are capped before parsing. Most documents are tiny; a CompleteMultipartUpload
# of 10,000 parts with checksums is about 1.5 MB, and a Delete of 1,000 keys of up to 1 KiB
# each (escaped: more) needs a few MB.
MAX_XML_BODY = 64 * 1024


def parse_create_bucket_configuration(body: bytes) -> str | None:
    """The LocationConstraint of a CreateBucket body, or None for an empty body."""
    if not body.strip():
        return None
    root = parse_xml(body)
    if _local(root.tag) != "CreateBucketConfiguration":
        raise MalformedXML()
    for child in root:
        if _local(child.tag) == "LocationConstraint":
            value = (child.text or "").strip()
            # Region names are ASCII; str.isalnum() alone would admit "é" or "٣".
            if value and not all((c.isascii() and c.isalnum()) or c == "-" for c in value):
                raise InvalidLocationConstraint()
            return value or None
    return None


def parse_xml(body: bytes, *, max_size: int = MAX_XML_BODY) -> Element:
    """The document's root element, or MalformedXML.

    A DTD is refused whatever it declares (no S3 request has one), which also rules out
    entity expansion (billion laughs) and external entities before any is read.
    """
    if len(body) > max_size:
        raise MalformedXML("The XML you provided was larger than the maximum allowed size.")
    try:
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    # LookupError: an XML declaration naming an encoding Python does not know.
    except (SafeET.ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        raise MalformedXML() from exc
    return root


def local_name(tag: str) -> str:
    """An element's name without its namespace: clients send S3's namespace, or none."""
    return tag.rpartition("}")[2]


_local = local_name


# --- multipart upload, copy, delete, tagging, versioning -------------------------------------

# XML element of each flexible checksum algorithm (CHECKSUM_SIZES keys).
CHECKSUM_ELEMENTS = {
    "crc32": "ChecksumCRC32",
    "crc32c": "ChecksumCRC32C",
    "crc64nvme": "ChecksumCRC64NVME",
    "sha1": "ChecksumSHA1",
    "sha256": "ChecksumSHA256",
}


@attrs.frozen
class PartSummary:
    """One part of an upload in progress, for ListParts."""

    part_number: int
    last_modified: datetime
    etag: str  # quoted
    size: int
    # (algorithm, base64 value) of the upload's checksum algorithm, if it has one.
    checksums: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class UploadSummary:
    """One upload in progress, for ListMultipartUploads."""

    key: str
    upload_id: str
    initiated: datetime
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None  # lower-case, as in CHECKSUM_SIZES
    checksum_type: str | None = None  # COMPOSITE or FULL_OBJECT


@attrs.frozen
class UploadsPage:
    """One page of ListMultipartUploads: uploads and common prefixes in key order (uploads
    of one key by initiation), and where the next page starts when truncated."""

    uploads: tuple[UploadSummary, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_key_marker: str = ""
    next_upload_id_marker: str = ""


@attrs.frozen
class DeleteOutcome:
    """One key of a DeleteObjects request: deleted, or the error S3 reports for it."""

    key: str
    version_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def failed(cls, key: str, error: S3Error, version_id: str | None = None) -> DeleteOutcome:
        return cls(key, version_id, error.code, error.message)

    @property
    def deleted(self) -> bool:
        return self.error_code is None


def _checksums(checksums: Iterable[tuple[str, str]], checksum_type: str | None = None) -> str:
    out = "".join(
        _element(CHECKSUM_ELEMENTS[algorithm], value)
        for algorithm, value in checksums
        if algorithm in CHECKSUM_ELEMENTS
    )
    if out and checksum_type is not None:
        out += _element("ChecksumType", checksum_type)
    return out


def _document(root: str, inner: str) -> bytes:
    return f'{_DECLARATION}<{root} xmlns="{S3_NS}">{inner}</{root}>'.encode()


def render_initiate_multipart_upload(bucket: str, key: str, upload_id: str) -> bytes:
    return _document(
        "InitiateMultipartUploadResult",
        _element("Bucket", bucket) + _element("Key", key) + _element("UploadId", upload_id),
    )


def render_complete_multipart_upload(
    location: str,
    bucket: str,
    key: str,
    etag: str,
    checksums: Iterable[tuple[str, str]] = (),
    checksum_type: str | None = None,
) -> bytes:
    """`etag` quoted ("<md5 of the part MD5s>-N"); `checksums` as (algorithm, base64 value,
    with "-N" for a composite one) when the upload has a checksum."""
    return _document(
        "CompleteMultipartUploadResult",
        _element("Location", location)
        + _element("Bucket", bucket)
        + _element("Key", key)
        + _element("ETag", etag)
        + _checksums(checksums, checksum_type),
    )


def render_list_parts(
    bucket: str,
    key: str,
    upload_id: str,
    parts: Sequence[PartSummary],
    *,
    part_number_marker: int,
    max_parts: int,
    is_truncated: bool,
    owner: Owner,
    storage_class: str = "STANDARD",
    checksum_algorithm: str | None = None,
    checksum_type: str | None = None,
) -> bytes:
    """ListPartsResult. NextPartNumberMarker is the last part listed (or the marker when
    none is), which is where botocore's paginator resumes."""
    next_marker = parts[-1].part_number if parts else part_number_marker
    inner = [
        _element("Bucket", bucket),
        _element("Key", key),
        _element("UploadId", upload_id),
        _element("PartNumberMarker", part_number_marker),
        _element("NextPartNumberMarker", next_marker),
        _element("MaxParts", max_parts),
        _element("IsTruncated", is_truncated),
    ]
    for part in parts:
        inner.append(
            "<Part>"
            + _element("PartNumber", part.part_number)
            + _element("LastModified", format_iso8601(part.last_modified))
            + _element("ETag", part.etag)
            + _element("Size", part.size)
            + _checksums(part.checksums)
            + "</Part>"
        )
    inner.append(_person("Initiator", owner) + _person("Owner", owner))
    inner.append(_element("StorageClass", storage_class))
    if checksum_algorithm is not None:
        inner.append(_element("ChecksumAlgorithm", checksum_algorithm.upper()))
    if checksum_type is not None:
        inner.append(_element("ChecksumType", checksum_type))
    return _document("ListPartsResult", "".join(inner))


def render_list_multipart_uploads(
    params: ListMultipartUploads, page: UploadsPage, *, owner: Owner
) -> bytes:
    """ListMultipartUploadsResult; with encoding-type=url, keys, prefixes, the delimiter and
    the key markers are URL-encoded as in ListObjects."""
    encode = _url_encoder(params.encoding_type == "url")
    inner = [
        _element("Bucket", params.bucket),
        _element("KeyMarker", encode(params.key_marker)),
        _element("UploadIdMarker", params.upload_id_marker),
        _element("NextKeyMarker", encode(page.next_key_marker)),
        _element("NextUploadIdMarker", page.next_upload_id_marker),
        _element("Prefix", encode(params.prefix)),
    ]
    if params.delimiter:
        inner.append(_element("Delimiter", encode(params.delimiter)))
    inner.append(_element("MaxUploads", params.max_uploads))
    if params.encoding_type:
        inner.append(_element("EncodingType", params.encoding_type))
    inner.append(_element("IsTruncated", page.is_truncated))
    for upload in page.uploads:
        inner.append(
            "<Upload>"
            + _element("Key", encode(upload.key))
            + _element("UploadId", upload.upload_id)
            + _person("Initiator", owner)
            + _person("Owner", owner)
            + _element("StorageClass", upload.storage_class)
            + _element("Initiated", format_iso8601(upload.initiated))
            + (
                _element("ChecksumAlgorithm", upload.checksum_algorithm.upper())
                if upload.checksum_algorithm
                else ""
            )
            + (_element("ChecksumType", upload.checksum_type) if upload.checksum_type else "")
            + "</Upload>"
        )
    for prefix in page.common_prefixes:
        inner.append("<CommonPrefixes>" + _element("Prefix", encode(prefix)) + "</CommonPrefixes>")
    return _document("ListMultipartUploadsResult", "".join(inner))


def _person(element: str, owner: Owner) -> str:
    return (
        f"<{element}>"
        + _element("ID", owner.id)
        + _element("DisplayName", owner.display_name)
        + f"</{element}>"
    )


def render_copy_object_result(
    etag: str,
    last_modified: datetime,
    checksums: Iterable[tuple[str, str]] = (),
    checksum_type: str | None = None,
) -> bytes:
    return _document(
        "CopyObjectResult",
        _element("ETag", etag)
        + _element("LastModified", format_iso8601(last_modified))
        + _checksums(checksums, checksum_type),
    )


def render_copy_part_result(
    etag: str, last_modified: datetime, checksums: Iterable[tuple[str, str]] = ()
) -> bytes:
    return _document(
        "CopyPartResult",
        _element("ETag", etag)
        + _element("LastModified", format_iso8601(last_modified))
        + _checksums(checksums),
    )


def render_delete_result(outcomes: Iterable[DeleteOutcome], *, quiet: bool) -> bytes:
    """DeleteResult in request order; Quiet mode reports only the errors."""
    inner = []
    for outcome in outcomes:
        version = (
            _element("VersionId", outcome.version_id) if outcome.version_id is not None else ""
        )
        if outcome.deleted:
            if not quiet:
                inner.append("<Deleted>" + _element("Key", outcome.key) + version + "</Deleted>")
        else:
            inner.append(
                "<Error>"
                + _element("Key", outcome.key)
                + version
                + _element("Code", outcome.error_code or "InternalError")
                + _element("Message", outcome.error_message or "")
                + "</Error>"
            )
    return _document("DeleteResult", "".join(inner))


def render_tagging(tags: Iterable[tuple[str, str]]) -> bytes:
    """GetObjectTagging: the tag set, empty (`<TagSet/>`) for an object without tags."""
    items = "".join(
        "<Tag>" + _element("Key", key) + _element("Value", value) + "</Tag>" for key, value in tags
    )
    return _document("Tagging", f"<TagSet>{items}</TagSet>")


def render_versioning_configuration(status: str | None = None) -> bytes:
    """GetBucketVersioning: no Status element for a bucket never versioned (all ZAS buckets)."""
    return _document("VersioningConfiguration", _element("Status", status) if status else "")
