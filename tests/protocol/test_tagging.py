"""Object tags: the S3 limits (names.validate_tags), x-amz-tagging, and the tagging operations."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.protocol.botocore_requests import botocore_request
from zas.protocol import errors
from zas.protocol.http import HttpRequest
from zas.protocol.names import (
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    MAX_TAGS,
    parse_tagging_header,
    validate_tags,
)
from zas.protocol.operations import (
    DeleteObjectTagging,
    GetObjectTagging,
    Operation,
    PutObject,
    PutObjectTagging,
    route,
)

TAGGING_HEADER_MESSAGE = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
    "without tag name duplicates."
)


def routed(
    method: str, path: str, query: str = "", headers: Sequence[tuple[str, str]] = ()
) -> Operation:
    return route(HttpRequest.from_wire(method, path, query, headers))


# --- the limits -----------------------------------------------------------------------------


def test_given_ten_tags_at_the_length_limits_then_accepted_in_order() -> None:
    tags = [(f"key-{i}", f"value-{i}") for i in range(7)]
    tags += [("b c+d-e=f.g_h:i/j@k", "2 + 2 = 4"), ("empty", "")]
    # an astral letter counts as one character; so does a CJK one
    tags += [("\U0001d49c" * MAX_TAG_KEY_LENGTH, "\u6587" * MAX_TAG_VALUE_LENGTH)]
    assert len(tags) == MAX_TAGS == 10

    assert validate_tags(tags) == tuple(tags)


def test_given_eleven_tags_then_bad_request_as_s3_answers() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        validate_tags([(f"k{i}", "") for i in range(11)])

    assert (caught.value.code, caught.value.http_status) == ("BadRequest", 400)
    assert caught.value.message == "Object tags cannot be greater than 10"


@pytest.mark.parametrize(
    "key",
    ["", "k" * 129, "a,b", "a;b", "a?b", "a!b", "a*b", "a#b", "a%b", "a(b)", "a\tb", "\U0001f600"],
)
def test_given_invalid_tag_key_then_invalid_tag(key: str) -> None:
    with pytest.raises(errors.InvalidTag) as caught:
        validate_tags([(key, "v")])

    assert (caught.value.code, caught.value.http_status) == ("InvalidTag", 400)
    assert caught.value.message == "The TagKey you have provided is invalid"
    assert caught.value.details == {"TagKey": key}


@pytest.mark.parametrize("value", ["v" * 257, "a,b", "a\nb", "\U0001f600", "<x>"])
def test_given_invalid_tag_value_then_invalid_tag(value: str) -> None:
    with pytest.raises(errors.InvalidTag) as caught:
        validate_tags([("k", value)])

    assert caught.value.message == "The TagValue you have provided is invalid"
    assert caught.value.details == {"TagKey": "k", "TagValue": value}


def test_given_the_same_key_twice_then_invalid_tag() -> None:
    with pytest.raises(errors.InvalidTag) as caught:
        validate_tags([("a", "1"), ("a", "2")])

    assert caught.value.message == "Cannot provide multiple Tags with the same key"
    assert caught.value.details == {"TagKey": "a"}


@pytest.mark.parametrize("key", ["aws:cost", "AWS:cost", "Aws:x"])
def test_given_a_key_in_the_aws_namespace_then_invalid_tag(key: str) -> None:
    with pytest.raises(errors.InvalidTag) as caught:
        validate_tags([(key, "v")])

    assert caught.value.message == "System tags cannot be added/updated by requester"


def test_given_no_tags_then_accepted() -> None:
    assert validate_tags([]) == ()


# --- x-amz-tagging --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("a=1&b=2", (("a", "1"), ("b", "2"))),
        ("a&b=", (("a", ""), ("b", ""))),
        ("a%20b=c%2Bd&e+f=g=h", (("a b", "c+d"), ("e f", "g=h"))),
        ("%C3%BC=%E6%96%87", (("\u00fc", "\u6587"),)),
        ("\u00c3\u00bc=1", (("\u00fc", "1"),)),  # raw UTF-8, latin-1 decoded by the adapter
        ("", ()),
        ("&&a=1&", (("a", "1"),)),
    ],
)
def test_given_tagging_header_then_url_query_decoded_tags(
    header: str, tags: tuple[tuple[str, str], ...]
) -> None:
    assert parse_tagging_header(header) == tags


@pytest.mark.parametrize("header", ["a=1&a=2", "=1", "a=%FF", "%FF=1", "a=%C3"])
def test_given_malformed_tagging_header_then_invalid_argument_as_s3(header: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        parse_tagging_header(header)

    assert caught.value.message == TAGGING_HEADER_MESSAGE
    assert caught.value.details == {"ArgumentName": "x-amz-tagging", "ArgumentValue": header}


def test_given_tagging_header_breaking_the_limits_then_the_tag_errors() -> None:
    with pytest.raises(errors.BadRequest):
        parse_tagging_header("&".join(f"k{i}=" for i in range(11)))
    with pytest.raises(errors.InvalidTag):
        parse_tagging_header("a,b=1")
    with pytest.raises(errors.InvalidTag):
        parse_tagging_header("aws:cost=1")


def test_given_put_object_with_tagging_then_tags_in_the_operation() -> None:
    request, _ = botocore_request(
        "put_object", Bucket="b", Key="k", Body=b"x", Tagging="team=build&env=ci"
    )

    operation = route(request)

    assert isinstance(operation, PutObject)
    assert operation.tagging == (("team", "build"), ("env", "ci"))


def test_given_put_object_with_bad_tagging_then_refused_before_the_body() -> None:
    with pytest.raises(errors.InvalidArgument):
        routed("PUT", "/b/k", headers=[("x-amz-tagging", "a=1&a=1")])


# --- the tagging operations -----------------------------------------------------------------


def test_given_boto3_put_object_tagging_then_put_object_tagging_with_its_checksum() -> None:
    request, _ = botocore_request(
        "put_object_tagging", Bucket="b", Key="dir/k",
        Tagging={"TagSet": [{"Key": "a", "Value": "1"}]},
    )  # fmt: skip

    operation = route(request)

    assert isinstance(operation, PutObjectTagging)
    assert (operation.bucket, operation.key, operation.checksum_algorithm) == (
        "b",
        "dir/k",
        "crc32",
    )
    assert [c.algorithm for c in operation.checksums] == ["crc32"]
    assert operation.name == "PutObjectTagging"


def test_given_get_and_delete_object_tagging_then_those_operations() -> None:
    request, _ = botocore_request("get_object_tagging", Bucket="b", Key="k")
    assert route(request) == GetObjectTagging("b", "k")
    assert route(request).name == "GetObjectTagging"
    request, _ = botocore_request("delete_object_tagging", Bucket="b", Key="k")
    assert route(request) == DeleteObjectTagging("b", "k")
    assert route(request).name == "DeleteObjectTagging"


def test_given_plain_put_object_tagging_then_no_digests() -> None:
    assert routed("PUT", "/b/k", "tagging") == PutObjectTagging("b", "k")


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/b", "tagging"),  # bucket tagging
        ("PUT", "/b", "tagging"),
        ("POST", "/b/k", "tagging"),
        ("GET", "/b/k", "tagging&versionId=3"),
    ],
)
def test_given_tagging_outside_object_tagging_then_not_implemented(
    method: str, path: str, query: str
) -> None:
    with pytest.raises(errors.NotImplementedOperation):
        routed(method, path, query)
