"""Routing of the multipart-upload operations (zas/protocol/operations.py), from requests as
botocore builds them and from hand-made edge cases."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from tests.protocol.botocore_requests import botocore_request
from zas.protocol import errors
from zas.protocol.conditions import Preconditions
from zas.protocol.http import HttpRequest
from zas.protocol.operations import (
    MAX_PARTS_LIMIT,
    MAX_UPLOADS_LIMIT,
    AbortMultipartUpload,
    Checksum,
    CompleteMultipartUpload,
    CopySource,
    CreateMultipartUpload,
    GetObject,
    ListMultipartUploads,
    ListParts,
    ObjectMetadata,
    Operation,
    UploadPart,
    UploadPartCopy,
    route,
)


def routed(
    method: str, path: str, query: str = "", headers: Sequence[tuple[str, str]] = ()
) -> Operation:
    return route(HttpRequest.from_wire(method, path, query, headers))


def _crc32(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


# --- CreateMultipartUpload ------------------------------------------------------------------


def test_given_boto3_create_multipart_upload_then_metadata_tags_and_checksum_are_parsed() -> None:
    request, _ = botocore_request(
        "create_multipart_upload",
        Bucket="photos",
        Key="big/file.iso",
        ContentType="application/x-iso9660-image",
        Metadata={"Origin": "ci"},
        Tagging="team=build&stage=",
        ChecksumAlgorithm="CRC32C",
    )

    operation = route(request)

    assert operation == CreateMultipartUpload(
        "photos",
        "big/file.iso",
        ObjectMetadata(content_type="application/x-iso9660-image", user=(("origin", "ci"),)),
        tagging=(("team", "build"), ("stage", "")),
        checksum_algorithm="crc32c",
        checksum_type="COMPOSITE",
    )
    assert operation.name == "CreateMultipartUpload"


def test_given_create_multipart_upload_without_headers_then_defaults() -> None:
    assert routed("POST", "/photos/key", "uploads") == CreateMultipartUpload(
        "photos", "key", ObjectMetadata()
    )
    assert routed("POST", "/photos/key", "uploads=") == CreateMultipartUpload(
        "photos", "key", ObjectMetadata()
    )


@pytest.mark.parametrize(
    ("algorithm", "kind", "expected"),
    [
        ("CRC32", None, "COMPOSITE"),
        ("crc32", "FULL_OBJECT", "FULL_OBJECT"),
        ("CRC32C", "full_object", "FULL_OBJECT"),
        ("CRC64NVME", None, "FULL_OBJECT"),
        ("CRC64NVME", "FULL_OBJECT", "FULL_OBJECT"),
        ("SHA1", None, "COMPOSITE"),
        ("SHA256", "COMPOSITE", "COMPOSITE"),
    ],
)
def test_given_checksum_algorithm_and_type_then_the_upload_type_follows_s3(
    algorithm: str, kind: str | None, expected: str
) -> None:
    headers = [("x-amz-checksum-algorithm", algorithm)]
    if kind is not None:
        headers.append(("x-amz-checksum-type", kind))

    operation = routed("POST", "/b/k", "uploads", headers)

    assert isinstance(operation, CreateMultipartUpload)
    assert operation.checksum_algorithm == algorithm.lower()
    assert operation.checksum_type == expected


@pytest.mark.parametrize(
    "headers",
    [
        [("x-amz-checksum-algorithm", "MD5")],
        [("x-amz-checksum-algorithm", "")],
        [("x-amz-checksum-algorithm", "CRC64NVME"), ("x-amz-checksum-type", "COMPOSITE")],
        [("x-amz-checksum-algorithm", "SHA256"), ("x-amz-checksum-type", "FULL_OBJECT")],
        [("x-amz-checksum-algorithm", "CRC32"), ("x-amz-checksum-type", "PARTIAL")],
        [("x-amz-checksum-type", "COMPOSITE")],
    ],
)
def test_given_impossible_checksum_settings_then_invalid_request(
    headers: list[tuple[str, str]],
) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        routed("POST", "/b/k", "uploads", headers)
    assert caught.value.http_status == 400


def test_given_unsupported_checksum_algorithm_then_the_aws_message() -> None:
    with pytest.raises(errors.InvalidRequest, match=r"valid types: \[CRC32, CRC32C, CRC64NVME"):
        routed("POST", "/b/k", "uploads", [("x-amz-checksum-algorithm", "XXHASH64")])


def test_given_create_multipart_upload_with_bad_tags_then_the_tag_errors() -> None:
    with pytest.raises(errors.InvalidArgument):
        routed("POST", "/b/k", "uploads", [("x-amz-tagging", "a=1&a=2")])
    with pytest.raises(errors.InvalidTag):
        routed("POST", "/b/k", "uploads", [("x-amz-tagging", "aws:x=1")])


def test_given_create_multipart_upload_with_too_much_metadata_then_metadata_too_large() -> None:
    with pytest.raises(errors.MetadataTooLarge):
        routed("POST", "/b/k", "uploads", [("x-amz-meta-a", "v" * 2048)])


# --- UploadPart -----------------------------------------------------------------------------


def test_given_boto3_upload_part_then_part_number_length_and_checksum_are_parsed() -> None:
    request, body = botocore_request(
        "upload_part", Bucket="photos", Key="big/file.iso", UploadId="up-1", PartNumber=7,
        Body=b"part seven",
    )  # fmt: skip

    operation = route(request)

    assert operation == UploadPart(
        "photos",
        "big/file.iso",
        "up-1",
        7,
        content_length=len(body),
        checksums=(Checksum("crc32", _crc32(b"part seven")),),
        checksum_algorithm="crc32",
    )
    assert operation.name == "UploadPart"


def test_given_upload_part_with_content_md5_then_it_is_kept_raw() -> None:
    md5 = hashlib.md5(b"x").digest()
    operation = routed(
        "PUT", "/b/k", "partNumber=1&uploadId=u",
        [("Content-MD5", base64.b64encode(md5).decode()), ("Content-Length", "1")],
    )  # fmt: skip

    assert operation == UploadPart("b", "k", "u", 1, 1, md5)


@pytest.mark.parametrize("number", ["1", "10000", "00042"])
def test_given_part_numbers_1_to_10000_then_accepted(number: str) -> None:
    operation = routed("PUT", "/b/k", f"uploadId=u&partNumber={number}")

    assert isinstance(operation, UploadPart)
    assert operation.part_number == int(number)


@pytest.mark.parametrize("number", ["0", "10001", "-1", "1.0", "", "abc", "\u0661", "9" * 5000])
def test_given_part_number_outside_1_to_10000_then_invalid_argument(number: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        routed("PUT", "/b/k", f"uploadId=u&partNumber={number}")

    assert caught.value.message == "Part number must be an integer between 1 and 10000, inclusive"
    assert caught.value.details["ArgumentName"] == "partNumber"


def test_given_upload_part_with_malformed_digests_then_the_digest_errors() -> None:
    with pytest.raises(errors.InvalidDigest):
        routed("PUT", "/b/k", "uploadId=u&partNumber=1", [("Content-MD5", "nope")])
    with pytest.raises(errors.InvalidRequest):
        routed("PUT", "/b/k", "uploadId=u&partNumber=1", [("x-amz-checksum-crc32c", "nope")])


def test_given_put_with_upload_id_but_no_part_number_then_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        routed("PUT", "/b/k", "uploadId=u")
    assert caught.value.details["ArgumentName"] == "partNumber"


def test_given_put_with_part_number_but_no_upload_id_then_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequest, match="uploadId"):
        routed("PUT", "/b/k", "partNumber=1")


# --- UploadPartCopy -------------------------------------------------------------------------


def test_given_boto3_upload_part_copy_then_source_range_and_conditions_are_parsed() -> None:
    request, _ = botocore_request(
        "upload_part_copy",
        Bucket="photos",
        Key="big/file.iso",
        UploadId="up-1",
        PartNumber=2,
        CopySource={"Bucket": "src", "Key": "dir/a b+c.bin", "VersionId": "v7"},
        CopySourceRange="bytes=5242880-10485759",
        CopySourceIfMatch='"abc"',
        CopySourceIfModifiedSince=datetime(2024, 5, 1, tzinfo=UTC),
    )

    operation = route(request)

    assert operation == UploadPartCopy(
        "photos",
        "big/file.iso",
        "up-1",
        2,
        CopySource("src", "dir/a b+c.bin", "v7"),
        (5_242_880, 10_485_759),
        Preconditions(if_match=("abc",), if_modified_since=datetime(2024, 5, 1, tzinfo=UTC)),
    )
    assert operation.name == "UploadPartCopy"


def test_given_upload_part_copy_without_range_then_the_whole_source() -> None:
    operation = routed(
        "PUT", "/b/k", "partNumber=3&uploadId=u", [("x-amz-copy-source", "/src/key")]
    )

    assert operation == UploadPartCopy(
        "b", "k", "u", 3, CopySource("src", "key"), None, Preconditions()
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("bytes=0-0", (0, 0)), ("bytes=0-5242879", (0, 5_242_879)), (" bytes=10-20 ", (10, 20))],
)
def test_given_copy_source_range_first_last_then_inclusive_pair(
    value: str, expected: tuple[int, int]
) -> None:
    operation = routed(
        "PUT", "/b/k", "partNumber=1&uploadId=u",
        [("x-amz-copy-source", "src/key"), ("x-amz-copy-source-range", value)],
    )  # fmt: skip

    assert isinstance(operation, UploadPartCopy)
    assert operation.source_range == expected


@pytest.mark.parametrize(
    "value",
    ["bytes=5-", "bytes=-5", "bytes=9-3", "bytes=0-1,4-5", "0-5", "bytes 0-5", "bytes=a-b",
     "bytes=\u0661-\u0662", "bytes=0-" + "9" * 20, "", "items=0-1"],
)  # fmt: skip
def test_given_copy_source_range_not_first_last_then_invalid_argument(value: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        routed(
            "PUT", "/b/k", "partNumber=1&uploadId=u",
            [("x-amz-copy-source", "src/key"), ("x-amz-copy-source-range", value)],
        )  # fmt: skip

    assert caught.value.message.startswith("The x-amz-copy-source-range value must be of the form")
    assert caught.value.details["ArgumentName"] == "x-amz-copy-source-range"


def test_given_upload_part_copy_with_bad_source_then_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        routed("PUT", "/b/k", "partNumber=1&uploadId=u", [("x-amz-copy-source", "/src")])
    assert caught.value.details["ArgumentName"] == "x-amz-copy-source"


# --- CompleteMultipartUpload, AbortMultipartUpload ------------------------------------------


def test_given_boto3_complete_multipart_upload_then_upload_id_and_conditions() -> None:
    request, _ = botocore_request(
        "complete_multipart_upload",
        Bucket="photos",
        Key="big/file.iso",
        UploadId="up-1",
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"e1"'}]},
        IfNoneMatch="*",
    )

    operation = route(request)

    assert operation == CompleteMultipartUpload(
        "photos", "big/file.iso", "up-1", Preconditions(if_none_match=("*",))
    )
    assert operation.name == "CompleteMultipartUpload"


def test_given_complete_with_full_object_checksum_then_checksum_type_and_size() -> None:
    crc = _crc32(b"whole")
    operation = routed(
        "POST", "/b/k", "uploadId=u",
        [("x-amz-checksum-crc32", base64.b64encode(crc).decode()),
         ("x-amz-checksum-type", "FULL_OBJECT"), ("x-amz-mp-object-size", "5")],
    )  # fmt: skip

    assert operation == CompleteMultipartUpload(
        "b", "k", "u", Preconditions(), (Checksum("crc32", crc),), "FULL_OBJECT", 5
    )


def test_given_complete_with_bad_object_size_then_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgument):
        routed("POST", "/b/k", "uploadId=u", [("x-amz-mp-object-size", "big")])


def test_given_boto3_abort_multipart_upload_then_abort() -> None:
    request, _ = botocore_request(
        "abort_multipart_upload", Bucket="photos", Key="a/b", UploadId="up/1+2"
    )

    operation = route(request)

    assert operation == AbortMultipartUpload("photos", "a/b", "up/1+2")
    assert operation.name == "AbortMultipartUpload"


# --- ListParts, ListMultipartUploads --------------------------------------------------------


def test_given_boto3_list_parts_then_marker_and_max_parts() -> None:
    request, _ = botocore_request(
        "list_parts", Bucket="photos", Key="k", UploadId="up-1", MaxParts=2, PartNumberMarker=4
    )

    operation = route(request)

    assert operation == ListParts("photos", "k", "up-1", max_parts=2, part_number_marker=4)
    assert operation.name == "ListParts"


@pytest.mark.parametrize(
    ("query", "max_parts"), [("", 1000), ("&max-parts=0", 0), ("&max-parts=1001", 1000)]
)
def test_given_list_parts_max_parts_then_default_and_cap_1000(query: str, max_parts: int) -> None:
    operation = routed("GET", "/b/k", "uploadId=u" + query)

    assert operation == ListParts("b", "k", "u", max_parts=max_parts)
    assert MAX_PARTS_LIMIT == 1000


@pytest.mark.parametrize("query", ["max-parts=x", "max-parts=-1", "part-number-marker=1.5"])
def test_given_list_parts_with_bad_numbers_then_invalid_argument(query: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        routed("GET", "/b/k", "uploadId=u&" + query)
    assert caught.value.details["ArgumentName"] == query.partition("=")[0]


def test_given_boto3_list_multipart_uploads_then_every_parameter() -> None:
    request, _ = botocore_request(
        "list_multipart_uploads",
        Bucket="photos",
        Prefix="big/",
        Delimiter="/",
        MaxUploads=5,
        KeyMarker="big/a",
        UploadIdMarker="up-1",
        EncodingType="url",
    )

    operation = route(request)

    assert operation == ListMultipartUploads(
        "photos", "big/", "/", 5, key_marker="big/a", upload_id_marker="up-1", encoding_type="url"
    )
    assert operation.name == "ListMultipartUploads"


def test_given_list_multipart_uploads_defaults_then_1000_and_no_markers() -> None:
    assert routed("GET", "/photos", "uploads") == ListMultipartUploads("photos")
    assert MAX_UPLOADS_LIMIT == 1000
    capped = routed("GET", "/photos", "uploads&max-uploads=5000")
    assert isinstance(capped, ListMultipartUploads) and capped.max_uploads == 1000


def test_given_upload_id_marker_without_key_marker_then_it_is_ignored_as_s3_does() -> None:
    operation = routed("GET", "/photos", "uploads&upload-id-marker=up-1")

    assert operation == ListMultipartUploads("photos")


@pytest.mark.parametrize("query", ["max-uploads=abc", "encoding-type=base64"])
def test_given_list_multipart_uploads_with_bad_parameters_then_invalid_argument(
    query: str,
) -> None:
    with pytest.raises(errors.InvalidArgument):
        routed("GET", "/photos", "uploads&" + query)


# --- GetObject ?partNumber ------------------------------------------------------------------


def test_given_get_with_part_number_then_get_object_of_that_part() -> None:
    assert routed("GET", "/b/k", "partNumber=3") == GetObject(
        "b", "k", Preconditions(), part_number=3
    )
    head = routed("HEAD", "/b/k", "partNumber=1")
    assert head == GetObject("b", "k", Preconditions(), head=True, part_number=1)


def test_given_boto3_head_object_part_number_then_part_number() -> None:
    request, _ = botocore_request("head_object", Bucket="b", Key="k", PartNumber=2)

    operation = route(request)

    assert isinstance(operation, GetObject)
    assert (operation.part_number, operation.head) == (2, True)


@pytest.mark.parametrize("number", ["0", "10001", "x"])
def test_given_get_with_invalid_part_number_then_invalid_argument(number: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        routed("GET", "/b/k", f"partNumber={number}")


def test_given_range_and_part_number_then_invalid_request() -> None:
    with pytest.raises(
        errors.InvalidRequest, match="Cannot specify both Range header and partNumber"
    ):
        routed("GET", "/b/k", "partNumber=1", [("Range", "bytes=0-1")])


# --- methods and combinations that are no operation -----------------------------------------


@pytest.mark.parametrize(
    ("method", "query"),
    [
        ("GET", "uploads"),  # ListMultipartUploads is on the bucket
        ("PUT", "uploads"),
        ("GET", "uploadId=u&partNumber=1"),
        ("POST", "uploadId=u&partNumber=1"),
        ("PUT", "uploadId=u&versionId=3"),
        ("POST", "uploads&tagging"),
    ],
)
def test_given_no_such_multipart_operation_then_not_implemented(method: str, query: str) -> None:
    with pytest.raises(errors.NotImplementedOperation):
        routed(method, "/b/k", query)
