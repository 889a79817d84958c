"""Bucket life cycle through boto3: create, head, location, list, delete (and force delete)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.raw import send, sign_headers
from tests.e2e.test_objects import error_of
from tests.zasproc import ZasProcess


def test_created_bucket_is_listed_headed_and_located(s3: Any) -> None:
    s3.create_bucket(Bucket="lifecycle-bucket")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "lifecycle-bucket" in names
    head = s3.head_bucket(Bucket="lifecycle-bucket")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket="lifecycle-bucket")["LocationConstraint"] is None
    s3.delete_bucket(Bucket="lifecycle-bucket")
    assert "lifecycle-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_bucket_with_location_constraint_body(s3: Any) -> None:
    s3.create_bucket(
        Bucket="located-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert s3.head_bucket(Bucket="located-bucket")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_creating_an_existing_bucket_is_bucket_already_owned_by_you(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=bucket)
    assert error_of(excinfo) == (409, "BucketAlreadyOwnedByYou")


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper-Case",
        "under_score",
        "192.168.1.1",
        "two..dots",
        "-dash",
        "health",
        "s3",
    ],
)
def test_invalid_bucket_names_are_refused_and_not_created(
    zas: ZasProcess, s3: Any, name: str
) -> None:
    # boto3 validates some names itself, so send the request by hand.
    url = f"{zas.endpoint}/{name}"
    response = send("PUT", url, sign_headers("PUT", url))
    assert (response.status, response.code) == (400, "InvalidBucketName"), response
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_head_missing_bucket_is_404(s3: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.head_bucket(Bucket="missing-bucket")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_objects_of_missing_bucket_is_no_such_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket="missing-bucket")
    assert error_of(excinfo) == (404, "NoSuchBucket")


def test_deleting_a_non_empty_bucket_is_bucket_not_empty(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket=bucket)
    assert error_of(excinfo) == (409, "BucketNotEmpty")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_deleting_a_missing_bucket_is_no_such_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.delete_bucket(Bucket="never-existed")
    assert error_of(excinfo) == (404, "NoSuchBucket")


def test_force_delete_header_removes_bucket_and_objects(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    for index in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{index}", Body=f"unique-force-{index}".encode())
    url = f"{zas.endpoint}/{bucket}"
    headers = sign_headers("DELETE", url, headers={"x-zas-force-delete": "true"})
    response = send("DELETE", url, headers)
    assert response.status == 204, response
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # Re-creating it yields an empty bucket: the objects went with it.
    s3.create_bucket(Bucket=bucket)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_same_api_is_served_under_the_s3_prefix(zas: ZasProcess, s3: Any, bucket: str) -> None:
    prefixed = zas.client()
    prefixed.meta.events.register(
        "before-sign.s3.*",
        lambda request, **_: setattr(
            request, "url", request.url.replace(zas.endpoint, zas.endpoint + "/s3", 1)
        ),
    )
    prefixed.put_object(Bucket=bucket, Key="via-prefix", Body=b"prefixed")
    assert s3.get_object(Bucket=bucket, Key="via-prefix")["Body"].read() == b"prefixed"
    assert prefixed.get_object(Bucket=bucket, Key="via-prefix")["Body"].read() == b"prefixed"
    assert bucket in [b["Name"] for b in prefixed.list_buckets()["Buckets"]]


def test_unimplemented_subresource_is_501_not_implemented(zas: ZasProcess, bucket: str) -> None:
    url = f"{zas.endpoint}/{bucket}?tagging"
    response = send("GET", url, sign_headers("GET", url))
    assert (response.status, response.code) == (501, "NotImplemented")
