"""CopyObject routing and the x-amz-copy-source grammar (operations.py, headers.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from tests.protocol.botocore_requests import botocore_request
from zas.protocol import errors
from zas.protocol.conditions import Preconditions
from zas.protocol.headers import CopySource, parse_copy_source
from zas.protocol.http import HttpRequest
from zas.protocol.operations import CopyObject, ObjectMetadata, Operation, route

COPY_SOURCE_MESSAGE = "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"


def routed(method: str, path: str, headers: Sequence[tuple[str, str]] = ()) -> Operation:
    return route(HttpRequest.from_wire(method, path, "", headers))


def copy(headers: Sequence[tuple[str, str]] = (), source: str = "src/key") -> Operation:
    return routed("PUT", "/dst/copy", [("x-amz-copy-source", source), *headers])


# --- x-amz-copy-source ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("src/key", CopySource("src", "key")),
        ("/src/key", CopySource("src", "key")),
        ("src/dir/sub/key.txt", CopySource("src", "dir/sub/key.txt")),
        ("src//key", CopySource("src", "/key")),
        ("src/a%20b", CopySource("src", "a b")),
        ("src/a b", CopySource("src", "a b")),
        # S3 form-decodes the header: '+' is a space, so clients send a plus as %2B
        ("src/a+b", CopySource("src", "a b")),
        ("src/a%2Bb", CopySource("src", "a+b")),
        ("/src/%C3%BCn%C3%AF/%E6%96%87", CopySource("src", "\u00fcn\u00ef/\u6587")),
        ("/src/a%25b%3Fc%26d%3De", CopySource("src", "a%b?c&d=e")),
        ("src/key?versionId=null", CopySource("src", "key", "null")),
        ("/src/a%20b?versionId=3sL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY", CopySource(
            "src", "a b", "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")),
        # raw UTF-8 bytes reach the protocol latin-1 decoded (one char per byte)
        ("src/\u00c3\u00bc", CopySource("src", "\u00fc")),
        (" src/key ", CopySource("src", "key")),
    ],
)  # fmt: skip
def test_given_copy_source_forms_then_bucket_key_and_version(
    value: str, expected: CopySource
) -> None:
    assert parse_copy_source(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "/", "src", "/src", "src/", "/src/", "//key", "src/key?partNumber=1", "src/key?versionId=",
     "src/key?versionid=1", "src/key?versionId=1&x=2", "src/%FF", "src/%C3", "b" * 256 + "/key"],
)  # fmt: skip
def test_given_malformed_copy_source_then_invalid_argument_as_aws(value: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        parse_copy_source(value)

    assert caught.value.message == COPY_SOURCE_MESSAGE
    assert caught.value.details == {"ArgumentName": "x-amz-copy-source", "ArgumentValue": value}


def test_given_copy_source_key_over_1024_bytes_then_key_too_long() -> None:
    with pytest.raises(errors.KeyTooLongError):
        parse_copy_source("src/" + "k" * 1025)


def test_given_copy_source_key_with_nul_then_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequest):
        parse_copy_source("src/a%00b")


@pytest.mark.parametrize(
    "key", ["a b", "a+b", "100%", "dir/\u00e9t\u00e9 & co?.txt", "~tilde/#hash", "x" * 1000]
)
def test_given_any_key_botocore_quotes_then_it_round_trips(key: str) -> None:
    request, _ = botocore_request(
        "copy_object", Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": key}
    )

    operation = route(request)

    assert isinstance(operation, CopyObject)
    assert operation.source == CopySource("src", key)


# --- CopyObject -----------------------------------------------------------------------------


def test_given_boto3_copy_object_with_replace_then_every_field() -> None:
    request, _ = botocore_request(
        "copy_object",
        Bucket="dst",
        Key="copy",
        CopySource={"Bucket": "src", "Key": "orig", "VersionId": "v1"},
        MetadataDirective="REPLACE",
        ContentType="text/plain",
        Metadata={"k": "v"},
        TaggingDirective="REPLACE",
        Tagging="a=1&b=2",
        CopySourceIfMatch='"abc"',
        CopySourceIfNoneMatch='"def"',
        CopySourceIfModifiedSince=datetime(2024, 5, 1, tzinfo=UTC),
        CopySourceIfUnmodifiedSince=datetime(2024, 6, 1, tzinfo=UTC),
        IfNoneMatch="*",
        ChecksumAlgorithm="SHA256",
    )

    operation = route(request)

    assert operation == CopyObject(
        "dst",
        "copy",
        CopySource("src", "orig", "v1"),
        "REPLACE",
        ObjectMetadata(content_type="text/plain", user=(("k", "v"),)),
        "REPLACE",
        (("a", "1"), ("b", "2")),
        Preconditions(
            if_match=("abc",),
            if_none_match=("def",),
            if_modified_since=datetime(2024, 5, 1, tzinfo=UTC),
            if_unmodified_since=datetime(2024, 6, 1, tzinfo=UTC),
        ),
        Preconditions(if_none_match=("*",)),
        "sha256",
    )
    assert operation.name == "CopyObject"


def test_given_copy_without_directives_then_copy_and_the_request_metadata_ignored() -> None:
    operation = copy([("Content-Type", "text/plain"), ("x-amz-meta-a", "v" * 4096),
                      ("x-amz-tagging", "a=1&a=2")])  # fmt: skip

    assert operation == CopyObject(
        "dst", "copy", CopySource("src", "key"), "COPY", ObjectMetadata(), "COPY", (),
        Preconditions(), Preconditions(),
    )  # fmt: skip


def test_given_replace_without_content_type_then_the_s3_default() -> None:
    operation = copy([("x-amz-metadata-directive", "REPLACE")])

    assert isinstance(operation, CopyObject)
    assert operation.metadata == ObjectMetadata(content_type="binary/octet-stream")


def test_given_tagging_replace_without_tags_then_no_tags() -> None:
    operation = copy([("x-amz-tagging-directive", "REPLACE")])

    assert isinstance(operation, CopyObject)
    assert (operation.tagging_directive, operation.tagging) == ("REPLACE", ())


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("x-amz-metadata-directive", "MERGE", "Unknown metadata directive."),
        ("x-amz-metadata-directive", "replace", "Unknown metadata directive."),  # case matters
        ("x-amz-metadata-directive", "", "Unknown metadata directive."),
        ("x-amz-tagging-directive", "MERGE", "Unknown tagging directive."),
    ],
)
def test_given_unknown_directive_then_invalid_argument(
    header: str, value: str, message: str
) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        copy([(header, value)])

    assert caught.value.message == message
    assert caught.value.details == {"ArgumentName": header, "ArgumentValue": value}


def test_given_replace_with_too_much_metadata_or_bad_tags_then_their_errors() -> None:
    with pytest.raises(errors.MetadataTooLarge):
        copy([("x-amz-metadata-directive", "REPLACE"), ("x-amz-meta-a", "v" * 4096)])
    with pytest.raises(errors.InvalidTag):
        copy([("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "aws:k=v")])


def test_given_malformed_copy_source_on_copy_object_then_invalid_argument() -> None:
    with pytest.raises(errors.InvalidArgument, match="Copy Source must mention"):
        copy(source="/src")


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("x-amz-metadata-directive", "COPY"), ("x-amz-meta-b", "2")],
        [("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "b=2")],
        [("x-amz-acl", "public-read")],
    ],
)
def test_given_copy_onto_itself_changing_nothing_then_invalid_request(
    headers: list[tuple[str, str]],
) -> None:
    with pytest.raises(errors.InvalidRequest, match="copy an object to itself"):
        routed("PUT", "/b/k", [("x-amz-copy-source", "/b/k"), *headers])


@pytest.mark.parametrize(
    "headers",
    [
        [("x-amz-metadata-directive", "REPLACE")],
        [("x-amz-storage-class", "STANDARD")],
        [("x-amz-website-redirect-location", "/new")],
        [("x-amz-server-side-encryption", "AES256")],
        [("x-amz-checksum-algorithm", "CRC32")],
    ],
)
def test_given_copy_onto_itself_changing_something_then_copy_object(
    headers: list[tuple[str, str]],
) -> None:
    assert isinstance(routed("PUT", "/b/k", [("x-amz-copy-source", "/b/k"), *headers]), CopyObject)


def test_given_copy_of_an_older_version_onto_itself_then_copy_object() -> None:
    operation = routed("PUT", "/b/k", [("x-amz-copy-source", "/b/k?versionId=v1")])

    assert isinstance(operation, CopyObject)
