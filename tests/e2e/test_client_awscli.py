"""The AWS CLI v1 (from PyPI, run with this interpreter) against a real `zas serve`.

Settings needed: path-style addressing and one attempt per request so that server errors are
not retried away. The multipart threshold is lowered to 8 MB with 5 MB parts (the S3 minimum) so
that a ~18 MB file goes up as a 4-part multipart upload, comes down in ranged GETs, and an
s3-to-s3 `cp`/`mv` of it uses UploadPartCopy; smaller copies use CopyObject. Everything else,
incl. botocore's default CRC32 request checksums, is stock.
High-level commands used: s3 mb/cp (up, down, s3-to-s3)/mv/sync (both ways, incl. --delete)/ls/
rm (incl. --recursive, which AWS CLI v1 does with one DeleteObject per key)/rb; s3api for
ranges, listings, tagging, DeleteObjects and the multipart upload calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import (
    TRICKY_NAME,
    CommandLineClient,
    assert_no_uploads,
    assert_stored,
    assert_stored_multipart,
    bucket_exists,
    bucket_name_fixture,
    client_env,
    list_keys,
    make_tree,
    md5_etag,
    other_bucket_fixture,
    random_bytes,
    read_tree,
    run,
    text,
)
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess

AWS_CONFIG = """\
[default]
region = us-east-1
max_attempts = 1
retry_mode = standard
s3 =
    addressing_style = path
    multipart_threshold = 8MB
    multipart_chunksize = 5MB
"""


class AwsCli(CommandLineClient):
    def __init__(self, zas: ZasProcess, tmp: Path) -> None:
        config = tmp / "aws-config"
        config.write_text(AWS_CONFIG)
        self.endpoint = zas.endpoint
        self.env = client_env(
            {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(config),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-credentials"),
                "AWS_PAGER": "",
            }
        )
        self.cwd = tmp

    def args(self, *args: str | Path) -> list[str | Path]:
        return [sys.executable, "-m", "awscli", "--endpoint-url", self.endpoint, *args]

    def __call__(self, *args: str | Path) -> str:
        return text(self.run(*args).stdout)

    def json(self, *args: str | Path) -> Any:
        return json.loads(self(*args, "--output", "json"))


@pytest.fixture
def aws(zas: ZasProcess, tmp_path: Path) -> AwsCli:
    return AwsCli(zas, tmp_path)


name = bucket_name_fixture("awscli")

PART = 5 * 1024 * 1024
other = other_bucket_fixture("awscli")


def test_awscli_lifecycle(aws: AwsCli, s3: Any, name: str, tmp_path: Path) -> None:
    assert "make_bucket: " + name in aws("s3", "mb", f"s3://{name}")
    assert bucket_exists(s3, name)
    assert name in aws("s3", "ls")

    src = tmp_path / "src"
    files = make_tree(src)

    # Single-file upload of the awkward key, then the whole tree with sync.
    tricky = f"docs/{TRICKY_NAME}"
    out = aws("s3", "cp", src / tricky, f"s3://{name}/single/{TRICKY_NAME}")
    assert "upload: " in out and TRICKY_NAME in out
    assert_stored(s3, name, f"single/{TRICKY_NAME}", files[tricky])

    out = aws("s3", "sync", src, f"s3://{name}/tree/")
    for rel in files:
        assert f"s3://{name}/tree/{rel}" in out, out
    assert list_keys(s3, name, "tree/") == sorted(f"tree/{rel}" for rel in files)
    for rel, data in files.items():
        assert_stored(s3, name, f"tree/{rel}", data)

    # A second sync has nothing to do.
    assert "upload:" not in aws("s3", "sync", src, f"s3://{name}/tree/")

    # Listings: high-level ls with a prefix, and s3api v1 + v2 with a prefix.
    out = aws("s3", "ls", f"s3://{name}/tree/docs/")
    assert TRICKY_NAME in out and "readme.md" in out and "blob.bin" not in out
    assert str(len(files[tricky])) in out
    out = aws("s3", "ls", f"s3://{name}/tree/")
    assert "PRE docs/" in out and "PRE bin/" in out and "one.txt" in out
    out = aws("s3", "ls", "--recursive", f"s3://{name}")
    assert f"tree/docs/{TRICKY_NAME}" in out and f"single/{TRICKY_NAME}" in out

    listed = aws.json("s3api", "list-objects-v2", "--bucket", name, "--prefix", "tree/docs/")
    contents = {o["Key"]: o for o in listed["Contents"]}
    assert sorted(contents) == ["tree/docs/readme.md", f"tree/{tricky}"]
    assert contents[f"tree/{tricky}"]["ETag"] == md5_etag(files[tricky])
    assert contents[f"tree/{tricky}"]["Size"] == len(files[tricky])
    listed = aws.json("s3api", "list-objects", "--bucket", name, "--prefix", "tree/b")
    assert [o["Key"] for o in listed["Contents"]] == ["tree/bin/blob.bin"]
    listed = aws.json(
        "s3api", "list-objects-v2", "--bucket", name, "--prefix", "tree/", "--delimiter", "/"
    )
    assert sorted(p["Prefix"] for p in listed["CommonPrefixes"]) == ["tree/bin/", "tree/docs/"]
    assert sorted(o["Key"] for o in listed["Contents"]) == ["tree/empty.dat", "tree/one.txt"]

    # Downloads: to stdout, one file, the whole tree back with sync.
    assert aws("s3", "cp", f"s3://{name}/tree/{tricky}", "-") == files[tricky].decode()
    dst = tmp_path / "dst"
    aws("s3", "cp", f"s3://{name}/tree/bin/blob.bin", dst / "blob.bin")
    assert (dst / "blob.bin").read_bytes() == files["bin/blob.bin"]
    back = tmp_path / "back"
    aws("s3", "sync", f"s3://{name}/tree/", back)
    assert read_tree(back) == files

    # Range reads through s3api.
    blob = files["bin/blob.bin"]
    part = tmp_path / "part"
    meta = aws.json(
        "s3api", "get-object", "--bucket", name, "--key", "tree/bin/blob.bin",
        "--range", "bytes=1000-70999", part,
    )  # fmt: skip
    assert part.read_bytes() == blob[1000:71000]
    assert meta["ContentLength"] == 70000
    assert meta["ContentRange"] == f"bytes 1000-70999/{len(blob)}"
    assert meta["ETag"] == md5_etag(blob)
    meta = aws.json(
        "s3api", "get-object", "--bucket", name, "--key", f"tree/{tricky}",
        "--range", "bytes=-5", part,
    )  # fmt: skip
    assert part.read_bytes() == files[tricky][-5:]

    head = aws.json("s3api", "head-object", "--bucket", name, "--key", f"tree/{tricky}")
    assert head["ContentLength"] == len(files[tricky])
    assert head["ETag"] == md5_etag(files[tricky])

    # Deletes: one object, sync --delete after a local removal, then rm --recursive.
    out = aws("s3", "rm", f"s3://{name}/single/{TRICKY_NAME}")
    assert f"delete: s3://{name}/single/{TRICKY_NAME}" in out
    assert list_keys(s3, name, "single/") == []
    (src / "one.txt").unlink()
    out = aws("s3", "sync", "--delete", src, f"s3://{name}/tree/")
    assert f"delete: s3://{name}/tree/one.txt" in out
    assert "tree/one.txt" not in list_keys(s3, name)
    out = aws("s3", "rm", "--recursive", f"s3://{name}/tree/")
    assert out.count("delete: ") == len(files) - 1
    assert list_keys(s3, name) == []

    assert "remove_bucket: " + name in aws("s3", "rb", f"s3://{name}")
    assert not bucket_exists(s3, name)


def test_awscli_rb_force_removes_bucket_with_objects(aws: AwsCli, s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    for i in range(3):
        s3.put_object(Bucket=name, Key=f"k/{i}+ {i}", Body=b"x" * i)
    out = aws.fails("s3", "rb", f"s3://{name}")
    assert "BucketNotEmpty" in out
    out = aws("s3", "rb", "--force", f"s3://{name}")
    assert "remove_bucket: " + name in out
    assert not bucket_exists(s3, name)


def test_awscli_errors(aws: AwsCli, s3: Any, name: str, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=name)

    out = aws.fails("s3", "cp", f"s3://{name}/no/such key", tmp_path / "x")
    assert "404" in out and "does not exist" in out, out
    out = aws.fails("s3api", "get-object", "--bucket", name, "--key", "missing", tmp_path / "x")
    assert "NoSuchKey" in out, out
    out = aws.fails("s3api", "head-object", "--bucket", name, "--key", "missing")
    assert "404" in out, out
    assert not (tmp_path / "x").exists()

    out = aws.fails("s3", "ls", f"s3://{name}-missing")
    assert "NoSuchBucket" in out, out
    out = aws.fails("s3", "mb", "s3://Invalid_Bucket_Name")
    assert "InvalidBucketName" in out, out
    out = aws.fails("s3", "mb", f"s3://{name}")
    assert "BucketAlreadyOwnedByYou" in out or "BucketAlreadyExists" in out, out

    out = aws.fails("s3api", "get-object", "--bucket", name, "--key", "k", "--range", "bytes=0-1",
                    tmp_path / "x")  # fmt: skip
    assert "NoSuchKey" in out, out


def test_awscli_put_object_with_sha256_checksum(
    aws: AwsCli, s3: Any, name: str, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=name)
    data = b"checked bytes\n" * 1000
    body = tmp_path / "body"
    body.write_bytes(data)
    good = base64.b64encode(hashlib.sha256(data).digest()).decode()

    put = aws.json("s3api", "put-object", "--bucket", name, "--key", "good", "--body", body,
                   "--checksum-sha256", good)  # fmt: skip
    assert put["ETag"] == md5_etag(data)
    head = aws.json("s3api", "head-object", "--bucket", name, "--key", "good",
                    "--checksum-mode", "ENABLED")  # fmt: skip
    assert head["ChecksumSHA256"] == good
    assert_stored(s3, name, "good", data)

    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    out = aws.fails("s3api", "put-object", "--bucket", name, "--key", "bad", "--body", body,
                    "--checksum-sha256", wrong)  # fmt: skip
    assert "BadDigest" in out or "InvalidRequest" in out, out
    assert list_keys(s3, name) == ["good"]


def test_awscli_put_object_with_wrong_crc32_is_rejected(
    aws: AwsCli, s3: Any, name: str, tmp_path: Path
) -> None:
    """botocore >= 1.36 sends x-amz-checksum-crc32 on every PutObject by default; S3 answers a
    wrong one with 400 BadDigest and stores nothing. Accepting it silently defeats the check."""
    s3.create_bucket(Bucket=name)
    data = b"crc checked bytes\n" * 1000
    body = tmp_path / "body"
    body.write_bytes(data)
    good = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    aws("s3api", "put-object", "--bucket", name, "--key", "good", "--body", body,
        "--checksum-crc32", good)  # fmt: skip
    assert_stored(s3, name, "good", data)

    out = aws.fails("s3api", "put-object", "--bucket", name, "--key", "bad", "--body", body,
                    "--checksum-crc32", "AAAAAA==")  # fmt: skip
    assert "BadDigest" in out or "InvalidRequest" in out, out
    assert list_keys(s3, name) == ["good"]


def test_awscli_multipart_copy_move_sync(
    aws: AwsCli, s3: Any, name: str, other: str, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=name)
    big = random_bytes(18 * 1024 * 1024 + 17, seed=1)  # 5 + 5 + 5 + 3 MiB: four parts
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "big.bin").write_bytes(big)
    (src / "sub" / "small.txt").write_bytes(b"small\n")

    # Upload above the threshold: CreateMultipartUpload, 4 x UploadPart, Complete.
    out = aws("s3", "cp", src / "big.bin", f"s3://{name}/up/big file.bin")
    assert "upload: " in out, out
    assert_stored_multipart(s3, name, "up/big file.bin", big, PART)
    assert_no_uploads(s3, name)
    # Download above the threshold (ranged GETs), compared byte for byte.
    down = tmp_path / "down.bin"
    aws("s3", "cp", f"s3://{name}/up/big file.bin", down)
    assert down.read_bytes() == big

    # The same from stdin (size unknown up front: parts until EOF) and back to stdout.
    run(aws.args("s3", "cp", "-", f"s3://{name}/up/stdin.bin"), env=aws.env, input=big)
    assert_stored_multipart(s3, name, "up/stdin.bin", big, PART)
    assert run(aws.args("s3", "cp", f"s3://{name}/up/stdin.bin", "-"), env=aws.env).stdout == big
    s3.delete_object(Bucket=name, Key="up/stdin.bin")

    # s3-to-s3 copies: the big one with UploadPartCopy across buckets, a small one with
    # CopyObject; then a move (copy + DeleteObject) of each.
    out = aws("s3", "cp", f"s3://{name}/up/big file.bin", f"s3://{other}/copy/big+copy.bin")
    assert f"copy: s3://{name}/up/big file.bin to s3://{other}/copy/big+copy.bin" in out, out
    assert_stored_multipart(s3, other, "copy/big+copy.bin", big, PART)
    s3.put_object(Bucket=name, Key=f"small/{TRICKY_NAME}", Body=b"tiny")
    aws("s3", "cp", f"s3://{name}/small/{TRICKY_NAME}", f"s3://{other}/copy/{TRICKY_NAME}")
    assert_stored(s3, other, f"copy/{TRICKY_NAME}", b"tiny")
    out = aws("s3", "mv", f"s3://{other}/copy/big+copy.bin", f"s3://{other}/moved/big.bin")
    assert "move: " in out, out
    out = aws("s3", "mv", f"s3://{other}/copy/{TRICKY_NAME}", f"s3://{other}/moved/tiny")
    assert list_keys(s3, other) == ["moved/big.bin", "moved/tiny"]
    assert_stored_multipart(s3, other, "moved/big.bin", big, PART)
    assert_stored(s3, other, "moved/tiny", b"tiny")
    assert_no_uploads(s3, other)

    # sync both ways with the multipart file in the tree; a second sync has nothing to do.
    out = aws("s3", "sync", src, f"s3://{name}/tree/")
    assert out.count("upload: ") == 2, out
    assert_stored_multipart(s3, name, "tree/big.bin", big, PART)
    assert_stored(s3, name, "tree/sub/small.txt", b"small\n")
    back = tmp_path / "back"
    out = aws("s3", "sync", f"s3://{name}/tree/", back)
    assert out.count("download: ") == 2, out
    assert read_tree(back) == read_tree(src)
    assert "upload:" not in aws("s3", "sync", src, f"s3://{name}/tree/")

    # Tagging through s3api (the request body carries a CRC32, not Content-MD5).
    aws("s3api", "put-object-tagging", "--bucket", name, "--key", "up/big file.bin",
        "--tagging", "TagSet=[{Key=build,Value=42},{Key=stage,Value=ci test}]")  # fmt: skip
    tags = aws.json("s3api", "get-object-tagging", "--bucket", name, "--key", "up/big file.bin")
    assert sorted((t["Key"], t["Value"]) for t in tags["TagSet"]) == [
        ("build", "42"), ("stage", "ci test"),
    ]  # fmt: skip
    got = s3.get_object_tagging(Bucket=name, Key="up/big file.bin")["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == {"build": "42", "stage": "ci test"}

    # An interrupted multipart upload: listed with its part, then aborted.
    created = aws.json("s3api", "create-multipart-upload", "--bucket", name, "--key", "partial")
    upload_id = created["UploadId"]
    part = tmp_path / "part"
    part.write_bytes(big[:PART])
    uploaded = aws.json("s3api", "upload-part", "--bucket", name, "--key", "partial",
                        "--part-number", "1", "--upload-id", upload_id, "--body", part)  # fmt: skip
    assert uploaded["ETag"] == md5_etag(big[:PART])
    listed = aws.json("s3api", "list-multipart-uploads", "--bucket", name)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [("partial", upload_id)]
    parts = aws.json("s3api", "list-parts", "--bucket", name, "--key", "partial",
                     "--upload-id", upload_id)  # fmt: skip
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts["Parts"]] == [
        (1, uploaded["ETag"], PART)
    ]
    aws("s3api", "abort-multipart-upload", "--bucket", name, "--key", "partial",
        "--upload-id", upload_id)  # fmt: skip
    assert_no_uploads(s3, name)
    assert "partial" not in list_keys(s3, name)

    # DeleteObjects through s3api, then rm --recursive for the rest.
    deleted = aws.json("s3api", "delete-objects", "--bucket", name, "--delete",
                       json.dumps({"Objects": [{"Key": "up/big file.bin"},
                                               {"Key": f"small/{TRICKY_NAME}"},
                                               {"Key": "never/existed"}]}))  # fmt: skip
    assert sorted(d["Key"] for d in deleted["Deleted"]) == sorted(
        ["up/big file.bin", f"small/{TRICKY_NAME}", "never/existed"]
    )
    assert not deleted.get("Errors"), deleted
    assert list_keys(s3, name) == ["tree/big.bin", "tree/sub/small.txt"]
    out = aws("s3", "rm", "--recursive", f"s3://{name}/")
    assert out.count("delete: ") == 2, out
    assert list_keys(s3, name) == []
