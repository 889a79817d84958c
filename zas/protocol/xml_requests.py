"""S3 XML request bodies: CompleteMultipartUpload, Delete (DeleteObjects) and Tagging.

Each parser takes the whole body (the API layer reads at most the cap named here plus one
byte), goes through the hardened `parse_xml` (no DTD, size-capped) and returns typed values
or raises the S3 error AWS answers: MalformedXML for anything that is not the documented
shape, MissingRequestBodyError for an empty Delete or Tagging body. Elements are matched by
local name, so a body with or without S3's namespace is read the same; unknown elements are
ignored, as S3 ignores them. Text is taken verbatim: keys may begin or end with spaces.

Shapes: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html,
API_DeleteObjects.html, API_PutObjectTagging.html.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

import attrs

from zas.protocol.errors import MalformedXML, MissingRequestBodyError
from zas.protocol.headers import CHECKSUM_SIZES, Checksum, decode_base64_digest
from zas.protocol.names import Tags, validate_tags
from zas.protocol.operations import MAX_PART_NUMBER
from zas.protocol.xml import CHECKSUM_ELEMENTS, MAX_XML_BODY, local_name, parse_xml

# 10,000 parts of ~150 bytes (with a SHA-256 each) plus whitespace: well under 4 MiB.
MAX_COMPLETE_MULTIPART_BODY = 4 * 1024 * 1024
# 1,000 objects of keys up to 1,024 bytes, each character possibly escaped ("&amp;": 5.2 MB).
MAX_DELETE_BODY = 8 * 1024 * 1024
MAX_TAGGING_BODY = MAX_XML_BODY
# "The request can contain a list of up to 1,000 keys" (DeleteObjects).
MAX_DELETE_OBJECTS = 1000

_ALGORITHM_OF_ELEMENT = {element: algorithm for algorithm, element in CHECKSUM_ELEMENTS.items()}
_PART_FIELDS = frozenset({"PartNumber", "ETag", *_ALGORITHM_OF_ELEMENT})
_OBJECT_FIELDS = frozenset({"Key", "VersionId", "ETag"})
_TAG_FIELDS = frozenset({"Key", "Value"})


@attrs.frozen
class CompletedPart:
    """One <Part> of a CompleteMultipartUpload body."""

    part_number: int  # 1..10000
    etag: str  # quoted ('"<hex>"'), whether or not the client quoted it
    checksums: tuple[Checksum, ...] = ()  # the part's Checksum<ALGORITHM> elements


@attrs.frozen
class ObjectIdentifier:
    """One <Object> of a Delete body. The key is not validated here: a bad key is a per-key
    <Error> in the DeleteResult, not a failed request."""

    key: str
    version_id: str | None = None
    etag: str | None = None  # conditional delete (If-Match per key), verbatim


@attrs.frozen
class DeleteRequest:
    quiet: bool
    objects: tuple[ObjectIdentifier, ...]


def parse_complete_multipart_upload(body: bytes) -> tuple[CompletedPart, ...]:
    """The parts in the order sent. Whether they ascend (InvalidPartOrder) and exist with
    those ETags (InvalidPart) is for the objects layer, which knows the upload."""
    root = _root(body, "CompleteMultipartUpload", MAX_COMPLETE_MULTIPART_BODY, empty=MalformedXML)
    parts: list[CompletedPart] = []
    for child in root:
        if local_name(child.tag) != "Part":
            continue
        if len(parts) == MAX_PART_NUMBER:
            raise MalformedXML("A multipart upload has at most 10000 parts.")
        fields = _fields(child, _PART_FIELDS)
        number = fields.get("PartNumber")
        etag = fields.get("ETag")
        if number is None or etag is None:
            raise MalformedXML()
        parts.append(CompletedPart(_part_number(number), _quoted(etag), _part_checksums(fields)))
    if not parts:
        raise MalformedXML()
    return tuple(parts)


def parse_delete(body: bytes) -> DeleteRequest:
    """A Delete body: 1..1000 objects (more or none is MalformedXML, as S3 answers)."""
    root = _root(body, "Delete", MAX_DELETE_BODY, empty=MissingRequestBodyError)
    quiet = False
    objects: list[ObjectIdentifier] = []
    for child in root:
        name = local_name(child.tag)
        if name == "Quiet":
            quiet = _boolean(child.text)
        elif name == "Object":
            if len(objects) == MAX_DELETE_OBJECTS:
                raise MalformedXML()
            fields = _fields(child, _OBJECT_FIELDS)
            key = fields.get("Key")
            if key is None:
                raise MalformedXML()
            objects.append(ObjectIdentifier(key, fields.get("VersionId"), fields.get("ETag")))
    if not objects:
        raise MalformedXML()
    return DeleteRequest(quiet, tuple(objects))


def parse_tagging(body: bytes) -> Tags:
    """A Tagging body's TagSet, validated (`validate_tags`: 10 tags, lengths, characters)."""
    root = _root(body, "Tagging", MAX_TAGGING_BODY, empty=MissingRequestBodyError)
    tag_sets = [child for child in root if local_name(child.tag) == "TagSet"]
    if len(tag_sets) != 1:
        raise MalformedXML()
    tags = []
    for tag in tag_sets[0]:
        if local_name(tag.tag) != "Tag":
            continue
        fields = _fields(tag, _TAG_FIELDS)
        key, value = fields.get("Key"), fields.get("Value")
        if key is None or value is None:
            raise MalformedXML()
        tags.append((key, value))
    return validate_tags(tags)


# --- helpers ----------------------------------------------------------------------------------


def _root(
    body: bytes,
    name: str,
    max_size: int,
    *,
    empty: type[MalformedXML] | type[MissingRequestBodyError],
) -> Element:
    if not body.strip():
        raise empty()
    root = parse_xml(body, max_size=max_size)
    if local_name(root.tag) != name:
        raise MalformedXML()
    return root


def _fields(element: Element, wanted: frozenset[str]) -> dict[str, str]:
    """The wanted children by local name -> text ("" for an empty element). A wanted field
    given twice, or holding elements, is MalformedXML rather than silently one of them."""
    fields: dict[str, str] = {}
    for child in element:
        name = local_name(child.tag)
        if name not in wanted:
            continue
        if name in fields or len(child):
            raise MalformedXML()
        fields[name] = child.text or ""
    return fields


def _part_number(text: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 5:
        raise MalformedXML()
    number = int(value)
    if not 1 <= number <= MAX_PART_NUMBER:
        raise MalformedXML()
    return number


def _quoted(etag: str) -> str:
    # Clients send the ETag as UploadPart returned it (quoted), some without quotes.
    return '"' + etag.strip().strip('"') + '"'


def _part_checksums(fields: dict[str, str]) -> tuple[Checksum, ...]:
    checksums = []
    for element, algorithm in _ALGORITHM_OF_ELEMENT.items():
        value = fields.get(element)
        if value is None:
            continue
        digest = decode_base64_digest(value, CHECKSUM_SIZES[algorithm])
        if digest is None:
            raise MalformedXML()
        checksums.append(Checksum(algorithm, digest))
    return tuple(checksums)


def _boolean(text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value not in ("true", "false"):
        raise MalformedXML()
    return value == "true"
