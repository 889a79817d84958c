"""S3 XML out (errors, listings, location) and in (CreateBucketConfiguration)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import pytest

from zas.protocol import errors
from zas.protocol.operations import ListParams
from zas.protocol.xml import (
    MAX_XML_BODY,
    S3_NS,
    BucketSummary,
    ListPage,
    ObjectSummary,
    Owner,
    parse_create_bucket_configuration,
    render_error,
    render_list_buckets,
    render_list_objects,
    render_location,
)

NS = {"s3": S3_NS}
OWNER = Owner("75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", "zas")
WHEN = datetime(2024, 5, 1, 12, 0, 0, 123_456, tzinfo=UTC)


def parsed(body: bytes) -> ET.Element:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(body)


# --- errors -----------------------------------------------------------------------------------


def test_error_renders_code_message_resource_and_request_id() -> None:
    body = render_error(errors.NoSuchKey(), "req-1", "/photos/cat.jpg")

    root = parsed(body)
    assert root.tag == "Error"
    assert [child.tag for child in root] == ["Code", "Message", "Resource", "RequestId"]
    assert root.findtext("Code") == "NoSuchKey"
    assert root.findtext("Message") == "The specified key does not exist."
    assert root.findtext("Resource") == "/photos/cat.jpg"
    assert root.findtext("RequestId") == "req-1"


def test_error_details_become_elements_and_error_resource_wins() -> None:
    error = errors.InvalidArgument("bad", resource="/b", ArgumentName="max-keys", ArgumentValue="x")

    root = parsed(render_error(error, "req-2", "/ignored"))

    assert root.findtext("ArgumentName") == "max-keys"
    assert root.findtext("ArgumentValue") == "x"
    assert root.findtext("Resource") == "/b"


def test_error_text_is_escaped() -> None:
    nasty = """<script>&"it's"</script>"""
    error = errors.InvalidArgument(nasty, ArgumentValue=nasty)

    body = render_error(error, 'id"<&>', "/b/" + nasty)

    text = body.decode()
    assert "<script>" not in text
    assert "&lt;script&gt;&amp;&quot;it's&quot;&lt;/script&gt;" in text
    root = parsed(body)  # and it is still well-formed
    assert root.findtext("Message") == nasty
    assert root.findtext("ArgumentValue") == nasty
    assert root.findtext("Resource") == "/b/" + nasty
    assert root.findtext("RequestId") == 'id"<&>'


# --- listings ---------------------------------------------------------------------------------


def test_list_buckets_renders_owner_and_buckets_with_millisecond_dates() -> None:
    body = render_list_buckets(
        OWNER, [BucketSummary("alpha", WHEN), BucketSummary("b&<eta>", WHEN)]
    )

    root = parsed(body)
    assert root.tag == f"{{{S3_NS}}}ListAllMyBucketsResult"
    assert root.findtext("s3:Owner/s3:ID", namespaces=NS) == OWNER.id
    assert root.findtext("s3:Owner/s3:DisplayName", namespaces=NS) == "zas"
    buckets = root.iterfind("s3:Buckets/s3:Bucket", NS)
    names = [bucket.findtext("s3:Name", namespaces=NS) for bucket in buckets]
    assert names == ["alpha", "b&<eta>"]
    created = root.findtext("s3:Buckets/s3:Bucket/s3:CreationDate", namespaces=NS)
    assert created == "2024-05-01T12:00:00.123Z"


def test_list_buckets_with_no_buckets_has_an_empty_buckets_element() -> None:
    root = parsed(render_list_buckets(OWNER, []))

    assert root.find("s3:Buckets", NS) is not None
    assert list(root.iterfind("s3:Buckets/s3:Bucket", NS)) == []


def test_location_of_us_east_1_is_empty_as_aws_reports_it() -> None:
    root = parsed(render_location("us-east-1"))

    assert root.tag == f"{{{S3_NS}}}LocationConstraint"
    assert root.text is None


def test_location_of_other_regions_is_the_region() -> None:
    assert parsed(render_location("eu-west-1")).text == "eu-west-1"


KEYS = ("a b", "c+d", "dir/é&<x>", "100%")


def _page(*, truncated: bool = False, prefixes: tuple[str, ...] = ()) -> ListPage:
    contents = tuple(ObjectSummary(key, WHEN, '"abc"', 3) for key in KEYS)
    return ListPage(contents, prefixes, truncated, KEYS[-1] if truncated else None)


def test_list_objects_v2_with_url_encoding_encodes_keys_including_plus_and_space() -> None:
    params = ListParams(prefix="dir/ x", delimiter="/", max_keys=4, encoding_type="url",
                        start_after="a b")  # fmt: skip

    body = render_list_objects(
        "photos", params, _page(truncated=True, prefixes=("p q/",)),
        version=2, owner=OWNER, next_token="dG9rZW4=",
    )  # fmt: skip

    root = parsed(body)
    keys = [c.findtext("s3:Key", namespaces=NS) for c in root.iterfind("s3:Contents", NS)]
    assert keys == ["a%20b", "c%2Bd", "dir/%C3%A9%26%3Cx%3E", "100%25"]
    # what SDKs do with encoding-type=url (botocore decodes with unquote_plus)
    assert [unquote_plus(key or "") for key in keys] == list(KEYS)
    assert root.findtext("s3:Prefix", namespaces=NS) == "dir/%20x"
    assert root.findtext("s3:StartAfter", namespaces=NS) == "a%20b"
    assert root.findtext("s3:Delimiter", namespaces=NS) == "/"
    assert root.findtext("s3:EncodingType", namespaces=NS) == "url"
    assert root.findtext("s3:CommonPrefixes/s3:Prefix", namespaces=NS) == "p%20q/"
    assert root.findtext("s3:KeyCount", namespaces=NS) == "5"
    assert root.findtext("s3:MaxKeys", namespaces=NS) == "4"
    assert root.findtext("s3:IsTruncated", namespaces=NS) == "true"
    assert root.findtext("s3:NextContinuationToken", namespaces=NS) == "dG9rZW4="
    assert root.find("s3:Contents/s3:Owner", NS) is None  # fetch-owner not asked


def test_list_objects_without_encoding_escapes_keys_as_xml_text() -> None:
    body = render_list_objects(
        "photos", ListParams(fetch_owner=True), _page(), version=2, owner=OWNER, next_token=None
    )

    assert b"dir/\xc3\xa9&amp;&lt;x&gt;" in body
    root = parsed(body)
    keys = [c.findtext("s3:Key", namespaces=NS) for c in root.iterfind("s3:Contents", NS)]
    assert keys == list(KEYS)
    first = root.find("s3:Contents", NS)
    assert first is not None
    assert first.findtext("s3:ETag", namespaces=NS) == '"abc"'
    assert first.findtext("s3:Size", namespaces=NS) == "3"
    assert first.findtext("s3:LastModified", namespaces=NS) == "2024-05-01T12:00:00.123Z"
    assert first.findtext("s3:StorageClass", namespaces=NS) == "STANDARD"
    assert first.findtext("s3:Owner/s3:ID", namespaces=NS) == OWNER.id
    assert root.findtext("s3:IsTruncated", namespaces=NS) == "false"
    assert root.find("s3:NextContinuationToken", NS) is None
    assert root.find("s3:EncodingType", NS) is None


def test_list_objects_v1_has_marker_owner_and_next_marker_only_with_delimiter() -> None:
    with_delimiter = parsed(render_list_objects(
        "photos", ListParams(delimiter="/", marker="m", after="m"), _page(truncated=True),
        version=1, owner=OWNER, next_token=None,
    ))  # fmt: skip
    without = parsed(render_list_objects(
        "photos", ListParams(), _page(truncated=True), version=1, owner=OWNER, next_token=None,
    ))  # fmt: skip

    assert with_delimiter.findtext("s3:Marker", namespaces=NS) == "m"
    assert with_delimiter.findtext("s3:NextMarker", namespaces=NS) == KEYS[-1]
    assert with_delimiter.find("s3:KeyCount", NS) is None
    assert with_delimiter.find("s3:Contents/s3:Owner", NS) is not None
    assert without.findtext("s3:Marker", namespaces=NS) == ""
    assert without.find("s3:NextMarker", NS) is None


# --- CreateBucketConfiguration -----------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"  \n"])
def test_empty_create_bucket_body_has_no_location(body: bytes) -> None:
    assert parse_create_bucket_configuration(body) is None


def test_create_bucket_configuration_location_is_read_with_or_without_namespace() -> None:
    namespaced = (
        f'<CreateBucketConfiguration xmlns="{S3_NS}">'
        "<LocationConstraint> eu-west-1 </LocationConstraint></CreateBucketConfiguration>"
    ).encode()
    plain = b"<CreateBucketConfiguration><LocationConstraint>us-west-2</LocationConstraint>" \
        b"</CreateBucketConfiguration>"  # fmt: skip

    assert parse_create_bucket_configuration(namespaced) == "eu-west-1"
    assert parse_create_bucket_configuration(plain) == "us-west-2"


@pytest.mark.parametrize(
    "body",
    [
        b"<CreateBucketConfiguration/>",
        b"<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>",
    ],
)
def test_create_bucket_configuration_without_location_has_none(body: bytes) -> None:
    assert parse_create_bucket_configuration(body) is None


@pytest.mark.parametrize(
    "location", ["eu west", "eu_west", "../x", "\u00e9u-west-1", "eu-west-\u0663"]
)
def test_create_bucket_configuration_with_odd_location_is_invalid_location_constraint(
    location: str,
) -> None:
    body = (
        "<CreateBucketConfiguration><LocationConstraint>"
        f"{location}</LocationConstraint></CreateBucketConfiguration>"
    ).encode()

    with pytest.raises(errors.InvalidLocationConstraint) as caught:
        parse_create_bucket_configuration(body)
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<CreateBucketConfiguration>",
        b"<CreateBucketConfiguration></Other>",
        b"<Other><LocationConstraint>eu-west-1</LocationConstraint></Other>",
        b"\xff\xfe<a/>",
        b'<?xml version="1.0" encoding="no-such-codec"?><CreateBucketConfiguration/>',
        b"<CreateBucketConfiguration>" + b" " * MAX_XML_BODY + b"</CreateBucketConfiguration>",
    ],
    ids=["text", "unclosed", "mismatched", "wrong-root", "bad-bytes", "unknown-encoding",
         "too-large"],
)  # fmt: skip
def test_malformed_create_bucket_body_is_malformed_xml(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML) as caught:
        parse_create_bucket_configuration(body)
    assert (caught.value.code, caught.value.http_status) == ("MalformedXML", 400)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<CreateBucketConfiguration><LocationConstraint>&lol9;</LocationConstraint></CreateBucketConfiguration>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CreateBucketConfiguration><LocationConstraint>&xxe;</LocationConstraint></CreateBucketConfiguration>
"""

SINGLE_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE c [<!ENTITY region "eu-west-1">]>
<CreateBucketConfiguration><LocationConstraint>&region;</LocationConstraint></CreateBucketConfiguration>
"""


# A hang guard, not a speed claim: expanded, the billion laughs takes gigabytes and minutes.
@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, SINGLE_ENTITY],
    ids=["billion-laughs", "external-entity", "internal-entity"],
)
def test_entity_declarations_are_malformed_xml_without_expanding_them(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML) as caught:
        parse_create_bucket_configuration(body)

    # refused by defusedxml, not by a later check on an expanded value
    assert type(caught.value.__cause__).__module__.startswith("defusedxml")
