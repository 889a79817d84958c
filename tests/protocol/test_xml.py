"""S3 XML out (errors, listings, location, multipart, copy, delete, tagging, versioning) and in
(CreateBucketConfiguration); the other request bodies are in test_xml_requests.py."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import pytest

from zas.protocol import errors
from zas.protocol.operations import ListMultipartUploads, ListParams
from zas.protocol.xml import (
    CHECKSUM_ELEMENTS,
    MAX_XML_BODY,
    S3_NS,
    BucketSummary,
    DeleteOutcome,
    ListPage,
    ObjectSummary,
    Owner,
    PartSummary,
    UploadsPage,
    UploadSummary,
    parse_create_bucket_configuration,
    render_complete_multipart_upload,
    render_copy_object_result,
    render_copy_part_result,
    render_delete_result,
    render_error,
    render_initiate_multipart_upload,
    render_list_buckets,
    render_list_multipart_uploads,
    render_list_objects,
    render_list_parts,
    render_location,
    render_tagging,
    render_versioning_configuration,
)
from zas.protocol.xml_requests import parse_tagging

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


# --- multipart, copy, delete, tagging, versioning responses, as botocore reads them ---------


@functools.cache
def _s3_model() -> Any:
    import botocore.session  # type: ignore[import-untyped]

    return botocore.session.get_session().get_service_model("s3")


def botocore_parsed(operation: str, body: bytes) -> dict[str, Any]:
    """What boto3 returns to its caller for this response body."""
    from botocore.parsers import create_parser  # type: ignore[import-untyped]

    shape = _s3_model().operation_model(operation).output_shape
    response = {"body": body, "headers": {}, "status_code": 200}
    parsed: dict[str, Any] = create_parser("rest-xml").parse(response, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


CRC = ("crc32", "AAAAAA==")


def test_initiate_multipart_upload_result() -> None:
    body = render_initiate_multipart_upload("photos", "a&b.iso", "up-1")

    assert parsed(body).tag == f"{{{S3_NS}}}InitiateMultipartUploadResult"
    assert botocore_parsed("CreateMultipartUpload", body) == {
        "Bucket": "photos", "Key": "a&b.iso", "UploadId": "up-1",
    }  # fmt: skip


def test_complete_multipart_upload_result_with_composite_checksum() -> None:
    body = render_complete_multipart_upload(
        "http://zas/photos/k", "photos", "k", '"abc-2"', [("crc32", "AAAAAA==-2")], "COMPOSITE"
    )

    assert botocore_parsed("CompleteMultipartUpload", body) == {
        "Location": "http://zas/photos/k",
        "Bucket": "photos",
        "Key": "k",
        "ETag": '"abc-2"',
        "ChecksumCRC32": "AAAAAA==-2",
        "ChecksumType": "COMPOSITE",
    }


def test_complete_multipart_upload_result_without_checksum_has_no_checksum_type() -> None:
    body = render_complete_multipart_upload("/b/k", "b", "k", '"e-1"', (), "COMPOSITE")

    assert "ChecksumType" not in botocore_parsed("CompleteMultipartUpload", body)


def test_list_parts_result_paginates_with_next_part_number_marker() -> None:
    parts = [PartSummary(n, WHEN, f'"e{n}"', n * 10, (CRC,)) for n in (3, 4)]

    body = render_list_parts(
        "photos", "k", "up-1", parts, part_number_marker=2, max_parts=2, is_truncated=True,
        owner=OWNER, checksum_algorithm="crc32", checksum_type="COMPOSITE",
    )  # fmt: skip

    result = botocore_parsed("ListParts", body)
    assert result["PartNumberMarker"] == 2
    assert result["NextPartNumberMarker"] == 4
    assert (result["MaxParts"], result["IsTruncated"]) == (2, True)
    assert result["Parts"] == [
        {"PartNumber": n, "LastModified": WHEN.replace(microsecond=123_000), "ETag": f'"e{n}"',
         "Size": n * 10, "ChecksumCRC32": "AAAAAA=="}
        for n in (3, 4)
    ]  # fmt: skip
    assert result["Initiator"] == {"ID": OWNER.id, "DisplayName": "zas"}
    assert result["Owner"] == {"ID": OWNER.id, "DisplayName": "zas"}
    assert (result["StorageClass"], result["ChecksumAlgorithm"]) == ("STANDARD", "CRC32")
    assert (result["Bucket"], result["Key"], result["UploadId"]) == ("photos", "k", "up-1")


def test_list_parts_result_with_no_parts_keeps_the_marker() -> None:
    body = render_list_parts(
        "b", "k", "u", [], part_number_marker=7, max_parts=1000, is_truncated=False, owner=OWNER
    )

    result = botocore_parsed("ListParts", body)
    assert (result["NextPartNumberMarker"], result["IsTruncated"]) == (7, False)
    assert "Parts" not in result and "ChecksumAlgorithm" not in result


def test_list_multipart_uploads_result_with_prefixes_and_markers() -> None:
    params = ListMultipartUploads(
        "photos", prefix="a/", delimiter="/", max_uploads=2, key_marker="a/0", upload_id_marker="u0"
    )
    page = UploadsPage(
        (UploadSummary("a/1", "u1", WHEN, checksum_algorithm="sha256", checksum_type="COMPOSITE"),),
        ("a/b/",),
        True,
        next_key_marker="a/b/",
    )

    result = botocore_parsed(
        "ListMultipartUploads", render_list_multipart_uploads(params, page, owner=OWNER)
    )

    assert result["Bucket"] == "photos"
    assert (result["KeyMarker"], result["UploadIdMarker"]) == ("a/0", "u0")
    assert (result["NextKeyMarker"], result["NextUploadIdMarker"]) == ("a/b/", "")
    assert (result["Prefix"], result["Delimiter"], result["MaxUploads"]) == ("a/", "/", 2)
    assert result["IsTruncated"] is True
    assert result["Uploads"] == [{
        "Key": "a/1", "UploadId": "u1", "Initiated": WHEN.replace(microsecond=123_000),
        "StorageClass": "STANDARD", "Owner": {"ID": OWNER.id, "DisplayName": "zas"},
        "Initiator": {"ID": OWNER.id, "DisplayName": "zas"}, "ChecksumAlgorithm": "SHA256",
        "ChecksumType": "COMPOSITE",
    }]  # fmt: skip
    assert result["CommonPrefixes"] == [{"Prefix": "a/b/"}]


def test_list_multipart_uploads_result_url_encodes_keys_when_asked() -> None:
    params = ListMultipartUploads("b", prefix="a b", key_marker="c+d", encoding_type="url")
    page = UploadsPage((UploadSummary("a b/\u00e9", "u", WHEN),), ("a b&/",), False)

    root = parsed(render_list_multipart_uploads(params, page, owner=OWNER))

    assert root.findtext("s3:Upload/s3:Key", namespaces=NS) == "a%20b/%C3%A9"
    assert root.findtext("s3:Prefix", namespaces=NS) == "a%20b"
    assert root.findtext("s3:KeyMarker", namespaces=NS) == "c%2Bd"
    assert root.findtext("s3:CommonPrefixes/s3:Prefix", namespaces=NS) == "a%20b%26/"
    assert root.findtext("s3:EncodingType", namespaces=NS) == "url"
    assert root.find("s3:Delimiter", NS) is None


def test_copy_object_and_copy_part_results() -> None:
    copied = botocore_parsed(
        "CopyObject", render_copy_object_result('"e"', WHEN, [CRC], "FULL_OBJECT")
    )
    part = botocore_parsed("UploadPartCopy", render_copy_part_result('"p"', WHEN, [CRC]))

    assert copied["CopyObjectResult"] == {
        "ETag": '"e"', "LastModified": WHEN.replace(microsecond=123_000),
        "ChecksumCRC32": "AAAAAA==", "ChecksumType": "FULL_OBJECT",
    }  # fmt: skip
    assert part["CopyPartResult"] == {
        "ETag": '"p"',
        "LastModified": WHEN.replace(microsecond=123_000),
        "ChecksumCRC32": "AAAAAA==",
    }


def test_delete_result_reports_each_key_and_quiet_only_errors() -> None:
    outcomes = [
        DeleteOutcome("a"),
        DeleteOutcome.failed("<b>&", errors.AccessDenied()),
        DeleteOutcome("v", version_id="null"),
    ]

    loud = botocore_parsed("DeleteObjects", render_delete_result(outcomes, quiet=False))
    quiet = botocore_parsed("DeleteObjects", render_delete_result(outcomes, quiet=True))

    assert loud["Deleted"] == [{"Key": "a"}, {"Key": "v", "VersionId": "null"}]
    assert loud["Errors"] == [{"Key": "<b>&", "Code": "AccessDenied", "Message": "Access Denied"}]
    assert "Deleted" not in quiet
    assert quiet["Errors"] == loud["Errors"]
    assert parsed(render_delete_result([DeleteOutcome("a")], quiet=True)).tag.endswith(
        "DeleteResult"
    )


def test_tagging_round_trips_through_the_parser() -> None:
    tags = (("b", "2"), ("a b=c", ""), ("\u00fc", "\u6587"))

    body = render_tagging(tags)

    assert botocore_parsed("GetObjectTagging", body)["TagSet"] == [
        {"Key": k, "Value": v} for k, v in tags
    ]
    assert parse_tagging(body) == tags
    assert b"<Key>a&amp;&lt;b&gt;</Key>" in render_tagging([("a&<b>", "")])  # escaped all the same


def test_empty_tagging_has_an_empty_tag_set() -> None:
    root = parsed(render_tagging(()))

    assert root.find("s3:TagSet", NS) is not None
    assert botocore_parsed("GetObjectTagging", render_tagging(()))["TagSet"] == []


def test_versioning_configuration_is_empty_for_a_never_versioned_bucket() -> None:
    root = parsed(render_versioning_configuration())

    assert root.tag == f"{{{S3_NS}}}VersioningConfiguration"
    assert list(root) == []
    assert botocore_parsed("GetBucketVersioning", render_versioning_configuration()) == {}
    assert botocore_parsed("GetBucketVersioning", render_versioning_configuration("Enabled")) == {
        "Status": "Enabled"
    }


def test_every_checksum_algorithm_has_its_element() -> None:
    body = render_copy_object_result(
        '"e"', WHEN, [(a, f"v-{a}") for a in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")]
    )

    result = botocore_parsed("CopyObject", body)["CopyObjectResult"]
    assert {k: v for k, v in result.items() if k.startswith("Checksum")} == {
        "ChecksumCRC32": "v-crc32", "ChecksumCRC32C": "v-crc32c",
        "ChecksumCRC64NVME": "v-crc64nvme", "ChecksumSHA1": "v-sha1", "ChecksumSHA256": "v-sha256",
    }  # fmt: skip
    assert set(CHECKSUM_ELEMENTS) == {"crc32", "crc32c", "crc64nvme", "sha1", "sha256"}
