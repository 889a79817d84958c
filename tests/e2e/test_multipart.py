"""Multipart uploads through boto3: the low-level calls, managed transfers, limits, errors."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.e2e.test_objects import error_of
from tests.zasproc import ZasProcess

MIB = 1024 * 1024


def part_bytes(index: int, size: int = 5 * MIB) -> bytes:
    return bytes([index % 256]) * size


def s3_etag(parts: list[bytes]) -> str:
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def upload(s3: Any, bucket: str, key: str, parts: list[bytes], **create: Any) -> dict[str, Any]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data)["ETag"]
        for n, data in enumerate(parts, start=1)
    ]
    result: dict[str, Any] = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    return result


def test_complete_upload_concatenates_parts_with_the_s3_etag(s3: Any, bucket: str) -> None:
    parts = [part_bytes(1), part_bytes(2), b"tail"]
    result = upload(s3, bucket, "mp", parts, ContentType="application/x-tar", Metadata={"a": "b"})
    assert result["ETag"] == s3_etag(parts)
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == b"".join(parts)
    assert got["ETag"] == s3_etag(parts)
    assert got["ContentType"] == "application/x-tar"
    assert got["Metadata"] == {"a": "b"}
    assert got["ContentLength"] == 10 * MIB + 4


def test_ranges_across_part_boundaries_and_part_number_reads(s3: Any, bucket: str) -> None:
    parts = [part_bytes(1), part_bytes(2), b"xyz"]
    whole = b"".join(parts)
    upload(s3, bucket, "mp", parts)
    start = 5 * MIB - 3
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={start}-{start + 5}")
    assert got["Body"].read() == whole[start : start + 6]
    tail = s3.get_object(Bucket=bucket, Key="mp", Range="bytes=-5")["Body"].read()
    assert tail == whole[-5:]
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == parts[1]
    assert second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {5 * MIB}-{10 * MIB - 1}/{len(whole)}"
    head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=3)
    assert head["ContentLength"] == 3


def test_list_parts_paginates_and_a_missing_part_can_be_resent(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="resume")["UploadId"]
    sent = {}
    for n in (1, 2, 4):
        sent[n] = s3.upload_part(
            Bucket=bucket, Key="resume", UploadId=upload_id, PartNumber=n, Body=part_bytes(n)
        )["ETag"]
    page = s3.list_parts(Bucket=bucket, Key="resume", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    assert page["IsTruncated"] is True
    rest = s3.list_parts(
        Bucket=bucket,
        Key="resume",
        UploadId=upload_id,
        PartNumberMarker=page["NextPartNumberMarker"],
    )
    assert [p["PartNumber"] for p in rest["Parts"]] == [4]
    assert rest["Parts"][0]["ETag"] == sent[4]
    # The client finds part 3 missing and sends it; then completes.
    sent[3] = s3.upload_part(
        Bucket=bucket, Key="resume", UploadId=upload_id, PartNumber=3, Body=part_bytes(3)
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="resume",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": sent[n]} for n in (1, 2, 3, 4)]},
    )
    body = s3.get_object(Bucket=bucket, Key="resume")["Body"].read()
    assert body == b"".join(part_bytes(n) for n in (1, 2, 3, 4))


def _complete_error(
    s3: Any, bucket: str, key: str, upload_id: str, parts: list[dict[str, Any]]
) -> tuple[int, str]:
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    return error_of(excinfo)


def test_completion_errors_and_nothing_becomes_visible(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    small = s3.upload_part(
        Bucket=bucket, Key="bad", UploadId=upload_id, PartNumber=1, Body=b"tiny"
    )["ETag"]
    big = s3.upload_part(
        Bucket=bucket, Key="bad", UploadId=upload_id, PartNumber=2, Body=part_bytes(2)
    )["ETag"]
    assert _complete_error(
        s3,
        bucket,
        "bad",
        upload_id,
        [
            {"PartNumber": 1, "ETag": small},
            {"PartNumber": 2, "ETag": big},
        ],
    ) == (400, "EntityTooSmall")
    assert _complete_error(
        s3,
        bucket,
        "bad",
        upload_id,
        [
            {"PartNumber": 2, "ETag": big},
            {"PartNumber": 1, "ETag": small},
        ],
    ) == (400, "InvalidPartOrder")
    assert _complete_error(
        s3,
        bucket,
        "bad",
        upload_id,
        [
            {"PartNumber": 2, "ETag": '"00000000000000000000000000000000"'},
        ],
    ) == (400, "InvalidPart")
    assert _complete_error(
        s3,
        bucket,
        "bad",
        upload_id,
        [
            {"PartNumber": 3, "ETag": big},
        ],
    ) == (400, "InvalidPart")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")
    # The upload survives failed completions and can still complete.
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="bad",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": big}]},
    )
    assert s3.head_object(Bucket=bucket, Key="bad")["ContentLength"] == 5 * MIB


def test_unknown_upload_id_is_no_such_upload(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="k", UploadId="nope", PartNumber=1, Body=b"x")
    assert error_of(excinfo) == (404, "NoSuchUpload")
    assert _complete_error(s3, bucket, "k", "nope", [{"PartNumber": 1, "ETag": '"x"'}]) == (
        404,
        "NoSuchUpload",
    )
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="k", UploadId="nope")
    assert error_of(excinfo) == (404, "NoSuchUpload")


def test_abort_removes_the_upload_and_its_part_blobs(s3: Any, bucket: str, zas: ZasProcess) -> None:
    unique = os.urandom(5 * MIB)
    digest = hashlib.sha256(unique).hexdigest()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=upload_id, PartNumber=1, Body=unique)
    blob = zas.data_dir / "blobs" / "sha256" / digest[:2] / digest
    assert blob.exists()
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [("gone", upload_id)]
    assert (
        s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=upload_id)[
            "ResponseMetadata"
        ]["HTTPStatusCode"]
        == 204
    )
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    assert not blob.exists()


def test_list_multipart_uploads_with_prefix_delimiter_and_markers(s3: Any, bucket: str) -> None:
    created = {}
    for key in ["a/1", "a/2", "b", "c/x"]:
        created[key] = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    top = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in top["Uploads"]] == ["b"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "c/"]
    paginator = s3.get_paginator("list_multipart_uploads")
    seen = [
        u["Key"]
        for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 1})
        for u in page.get("Uploads", [])
    ]
    assert seen == ["a/1", "a/2", "b", "c/x"]
    prefixed = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert [u["UploadId"] for u in prefixed["Uploads"]] == sorted(
        [created["a/1"], created["a/2"]], key=lambda u: 0 if u == created["a/1"] else 1
    )


def test_managed_transfers_with_a_low_threshold_round_trip(
    s3: Any, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "artifact.bin"
    data = os.urandom(23 * MIB)
    source.write_bytes(data)
    config = TransferConfig(
        multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4
    )
    s3.upload_file(str(source), bucket, "managed/artifact.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="managed/artifact.bin")
    assert head["ETag"].endswith('-5"')
    target = tmp_path / "download.bin"
    s3.download_file(bucket, "managed/artifact.bin", str(target), Config=config)
    assert target.read_bytes() == data


def test_default_boto3_upload_file_with_crc_checksums(s3: Any, bucket: str, tmp_path: Path) -> None:
    """Stock settings: current boto3 asks for CRC checksums on every part and the object."""
    source = tmp_path / "stock.bin"
    data = os.urandom(9 * MIB)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(source), bucket, "stock.bin", Config=config)
    got = s3.get_object(Bucket=bucket, Key="stock.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == data


def test_composite_crc32_checksum_of_a_multipart_upload(s3: Any, bucket: str) -> None:
    parts = [part_bytes(7), b"end"]
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="crc", ChecksumAlgorithm="CRC32", ChecksumType="COMPOSITE"
    )["UploadId"]
    sent = [
        s3.upload_part(
            Bucket=bucket,
            Key="crc",
            UploadId=upload_id,
            PartNumber=n,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        for n, data in enumerate(parts, 1)
    ]
    result = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="crc",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]}
                for n, r in enumerate(sent, 1)
            ]
        },
    )
    assert result["ChecksumCRC32"].endswith("-2")
    head = s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == result["ChecksumCRC32"]


def test_whole_object_sha256_is_computed_after_completion(s3: Any, bucket: str) -> None:
    parts = [part_bytes(3), b"sha tail"]
    upload(s3, bucket, "hashed", parts)
    # Reported once the post-completion pass has run (seconds at most for 5 MiB).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        head = s3.head_object(Bucket=bucket, Key="hashed", ChecksumMode="ENABLED")
        if "ChecksumSHA256" in head:
            break
        time.sleep(0.1)
    expected = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    assert head.get("ChecksumSHA256") == expected


def test_upload_part_copy_with_ranges(s3: Any, bucket: str) -> None:
    source = os.urandom(12 * MIB)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=f"bytes=0-{6 * MIB - 1}",
    )["CopyPartResult"]["ETag"]
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=f"bytes={6 * MIB}-{12 * MIB - 1}",
    )["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": first}, {"PartNumber": 2, "ETag": second}]
        },
    )
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source


def test_incomplete_uploads_expire_and_their_parts_are_collected(fresh_zas: ZasProcess) -> None:
    fresh_zas.extra_env["ZAS_MULTIPART_EXPIRY_DAYS"] = "0.00001"  # under a second
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="expiry")
    unique = os.urandom(1024)
    digest = hashlib.sha256(unique).hexdigest()
    upload_id = s3.create_multipart_upload(Bucket="expiry", Key="stale")["UploadId"]
    s3.upload_part(Bucket="expiry", Key="stale", UploadId=upload_id, PartNumber=1, Body=unique)
    assert fresh_zas.stop() == 0
    time.sleep(1.0)
    s3 = fresh_zas.start().client()  # the expiry sweep runs at start-up
    deadline = time.monotonic() + 30
    while "Uploads" in s3.list_multipart_uploads(Bucket="expiry") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="expiry")
    assert not (fresh_zas.data_dir / "blobs" / "sha256" / digest[:2] / digest).exists()


def test_default_upload_fileobj_and_download_fileobj(s3: Any, bucket: str) -> None:
    data = os.urandom(11 * MIB)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "fileobj.bin", Config=config)
    out = io.BytesIO()
    s3.download_fileobj(bucket, "fileobj.bin", out, Config=config)
    assert out.getvalue() == data
