"""Conditional GET/HEAD (RFC 9110 precedence) and conditional PUT, through boto3."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_objects import error_of


@pytest.fixture
def stored(s3: Any, bucket: str) -> tuple[str, str, dt.datetime]:
    put = s3.put_object(Bucket=bucket, Key="obj", Body=b"conditional")
    modified = s3.head_object(Bucket=bucket, Key="obj")["LastModified"]
    return bucket, put["ETag"], modified


def _status(s3: Any, method: str, bucket: str, **conditions: Any) -> int:
    call = s3.get_object if method == "GET" else s3.head_object
    try:
        return int(
            call(Bucket=bucket, Key="obj", **conditions)["ResponseMetadata"]["HTTPStatusCode"]
        )
    except ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_rfc9110_precedence(s3: Any, stored: tuple[str, str, dt.datetime], method: str) -> None:
    bucket, etag, modified = stored
    before, after = modified - HOUR, modified + HOUR
    cases = [
        ({"IfMatch": etag}, 200),
        ({"IfMatch": '"0000"'}, 412),
        ({"IfMatch": "*"}, 200),
        ({"IfNoneMatch": etag}, 304),
        ({"IfNoneMatch": '"0000"'}, 200),
        ({"IfModifiedSince": after}, 304),
        ({"IfModifiedSince": before}, 200),
        ({"IfUnmodifiedSince": before}, 412),
        ({"IfUnmodifiedSince": after}, 200),
        # If-Match true wins over a false If-Unmodified-Since (S3 docs, RFC 9110 13.2.2).
        ({"IfMatch": etag, "IfUnmodifiedSince": before}, 200),
        # If-None-Match false (ETag differs) wins over If-Modified-Since saying "not modified".
        ({"IfNoneMatch": '"0000"', "IfModifiedSince": after}, 200),
        ({"IfNoneMatch": etag, "IfModifiedSince": before}, 304),
        ({"IfMatch": '"0000"', "IfNoneMatch": etag}, 412),
    ]
    for conditions, expected in cases:
        assert _status(s3, method, bucket, **conditions) == expected, conditions


def test_not_modified_carries_the_etag(s3: Any, stored: tuple[str, str, dt.datetime]) -> None:
    bucket, etag, _ = stored
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="obj", IfNoneMatch=etag)
    headers = excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert headers["etag"] == etag


def test_failed_if_match_is_precondition_failed(
    s3: Any, stored: tuple[str, str, dt.datetime]
) -> None:
    bucket, _, _ = stored
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="obj", IfMatch='"nope"')
    assert error_of(excinfo) == (412, "PreconditionFailed")


def test_put_if_none_match_star_refuses_to_overwrite(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert error_of(excinfo) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"


def test_put_if_match_replaces_only_the_expected_version(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"v3", IfMatch=etag)  # stale ETag
    assert error_of(excinfo) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"


def test_put_if_match_on_a_missing_key_is_no_such_key(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="absent", Body=b"x", IfMatch='"abc"')
    assert error_of(excinfo) == (404, "NoSuchKey")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="absent")
