"""Virtual-hosted-style routing: `Host: <bucket>.<domain>`, the whole path is the key."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.protocol.botocore_requests import botocore_request
from zas.protocol import errors
from zas.protocol.conditions import Preconditions
from zas.protocol.http import HttpRequest
from zas.protocol.operations import (
    CreateBucket,
    DeleteObject,
    GetObject,
    HeadBucket,
    ListBuckets,
    ListMultipartUploads,
    ListObjects,
    Operation,
    PutObject,
    route,
    virtual_host_bucket,
)

DOMAIN = "s3.example.com"


def routed(
    method: str,
    host: str,
    path: str,
    query: str = "",
    headers: Sequence[tuple[str, str]] = (),
    domain: str | None = DOMAIN,
) -> Operation:
    request = HttpRequest.from_wire(method, path, query, [("Host", host), *headers])
    return route(request, virtual_host_domain=domain)


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("photos.s3.example.com", "photos"),
        ("photos.s3.example.com:9000", "photos"),
        ("PHOTOS.S3.Example.COM", "photos"),
        ("photos.s3.example.com.", "photos"),
        ("my.dotted.bucket.s3.example.com", "my.dotted.bucket"),
        ("s3.example.com", None),
        ("s3.example.com:9000", None),
        ("example.com", None),
        ("photos.other.com", None),
        ("photoss3.example.com", None),
        (".s3.example.com", None),
        ("127.0.0.1:9000", None),
        ("[::1]:9000", None),
        ("localhost", None),
    ],
)
def test_given_host_then_bucket_only_for_a_subdomain_of_the_domain(
    host: str, bucket: str | None
) -> None:
    assert virtual_host_bucket(host, DOMAIN) == bucket
    assert virtual_host_bucket(host, DOMAIN + ".") == bucket


def test_given_no_domain_or_no_host_then_path_style() -> None:
    assert virtual_host_bucket("photos.s3.example.com", None) is None
    assert virtual_host_bucket("photos.s3.example.com", "") is None
    assert virtual_host_bucket(None, DOMAIN) is None


def test_given_virtual_host_then_the_whole_path_is_the_key() -> None:
    assert routed("GET", "photos.s3.example.com", "/2024/cat%20dog.jpg") == GetObject(
        "photos", "2024/cat dog.jpg", Preconditions()
    )
    # no /s3 prefix and no bucket segment: both are part of the key
    assert routed("DELETE", "photos.s3.example.com", "/s3/photos/k") == DeleteObject(
        "photos", "s3/photos/k"
    )
    assert routed("DELETE", "photos.s3.example.com", "//k") == DeleteObject("photos", "/k")


@pytest.mark.parametrize("path", ["/", ""])
def test_given_virtual_host_and_root_path_then_bucket_operations(path: str) -> None:
    assert routed("PUT", "photos.s3.example.com", path) == CreateBucket("photos")
    assert routed("HEAD", "photos.s3.example.com", path) == HeadBucket("photos")
    assert isinstance(routed("GET", "photos.s3.example.com", path, "list-type=2"), ListObjects)
    assert routed("GET", "photos.s3.example.com", path, "uploads") == ListMultipartUploads("photos")


def test_given_the_domain_itself_then_path_style() -> None:
    assert routed("GET", "s3.example.com", "/") == ListBuckets()
    assert routed("GET", "s3.example.com:9000", "/photos/k") == GetObject(
        "photos", "k", Preconditions()
    )
    assert routed("GET", "s3.example.com", "/s3/photos/k") == GetObject(
        "photos", "k", Preconditions()
    )


def test_given_no_configured_domain_then_host_is_ignored() -> None:
    operation = routed("GET", "photos.s3.example.com", "/other/k", domain=None)

    assert operation == GetObject("other", "k", Preconditions())


def test_given_virtual_host_with_invalid_bucket_name_then_invalid_bucket_name_on_create() -> None:
    with pytest.raises(errors.InvalidBucketName):
        routed("PUT", "my_bucket.s3.example.com", "/")


def test_given_virtual_host_key_too_long_then_key_too_long() -> None:
    with pytest.raises(errors.KeyTooLongError):
        routed("PUT", "photos.s3.example.com", "/" + "k" * 1025)


def test_given_boto3_virtual_addressing_then_same_operation_as_path_style() -> None:
    params = {"Bucket": "photos", "Key": "dir/a b+c.txt", "Body": b"x", "ContentType": "text/plain"}
    virtual, _ = botocore_request("put_object", addressing="virtual", **params)
    path, _ = botocore_request("put_object", addressing="path", **params)

    assert virtual.headers["host"] == ["photos.zas.test:9000"]
    by_host = route(virtual, virtual_host_domain="zas.test")
    by_path = route(path, virtual_host_domain="zas.test")
    assert isinstance(by_host, PutObject)
    assert (by_host.bucket, by_host.key) == ("photos", "dir/a b+c.txt")
    assert by_host == by_path
