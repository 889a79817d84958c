"""S3 XML in and out.

Rendering builds strings directly (escaped), which is several times faster than building an
ElementTree for the large listings this serves. Parsing goes through defusedxml, so entity
expansion and external entities in a client's body cannot hurt the server.

Response shapes: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
API_ListObjects.html, API_ListBuckets.html, API_GetBucketLocation.html, ErrorResponses.html.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import quote
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import attrs
import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from zas.protocol.errors import InvalidLocationConstraint, MalformedXML, S3Error
from zas.protocol.http import format_iso8601
from zas.protocol.operations import ListParams

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


def parse_xml(body: bytes) -> Element:
    if len(body) > MAX_XML_BODY:
        raise MalformedXML("The XML you provided was larger than the maximum allowed size.")
    try:
        root: Element = SafeET.fromstring(body)
    # LookupError: an XML declaration naming an encoding Python does not know.
    except (SafeET.ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        raise MalformedXML() from exc
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
