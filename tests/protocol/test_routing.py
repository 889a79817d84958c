"""Request -> operation (zas/protocol/operations.py) and the naming rules (names.py)."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Sequence

import pytest

from tests.protocol.botocore_requests import botocore_request
from zas.protocol import errors, operations
from zas.protocol.conditions import Preconditions
from zas.protocol.http import HttpRequest
from zas.protocol.names import (
    MAX_KEY_BYTES,
    RESERVED_BUCKET_NAMES,
    validate_bucket_name,
    validate_key,
)
from zas.protocol.operations import (
    MAX_KEYS_LIMIT,
    Checksum,
    CopyObject,
    CopySource,
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    DeleteObjects,
    GetBucketLocation,
    GetBucketVersioning,
    GetObject,
    HeadBucket,
    ListBuckets,
    ListObjects,
    ListParams,
    ObjectMetadata,
    Operation,
    PutObject,
    decode_continuation_token,
    encode_continuation_token,
    parse_list_params,
    route,
    split_path,
)
from zas.protocol.ranges import RangeSpec


def routed(
    method: str, path: str, query: str = "", headers: Sequence[tuple[str, str]] = ()
) -> Operation:
    return route(HttpRequest.from_wire(method, path, query, headers))


# --- one operation per method/path/query ----------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/", "", "/s3/"])
def test_service_root_lists_buckets(method: str, path: str) -> None:
    operation = routed(method, path)

    assert operation == ListBuckets()
    assert operation.name == "ListBuckets"


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_other_methods_on_the_service_root_are_method_not_allowed(method: str) -> None:
    with pytest.raises(errors.MethodNotAllowed) as caught:
        routed(method, "/")
    assert caught.value.http_status == 405


@pytest.mark.parametrize("path", ["/photos", "/photos/"])
def test_put_on_bucket_is_create_bucket(path: str) -> None:
    operation = routed("PUT", path)

    assert operation == CreateBucket("photos")
    assert operation.name == "CreateBucket"


def test_head_on_bucket_is_head_bucket() -> None:
    assert routed("HEAD", "/photos") == HeadBucket("photos")


def test_get_bucket_location() -> None:
    operation = routed("GET", "/photos", "location")

    assert operation == GetBucketLocation("photos")
    assert operation.name == "GetBucketLocation"


def test_delete_on_bucket_is_delete_bucket_forced_only_by_the_zas_header() -> None:
    assert routed("DELETE", "/photos") == DeleteBucket("photos", force=False)
    assert routed("DELETE", "/photos", headers=[("x-zas-force-delete", "TRUE")]) == (
        DeleteBucket("photos", force=True)
    )
    assert routed("DELETE", "/photos", headers=[("x-zas-force-delete", "yes")]) == (
        DeleteBucket("photos", force=False)
    )


def test_get_on_bucket_is_list_objects_v1_by_default() -> None:
    operation = routed("GET", "/photos", "prefix=2024%2F&marker=2024%2F01")

    assert isinstance(operation, ListObjects)
    assert operation.version == 1
    assert operation.name == "ListObjects"
    assert operation.params == ListParams(prefix="2024/", after="2024/01", marker="2024/01")


def test_get_on_bucket_with_list_type_2_is_list_objects_v2() -> None:
    operation = routed(
        "GET", "/photos", "list-type=2&prefix=a&delimiter=%2F&max-keys=7&start-after=a%2Fb"
        "&fetch-owner=true&encoding-type=url",
    )  # fmt: skip

    assert isinstance(operation, ListObjects)
    assert operation.name == "ListObjectsV2"
    assert operation.params == ListParams(
        prefix="a", delimiter="/", max_keys=7, encoding_type="url", after="a/b",
        start_after="a/b", fetch_owner=True,
    )  # fmt: skip


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_other_methods_on_a_bucket_are_method_not_allowed(method: str) -> None:
    with pytest.raises(errors.MethodNotAllowed):
        routed(method, "/photos")


def test_put_on_key_is_put_object_with_parsed_headers() -> None:
    md5 = hashlib.md5(b"body").digest()
    sha = hashlib.sha256(b"body").digest()
    operation = routed(
        "PUT",
        "/photos/2024/cat%20%2B%20dog.jpg",
        headers=[
            ("Content-Length", "4"),
            ("Content-Type", "image/jpeg"),
            ("Content-MD5", base64.b64encode(md5).decode()),
            ("x-amz-checksum-sha256", base64.b64encode(sha).decode()),
            ("Cache-Control", "max-age=60"),
            ("X-Amz-Meta-Camera", "x100"),
            ("x-amz-meta-album", "pets"),
            ("If-None-Match", "*"),
        ],
    )

    assert operation == PutObject(
        "photos",
        "2024/cat + dog.jpg",
        ObjectMetadata(
            content_type="image/jpeg",
            cache_control="max-age=60",
            user=(("album", "pets"), ("camera", "x100")),
        ),
        Preconditions(if_none_match=("*",)),
        content_length=4,
        content_md5=md5,
        checksums=(Checksum("sha256", sha),),
    )
    assert operation.name == "PutObject"


def test_put_object_defaults_content_type_like_s3() -> None:
    operation = routed("PUT", "/photos/key")

    assert isinstance(operation, PutObject)
    assert operation.metadata == ObjectMetadata(content_type="binary/octet-stream")
    assert operation.content_length is None


def test_object_metadata_renders_the_response_headers_in_order() -> None:
    metadata = ObjectMetadata(
        content_type="text/plain",
        content_disposition="attachment",
        expires="Thu, 01 Dec 1994 16:00:00 GMT",
        user=(("a", "1"), ("b", "2")),
    )

    assert metadata.headers() == [
        ("Content-Type", "text/plain"),
        ("Content-Disposition", "attachment"),
        ("Expires", "Thu, 01 Dec 1994 16:00:00 GMT"),
        ("x-amz-meta-a", "1"),
        ("x-amz-meta-b", "2"),
    ]


def test_get_on_key_is_get_object_with_range_conditions_and_overrides() -> None:
    operation = routed(
        "GET",
        "/photos/a//b/../c",
        "response-content-type=text%2Fplain&response-cache-control=no-cache",
        headers=[
            ("Range", "bytes=0-9"),
            ("If-Match", '"abc"'),
            ("x-amz-checksum-mode", "enabled"),
        ],
    )

    assert operation == GetObject(
        "photos",
        "a//b/../c",  # keys are not normalised
        Preconditions(if_match=("abc",)),
        range=RangeSpec(0, 9),
        checksum_mode=True,
        response_overrides=(("Content-Type", "text/plain"), ("Cache-Control", "no-cache")),
    )
    assert operation.name == "GetObject"


def test_head_on_key_is_head_object() -> None:
    operation = routed("HEAD", "/photos/key")

    assert operation == GetObject("photos", "key", Preconditions(), head=True)
    assert operation.name == "HeadObject"


def test_delete_on_key_is_delete_object() -> None:
    operation = routed("DELETE", "/photos/dir/key")

    assert operation == DeleteObject("photos", "dir/key")
    assert operation.name == "DeleteObject"


def test_post_on_key_is_not_implemented() -> None:
    with pytest.raises(errors.NotImplementedOperation):
        routed("POST", "/photos/key")


def test_put_with_copy_source_is_copy_object_rather_than_an_empty_put() -> None:
    operation = routed("PUT", "/photos/key", headers=[("x-amz-copy-source", "/other/key")])

    assert isinstance(operation, CopyObject)
    assert operation.source == CopySource("other", "key")


def test_unknown_method_on_key_is_method_not_allowed() -> None:
    with pytest.raises(errors.MethodNotAllowed):
        routed("PATCH", "/photos/key")


@pytest.mark.parametrize(
    ("path", "bucket", "key"),
    [
        ("/", None, None),
        ("/s3/", None, None),
        ("/s3", "s3", None),  # a bare /s3 is a (reserved) bucket name, not the prefix
        ("/b", "b", None),
        ("/b/", "b", None),
        ("/b/k", "b", "k"),
        ("/b/dir/", "b", "dir/"),
        ("/b//k", "b", "/k"),
        ("/s3/b/k", "b", "k"),
        ("/s3b/k", "s3b", "k"),  # not the prefix
        ("/b/%E2%9C%93%3F", "b", "\u2713?"),
    ],
)
def test_split_path(path: str, bucket: str | None, key: str | None) -> None:
    assert split_path(path) == (bucket, key)


# --- the /s3/ prefix ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "headers"),
    [
        ("GET", "/", "", []),
        ("PUT", "/photos", "", []),
        ("HEAD", "/photos", "", []),
        ("GET", "/photos", "location", []),
        ("DELETE", "/photos", "", [("x-zas-force-delete", "true")]),
        ("GET", "/photos", "list-type=2&prefix=a%2F", []),
        ("PUT", "/photos/a%20b", "", [("Content-Type", "text/plain")]),
        ("GET", "/photos/a/b", "", [("Range", "bytes=1-")]),
        ("HEAD", "/photos/a", "", []),
        ("DELETE", "/photos/a", "", []),
        ("GET", "/photos", "versioning", []),
        ("GET", "/photos", "uploads&prefix=a", []),
        ("POST", "/photos", "delete", [("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")]),
        ("PUT", "/photos/a", "", [("x-amz-copy-source", "/src/k")]),
        ("POST", "/photos/a", "uploads", []),
        ("PUT", "/photos/a", "partNumber=2&uploadId=u", []),
        ("POST", "/photos/a", "uploadId=u", []),
        ("GET", "/photos/a", "uploadId=u", []),
        ("DELETE", "/photos/a", "uploadId=u", []),
        ("PUT", "/photos/a", "tagging", []),
    ],
)
def test_s3_prefix_routes_exactly_like_the_root(
    method: str, path: str, query: str, headers: list[tuple[str, str]]
) -> None:
    at_root = routed(method, path, query, headers)
    under_prefix = routed(method, "/s3" + path, query, headers)

    assert under_prefix == at_root


# --- sub-resources ZAS does not implement -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/photos", "acl"),
        ("PUT", "/photos", "acl"),
        ("GET", "/photos", "tagging"),
        ("PUT", "/photos", "tagging"),
        ("PUT", "/photos", "versioning"),
        ("GET", "/photos", "versions"),
        ("POST", "/photos", "policy"),
        ("PUT", "/photos", "lifecycle"),
        ("GET", "/photos", "cors"),
        ("GET", "/photos", "delete"),
        ("POST", "/photos", "uploads"),
        ("DELETE", "/photos", "uploads"),
        ("GET", "/photos", "uploads&versioning"),
        ("PUT", "/photos", "location"),
        ("GET", "/photos", "location&acl"),
        ("GET", "/photos/key", "acl"),
        ("GET", "/photos/key", "versionId=3"),
        ("DELETE", "/photos/key", "versionId=3"),
        ("PUT", "/photos/key", "tagging&acl"),
        ("POST", "/photos/key", "restore"),
        ("GET", "/photos/key", "attributes"),
    ],
)
def test_unimplemented_sub_resources_are_not_implemented_not_a_plain_request(
    method: str, path: str, query: str
) -> None:
    with pytest.raises(errors.NotImplementedOperation) as caught:
        routed(method, path, query)

    assert (caught.value.code, caught.value.http_status) == ("NotImplemented", 501)


def test_ordinary_query_parameters_are_not_sub_resources() -> None:
    # newer AWS SDKs add x-id=...; it must not turn a GetObject into an error
    assert isinstance(routed("GET", "/photos/key", "x-id=GetObject"), GetObject)


# --- bucket names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "MyBucket",
        "my_bucket",
        "my bucket",
        "192.168.1.1",
        "my..bucket",
        "-bucket",
        "bucket-",
        ".bucket",
        "bucket.",
        "xn--bucket",
        "sthree-bucket",
        "amzn-s3-demo-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
        "bucket.mrap",
        "bucket--x-s3",
        "bucket--table-s3",
        "bück",
    ],
)
def test_create_bucket_with_invalid_name_is_invalid_bucket_name(name: str) -> None:
    with pytest.raises(errors.InvalidBucketName) as caught:
        routed("PUT", "/" + name)

    assert (caught.value.code, caught.value.http_status) == ("InvalidBucketName", 400)
    assert caught.value.details["BucketName"] == name[:80]


@pytest.mark.parametrize(
    "name",
    ["health", "metrics", "rbac", "supplychain", "admin", "sts", "oci", "zas"],
)
def test_create_bucket_named_like_a_zas_route_is_invalid_bucket_name(name: str) -> None:
    assert name in RESERVED_BUCKET_NAMES

    with pytest.raises(errors.InvalidBucketName, match="reserved"):
        routed("PUT", "/s3/" + name)


def test_bucket_named_s3_cannot_be_created_under_either_spelling() -> None:
    assert "s3" in RESERVED_BUCKET_NAMES
    with pytest.raises(errors.InvalidBucketName):
        routed("PUT", "/s3")
    with pytest.raises(errors.InvalidBucketName):
        routed("PUT", "/s3/s3")
    with pytest.raises(errors.InvalidBucketName):
        validate_bucket_name("s3")


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.bucket-1", "1bucket", "a-b.c-d", "10.0.0"])
def test_valid_bucket_names_are_created(name: str) -> None:
    assert routed("PUT", "/" + name) == CreateBucket(name)


def test_existing_bucket_names_are_not_revalidated_on_reads() -> None:
    # legacy names (and strays like /favicon.ico) get NoSuchBucket later, not 400 here
    assert isinstance(routed("GET", "/Legacy_Bucket"), ListObjects)
    assert routed("HEAD", "/favicon.ico") == HeadBucket("favicon.ico")


def test_bucket_name_longer_than_any_bucket_is_refused_on_any_operation() -> None:
    with pytest.raises(errors.InvalidBucketName):
        routed("GET", "/" + "b" * 256 + "/key")


# --- keys and metadata -------------------------------------------------------------------------


def test_key_of_1024_utf8_bytes_is_accepted() -> None:
    key = "k" * (MAX_KEY_BYTES - 2) + "\u00e9"  # é is two bytes
    assert len(key.encode()) == 1024

    assert routed("PUT", "/photos/" + key) is not None


@pytest.mark.parametrize("key", ["k" * 1025, "\u00e9" * 513])
def test_key_over_1024_utf8_bytes_is_key_too_long(key: str) -> None:
    with pytest.raises(errors.KeyTooLongError) as caught:
        routed("PUT", "/photos/" + key)

    assert (caught.value.code, caught.value.http_status) == ("KeyTooLongError", 400)
    assert caught.value.details["MaxSizeAllowed"] == "1024"


def test_key_with_nul_is_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequest):
        routed("GET", "/photos/a%00b")
    with pytest.raises(errors.InvalidRequest):
        validate_key("")


def _metadata_of_size(size: int) -> list[tuple[str, str]]:
    # "x-amz-meta-" is not counted: S3 counts the name after it plus the value, in UTF-8
    return [("x-amz-meta-a", "v" * (size - 4)), ("x-amz-meta-b", "\u00e9")]


def test_user_metadata_of_exactly_2_kb_is_accepted() -> None:
    operation = routed("PUT", "/photos/key", headers=_metadata_of_size(2048))

    assert isinstance(operation, PutObject)
    assert dict(operation.metadata.user)["b"] == "\u00e9"


def test_user_metadata_over_2_kb_is_metadata_too_large() -> None:
    with pytest.raises(errors.MetadataTooLarge) as caught:
        routed("PUT", "/photos/key", headers=_metadata_of_size(2049))

    assert (caught.value.code, caught.value.http_status) == ("MetadataTooLarge", 400)
    assert caught.value.details == {"Size": "2049", "MaxSizeAllowed": "2048"}


@pytest.mark.parametrize(
    "content_md5",
    [
        "not base64!",
        base64.b64encode(b"x" * 15).decode(),
        base64.b64encode(b"x" * 17).decode(),
        hashlib.md5(b"body").hexdigest(),  # hex instead of base64
        "",
    ],
)
def test_malformed_content_md5_is_invalid_digest(content_md5: str) -> None:
    with pytest.raises(errors.InvalidDigest) as caught:
        routed("PUT", "/photos/key", headers=[("Content-MD5", content_md5)])

    assert (caught.value.code, caught.value.http_status) == ("InvalidDigest", 400)


@pytest.mark.parametrize("checksum", ["nope", base64.b64encode(b"x" * 31).decode()])
def test_malformed_checksum_sha256_is_invalid_request(checksum: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        routed("PUT", "/photos/key", headers=[("x-amz-checksum-sha256", checksum)])


@pytest.mark.parametrize(
    ("algorithm", "size"),
    [("crc32", 4), ("crc32c", 4), ("crc64nvme", 8), ("sha1", 20), ("sha256", 32)],
)
def test_given_any_of_the_five_checksum_algorithms_then_accepted_for_verification(
    algorithm: str, size: int
) -> None:
    digest = bytes(range(size))
    operation = routed(
        "PUT",
        "/photos/key",
        headers=[(f"x-amz-checksum-{algorithm}", base64.b64encode(digest).decode())],
    )

    assert isinstance(operation, PutObject)
    assert operation.checksums == (Checksum(algorithm, digest),)


@pytest.mark.parametrize("algorithm", ["crc32c", "crc64nvme"])
@pytest.mark.parametrize("value", ["nope", base64.b64encode(b"x" * 16).decode(), ""])
def test_given_malformed_crc32c_or_crc64nvme_then_invalid_request(
    algorithm: str, value: str
) -> None:
    with pytest.raises(errors.InvalidRequest, match=f"x-amz-checksum-{algorithm}"):
        routed("PUT", "/photos/key", headers=[(f"x-amz-checksum-{algorithm}", value)])


def test_given_two_checksum_headers_then_invalid_request_as_s3() -> None:
    crc = base64.b64encode(b"\0" * 4).decode()
    sha1 = base64.b64encode(b"\0" * 20).decode()

    with pytest.raises(errors.InvalidRequest, match="Multiple checksum Types are not allowed"):
        routed(
            "PUT", "/b/k", headers=[("x-amz-checksum-crc32", crc), ("x-amz-checksum-sha1", sha1)]
        )


def test_given_sdk_checksum_algorithm_then_kept_lower_case_or_refused() -> None:
    operation = routed("PUT", "/b/k", headers=[("x-amz-sdk-checksum-algorithm", "CRC64NVME")])
    assert isinstance(operation, PutObject)
    assert operation.checksum_algorithm == "crc64nvme"
    with pytest.raises(errors.InvalidRequest, match="Checksum algorithm provided is unsupported"):
        routed("PUT", "/b/k", headers=[("x-amz-sdk-checksum-algorithm", "MD5")])


# --- DeleteObjects, GetBucketVersioning -----------------------------------------------------


def test_given_boto3_delete_objects_then_delete_objects_with_its_crc_instead_of_md5() -> None:
    request, body = botocore_request(
        "delete_objects", Bucket="photos", Delete={"Objects": [{"Key": "a"}], "Quiet": True}
    )

    operation = route(request)

    assert operation == DeleteObjects(
        "photos", None, (Checksum("crc32", zlib.crc32(body).to_bytes(4, "big")),), "crc32"
    )
    assert operation.name == "DeleteObjects"


def test_given_delete_objects_with_content_md5_then_accepted() -> None:
    md5 = hashlib.md5(b"<Delete/>").digest()
    operation = routed(
        "POST", "/photos", "delete", [("Content-MD5", base64.b64encode(md5).decode())]
    )

    assert operation == DeleteObjects("photos", md5, ())


def test_given_delete_objects_without_md5_or_checksum_then_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        routed("POST", "/photos", "delete")

    assert caught.value.message == "Missing required header for this request: Content-MD5"


def test_given_delete_objects_with_malformed_md5_then_invalid_digest() -> None:
    with pytest.raises(errors.InvalidDigest):
        routed("POST", "/photos", "delete", [("Content-MD5", "abc")])


def test_given_get_bucket_versioning_then_get_bucket_versioning() -> None:
    request, _ = botocore_request("get_bucket_versioning", Bucket="photos")

    operation = route(request)

    assert operation == GetBucketVersioning("photos")
    assert operation.name == "GetBucketVersioning"


@pytest.mark.parametrize("length", ["abc", "-1", "1.0", "", "9" * 5000])
def test_malformed_content_length_is_invalid_argument(length: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        routed("PUT", "/photos/key", headers=[("Content-Length", length)])
    assert caught.value.details["ArgumentName"] == "Content-Length"


# --- list parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("max_keys", ["abc", "-1", "1.5", "", "0x10", "9" * 5000])
@pytest.mark.parametrize("version", [1, 2])
def test_invalid_max_keys_is_invalid_argument(max_keys: str, version: int) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        parse_list_params((("max-keys", max_keys),), version)  # type: ignore[arg-type]

    assert (caught.value.code, caught.value.http_status) == ("InvalidArgument", 400)
    assert caught.value.details["ArgumentName"] == "max-keys"


@pytest.mark.parametrize(
    ("max_keys", "expected"), [("0", 0), ("1", 1), ("1000", 1000), ("1001", 1000), ("5000", 1000)]
)
def test_max_keys_above_1000_is_capped(max_keys: str, expected: int) -> None:
    assert parse_list_params((("max-keys", max_keys),), 2).max_keys == expected


def test_max_keys_defaults_to_1000() -> None:
    assert parse_list_params((), 2).max_keys == MAX_KEYS_LIMIT == 1000


@pytest.mark.parametrize("encoding", ["base64", "", "utf-8"])
def test_encoding_type_other_than_url_is_invalid_argument(encoding: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        parse_list_params((("encoding-type", encoding),), 2)
    assert caught.value.details["ArgumentName"] == "encoding-type"


@pytest.mark.parametrize("token", ["!!!!", "", "abc", "not a token", "\u00e9t\u00e9", "_w=="])
def test_bad_continuation_token_is_invalid_argument(token: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        routed("GET", "/photos", "list-type=2&continuation-token=" + token)
    assert caught.value.details["ArgumentName"] == "continuation-token"


@pytest.mark.parametrize("key", ["a", "dir/sub/", "caf\u00e9 + more", "~!@#$%^&*()=", "x" * 1024])
def test_continuation_token_round_trips_to_the_key_the_listing_resumes_after(key: str) -> None:
    token = encode_continuation_token(key)
    assert token.isascii() and "&" not in token and "=" not in token.rstrip("=")

    params = parse_list_params((("continuation-token", token), ("start-after", "zzz")), 2)

    assert decode_continuation_token(token) == key
    assert params.after == key  # the token wins over start-after
    assert params.continuation_token == token
    assert params.start_after == "zzz"


def test_start_after_alone_sets_where_v2_resumes() -> None:
    assert parse_list_params((("start-after", "m"),), 2).after == "m"


def test_v1_ignores_v2_parameters() -> None:
    params = parse_list_params(
        (("continuation-token", "!!!"), ("start-after", "m"), ("marker", "k")), 1
    )

    assert params.after == "k"
    assert params.continuation_token is None
    assert params.start_after is None


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("GET", operations.GetBucketPolicy("photos")),
        ("PUT", operations.PutBucketPolicy("photos", 2)),
        ("DELETE", operations.DeleteBucketPolicy("photos")),
    ],
)
def test_bucket_policy_sub_resource_routes_to_the_policy_operations(
    method: str, expected: object
) -> None:
    headers = [("content-length", "2")] if method == "PUT" else []
    request = HttpRequest.from_wire(method, "/photos", "policy", headers)

    assert route(request) == expected
