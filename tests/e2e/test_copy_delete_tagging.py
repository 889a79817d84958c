"""CopyObject, DeleteObjects, object tagging and virtual-hosted-style requests via boto3."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.test_objects import error_of
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess


def blob_count(zas: ZasProcess) -> int:
    return len(list((zas.data_dir / "blobs" / "sha256").glob("*/*")))


def test_copy_shares_bytes_and_keeps_metadata(s3: Any, bucket: str, zas: ZasProcess) -> None:
    body = b"copy me without copying bytes" * 1000
    s3.put_object(
        Bucket=bucket, Key="src key+1", Body=body, ContentType="text/plain", Metadata={"m": "1"}
    )
    blobs = blob_count(zas)
    s3.create_bucket(Bucket=f"{bucket}-dst")
    result = s3.copy_object(
        Bucket=f"{bucket}-dst", Key="copied", CopySource={"Bucket": bucket, "Key": "src key+1"}
    )
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert blob_count(zas) == blobs, "a copy writes a row, not bytes"
    got = s3.get_object(Bucket=f"{bucket}-dst", Key="copied")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"m": "1"}
    # Deleting the source keeps the copy readable (the blob has another reference).
    s3.delete_object(Bucket=bucket, Key="src key+1")
    assert s3.get_object(Bucket=f"{bucket}-dst", Key="copied")["Body"].read() == body


def test_copy_with_replace_changes_metadata_even_onto_itself(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", ContentType="text/plain", Metadata={"old": "1"}
    )
    s3.copy_object(
        Bucket=bucket,
        Key="k",
        CopySource={"Bucket": bucket, "Key": "k"},
        MetadataDirective="REPLACE",
        ContentType="application/json",
        Metadata={"new": "2"},
    )
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ContentType"] == "application/json"
    assert head["Metadata"] == {"new": "2"}


def test_copy_onto_itself_without_changes_is_invalid_request(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"})
    assert error_of(excinfo) == (400, "InvalidRequest")


def test_copy_source_conditions(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"x")["ETag"]
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="a", CopySource=source, CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="b", CopySource=source, CopySourceIfMatch='"nope"')
    assert error_of(excinfo) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=source, CopySourceIfNoneMatch=etag)
    assert error_of(excinfo) == (412, "PreconditionFailed")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="d", CopySource=source, CopySourceIfModifiedSince=later)
    assert error_of(excinfo) == (412, "PreconditionFailed")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a", "src"]


def test_copy_of_a_missing_source_is_no_such_key(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "missing"})
    assert error_of(excinfo) == (404, "NoSuchKey")


def test_delete_objects_reports_each_key_and_quiet_mode(
    s3: Any, bucket: str, zas: ZasProcess
) -> None:
    for index in range(30):
        s3.put_object(Bucket=bucket, Key=f"k{index:02d}", Body=f"unique delete {index}".encode())
    keys = [{"Key": f"k{index:02d}"} for index in range(20)] + [{"Key": "never-existed"}]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(k["Key"] for k in keys)
    assert "Errors" not in result
    remaining = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert remaining == [f"k{index:02d}" for index in range(20, 30)]
    quiet = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in remaining], "Quiet": True}
    )
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert blob_count(zas) >= 0


def test_delete_objects_over_1000_keys_is_malformed_xml(s3: Any, bucket: str) -> None:
    keys = [{"Key": f"k{index}"} for index in range(1001)]
    with pytest.raises(ClientError) as excinfo:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    assert error_of(excinfo) == (400, "MalformedXML")


def test_tagging_round_trip_and_limits(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="team=build&tier=gold")
    tags = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("team", "build"), ("tier", "gold")]
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2
    s3.put_object_tagging(
        Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]}
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [
        {"Key": "only", "Value": "one"}
    ]
    too_many = [{"Key": f"t{index}", "Value": "v"} for index in range(11)]
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": too_many})
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_tagging(
            Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "k" * 129, "Value": "v"}]}
        )
    assert error_of(excinfo) == (400, "InvalidTag")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [
        {"Key": "only", "Value": "one"}
    ]
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_copy_tagging_directive(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "src"})
    assert s3.get_object_tagging(Bucket=bucket, Key="kept")["TagSet"] == [
        {"Key": "a", "Value": "1"}
    ]
    s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="REPLACE",
        Tagging="b=2",
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="replaced")["TagSet"] == [
        {"Key": "b", "Value": "2"}
    ]


def test_tagging_a_missing_key_is_no_such_key(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert error_of(excinfo) == (404, "NoSuchKey")


def test_bucket_versioning_reports_never_enabled(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_virtual_hosted_style_requests(fresh_zas: ZasProcess) -> None:
    fresh_zas.extra_env["ZAS_DOMAIN"] = "s3.zas.test"
    fresh_zas.start()
    path_style = fresh_zas.client()
    path_style.create_bucket(Bucket="vhost")
    virtual = boto3.client(
        "s3",
        endpoint_url=f"http://s3.zas.test:{fresh_zas.port}",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "virtual"},
            retries={"max_attempts": 0},
            # Resolve every *.s3.zas.test name to the loopback server.
            proxies={},
        ),
    )

    # Route the virtual host names to 127.0.0.1 by rewriting the connection target.
    def to_loopback(request: Any, **_: Any) -> None:
        request.url = request.url.replace("vhost.s3.zas.test", "127.0.0.1")
        request.headers["Host"] = f"vhost.s3.zas.test:{fresh_zas.port}"

    virtual.meta.events.register("before-send.s3.*", to_loopback)
    virtual.put_object(Bucket="vhost", Key="dir/file.txt", Body=b"virtual")
    assert path_style.get_object(Bucket="vhost", Key="dir/file.txt")["Body"].read() == b"virtual"
    listed = virtual.list_objects_v2(Bucket="vhost")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/file.txt"]
