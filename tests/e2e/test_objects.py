"""PutObject, GetObject, HeadObject, DeleteObject through boto3 against a real `zas serve`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import zlib
from typing import Any

import pytest
from awscrt import checksums  # type: ignore[import-untyped]
from botocore.exceptions import ClientError

from tests.e2e.raw import send, sign_headers
from tests.zasproc import ZasProcess


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_put_then_get_returns_the_bytes_metadata_and_md5_etag(s3: Any, bucket: str) -> None:
    body = b"artifact bytes \x00\xff" * 1000
    put = s3.put_object(
        Bucket=bucket,
        Key="builds/app-1.0.tar.gz",
        Body=body,
        ContentType="application/gzip",
        ContentEncoding="identity",
        ContentDisposition='attachment; filename="app.tgz"',
        ContentLanguage="en",
        CacheControl="max-age=60",
        Expires=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        Metadata={"commit": "abc123", "Pipeline": "nightly"},
    )
    expected_etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == expected_etag

    got = s3.get_object(Bucket=bucket, Key="builds/app-1.0.tar.gz")
    assert got["Body"].read() == body
    assert got["ETag"] == expected_etag
    assert got["ContentLength"] == len(body)
    assert got["ContentType"] == "application/gzip"
    assert got["ContentEncoding"] == "identity"
    assert got["ContentDisposition"] == 'attachment; filename="app.tgz"'
    assert got["ContentLanguage"] == "en"
    assert got["CacheControl"] == "max-age=60"
    assert got["Expires"] == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert got["Metadata"] == {"commit": "abc123", "pipeline": "nightly"}
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]


def test_head_object_reports_size_and_etag_without_a_body(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ContentLength"] == 5
    assert head["ETag"] == f'"{hashlib.md5(b"12345").hexdigest()}"'
    assert head["ContentType"] == "binary/octet-stream"
    assert head["AcceptRanges"] == "bytes"


def test_put_replaces_the_previous_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"old", Metadata={"v": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"new!")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"new!"
    assert got["Metadata"] == {}


def test_keys_with_unusual_characters_round_trip(s3: Any, bucket: str) -> None:
    keys = [
        "a b/c+d=e&f",
        "ünïcødé/ファイル.txt",
        "dir//double/./dot/../x",
        "~tilde%percent",
        "trailing/",
    ]
    for index, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=str(index).encode())
    for index, key in enumerate(keys):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == str(index).encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed, key=lambda k: k.encode()) == listed
    assert set(listed) == set(keys)


def test_empty_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_get_missing_key_is_no_such_key(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="missing")
    assert error_of(excinfo) == (404, "NoSuchKey")


def test_head_missing_key_is_404(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="missing")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_put_into_missing_bucket_is_no_such_bucket_and_stores_nothing(
    s3: Any, zas: ZasProcess
) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
    assert error_of(excinfo) == (404, "NoSuchBucket")
    assert "no-such-bucket-here" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_delete_object_is_idempotent_204(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    first = s3.delete_object(Bucket=bucket, Key="k")
    second = s3.delete_object(Bucket=bucket, Key="k")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert second["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        s3.head_object(Bucket=bucket, Key="k")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# --- ranges ------------------------------------------------------------------------------

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=0-0", DATA[0:1], "bytes 0-0/10240"),
        ("bytes=100-199", DATA[100:200], "bytes 100-199/10240"),
        ("bytes=10000-", DATA[10000:], "bytes 10000-10239/10240"),
        ("bytes=-10", DATA[-10:], "bytes 10230-10239/10240"),
        ("bytes=-999999", DATA, "bytes 0-10239/10240"),
        ("bytes=10200-99999", DATA[10200:], "bytes 10200-10239/10240"),
    ],
)
def test_range_get_returns_206_and_the_slice(
    s3: Any, bucket: str, header: str, expected: bytes, content_range: str
) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == content_range
    assert got["ContentLength"] == len(expected)
    assert got["Body"].read() == expected


def test_unsatisfiable_range_is_416_invalid_range(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10240-")
    assert error_of(excinfo) == (416, "InvalidRange")
    assert (
        excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]["content-range"]
        == "bytes */10240"
    )


def test_malformed_range_is_ignored_and_the_whole_object_sent(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=5-2")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == DATA


# --- integrity -----------------------------------------------------------------------------


def test_correct_content_md5_is_accepted(s3: Any, bucket: str) -> None:
    body = b"checked"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="k", Body=body, ContentMD5=md5)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body


def test_wrong_content_md5_is_bad_digest_and_stores_nothing(
    s3: Any, bucket: str, zas: ZasProcess
) -> None:
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    blobs_before = _blob_files(zas)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"the real body", ContentMD5=wrong)
    assert error_of(excinfo) == (400, "BadDigest")
    _assert_absent(s3, bucket, "k")
    assert _blob_files(zas) == blobs_before


def test_malformed_content_md5_is_invalid_digest(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentMD5="not-base64-md5")
    assert error_of(excinfo) == (400, "InvalidDigest")
    _assert_absent(s3, bucket, "k")


def test_checksum_sha256_is_verified_stored_and_returned_when_asked(s3: Any, bucket: str) -> None:
    body = b"sha me"
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumSHA256=digest)
    assert put["ChecksumSHA256"] == digest
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == digest
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == digest
    assert got["Body"].read() == body


def test_checksum_sha256_is_not_sent_unless_asked_or_on_a_range(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    plain = s3.head_object(Bucket=bucket, Key="k")
    assert "ChecksumSHA256" not in plain
    ranged = s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-3", ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in ranged
    assert ranged["Body"].read() == b"0123"


def test_wrong_checksum_sha256_is_bad_digest_and_stores_nothing(s3: Any, bucket: str) -> None:
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"body", ChecksumSHA256=wrong)
    assert error_of(excinfo) == (400, "BadDigest")
    _assert_absent(s3, bucket, "k")


def test_user_metadata_over_2kb_is_metadata_too_large(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_of(excinfo) == (400, "MetadataTooLarge")
    _assert_absent(s3, bucket, "k")


def test_key_over_1024_bytes_is_key_too_long(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_of(excinfo) == (400, "KeyTooLongError")


def _assert_absent(s3: Any, bucket: str, key: str) -> None:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
    assert key not in [o["Key"] for o in listed]


def _blob_files(zas: ZasProcess) -> set[str]:
    return {p.name for p in (zas.data_dir / "blobs" / "sha256").glob("*/*")}


def test_wrong_crc32_is_bad_digest_and_stores_nothing(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    url = f"{zas.endpoint}/{bucket}/crc"
    wrong = base64.b64encode((zlib.crc32(b"other") ^ 1).to_bytes(4, "big")).decode()
    headers = sign_headers("PUT", url, headers={"x-amz-checksum-crc32": wrong}, body=b"body")
    response = send("PUT", url, headers, b"body")
    assert (response.status, response.code) == (400, "BadDigest"), response
    _assert_absent(s3, bucket, "crc")


def test_correct_crc32_and_sha1_are_verified_and_echoed(s3: Any, bucket: str) -> None:
    body = b"flexible checksums"
    crc32 = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    sha1 = base64.b64encode(hashlib.sha1(body).digest()).decode()
    assert (
        s3.put_object(Bucket=bucket, Key="c", Body=body, ChecksumCRC32=crc32)["ChecksumCRC32"]
        == crc32
    )
    assert (
        s3.put_object(Bucket=bucket, Key="s", Body=body, ChecksumSHA1=sha1)["ChecksumSHA1"] == sha1
    )


@pytest.mark.parametrize(
    ("algorithm", "compute"),
    [
        ("crc32c", lambda data: checksums.crc32c(data).to_bytes(4, "big")),
        ("crc64nvme", lambda data: checksums.crc64nvme(data).to_bytes(8, "big")),
    ],
)
def test_crc32c_and_crc64nvme_are_verified(
    zas: ZasProcess, s3: Any, bucket: str, algorithm: str, compute: Any
) -> None:
    url = f"{zas.endpoint}/{bucket}/{algorithm}"
    body = b"flexible checksum body" * 100
    good = base64.b64encode(compute(body)).decode()
    bad = base64.b64encode(compute(b"other")).decode()
    header = f"x-amz-checksum-{algorithm}"
    refused = send("PUT", url, sign_headers("PUT", url, headers={header: bad}, body=body), body)
    assert (refused.status, refused.code) == (400, "BadDigest"), refused
    _assert_absent(s3, bucket, algorithm)
    accepted = send("PUT", url, sign_headers("PUT", url, headers={header: good}, body=body), body)
    assert accepted.status == 200, accepted
    head = s3.head_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm.upper()}"] == good


def test_malformed_checksum_header_is_invalid_request(zas: ZasProcess, bucket: str) -> None:
    url = f"{zas.endpoint}/{bucket}/bad-checksum"
    headers = sign_headers("PUT", url, headers={"x-amz-checksum-crc32": "not-base64"}, body=b"b")
    response = send("PUT", url, headers, b"b")
    assert (response.status, response.code) == (400, "InvalidRequest"), response


def test_put_over_5_gib_is_entity_too_large_before_any_byte_is_stored(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    url = f"{zas.endpoint}/{bucket}/huge"
    headers = sign_headers("PUT", url, payload_hash="UNSIGNED-PAYLOAD")
    headers["Content-Length"] = str(5 * 1024**3 + 1)
    connection = http.client.HTTPConnection("127.0.0.1", zas.port, timeout=60)
    try:
        connection.putrequest("PUT", f"/{bucket}/huge")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(b"only a few bytes of the announced 5 GiB")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 400
    assert b"<Code>EntityTooLarge</Code>" in body
    _assert_absent(s3, bucket, "huge")
