"""s3cmd (Debian package) against a real `zas serve`.

Settings needed, in a temp config file: host_base = host_bucket = 127.0.0.1:PORT (path style),
use_https = False, signature_v2 = False, bucket_location = us-east-1, max_retries = 1. Multipart
is s3cmd's default: a file above `--multipart-chunk-size-mb=5` goes up in 5 MB parts (s3cmd keeps
the whole file's MD5 in x-amz-meta-s3cmd-attrs, which `info` shows). `cp`/`mv` between buckets
are one CopyObject each (+ DeleteObject for mv), `del --recursive --force` is multi-object delete
(POST ?delete with Content-MD5), `multipart`/`listmp`/`abortmp` list and abort an interrupted
upload. s3cmd 2.3 has no tagging commands and no range option; `get --continue` resumes a
partial file with a Range request.
"""

from __future__ import annotations

import hashlib
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
    require_binary,
)
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess


class S3cmd(CommandLineClient):
    def __init__(self, zas: ZasProcess, tmp: Path) -> None:
        self.binary = require_binary("s3cmd")
        host = zas.endpoint.removeprefix("http://")
        self.config = tmp / "s3cfg"
        self.config.write_text(
            "[default]\n"
            f"access_key = {ACCESS_KEY}\n"
            f"secret_key = {SECRET_KEY}\n"
            f"host_base = {host}\n"
            f"host_bucket = {host}\n"
            "use_https = False\n"
            "signature_v2 = False\n"
            "bucket_location = us-east-1\n"
            "socket_timeout = 30\n"
            "max_retries = 1\n"
            "progress_meter = False\n"
        )
        self.env = client_env({"HOME": str(tmp)})
        self.cwd = tmp

    def args(self, *args: str | Path) -> list[str | Path]:
        return [self.binary, "-c", self.config, *args]


@pytest.fixture
def s3cmd(zas: ZasProcess, tmp_path: Path) -> S3cmd:
    return S3cmd(zas, tmp_path)


name = bucket_name_fixture("s3cmd")
other = other_bucket_fixture("s3cmd")
PART = 5 * 1024 * 1024


def test_s3cmd_lifecycle(s3cmd: S3cmd, s3: Any, name: str, tmp_path: Path) -> None:
    assert f"Bucket 's3://{name}/' created" in s3cmd("mb", f"s3://{name}")
    assert bucket_exists(s3, name)
    assert f"s3://{name}" in s3cmd("ls")

    src = tmp_path / "src"
    files = make_tree(src)
    tricky = f"docs/{TRICKY_NAME}"
    for rel in files:
        out = s3cmd("put", src / rel, f"s3://{name}/{rel}")
        assert f"-> 's3://{name}/{rel}'" in out, out
    assert list_keys(s3, name) == sorted(files)
    for rel, data in files.items():
        assert_stored(s3, name, rel, data)

    # Listings: with a prefix, recursive, and the top level with its "directories".
    out = s3cmd("ls", f"s3://{name}/docs/")
    assert f"s3://{name}/{tricky}" in out and f"s3://{name}/docs/readme.md" in out, out
    assert "blob.bin" not in out and "one.txt" not in out
    out = s3cmd("ls", f"s3://{name}/")
    assert f"DIR  s3://{name}/bin/" in out and f"DIR  s3://{name}/docs/" in out, out
    assert f"s3://{name}/one.txt" in out and f"s3://{name}/bin/blob.bin" not in out
    out = s3cmd("ls", "--recursive", f"s3://{name}")
    listed = sorted(line.split(f"s3://{name}/", 1)[1] for line in out.splitlines() if line)
    assert listed == sorted(files), out

    # info: size and MD5 as the server reports them.
    out = s3cmd("info", f"s3://{name}/{tricky}")
    assert f"File size: {len(files[tricky])}" in out, out
    assert f"MD5 sum:   {md5_etag(files[tricky]).strip(chr(34))}" in out, out

    # Downloads, compared byte for byte.
    dst = tmp_path / "dst"
    dst.mkdir()
    for rel, data in files.items():
        target = dst / rel.replace("/", "_")
        s3cmd("get", f"s3://{name}/{rel}", target)
        assert target.read_bytes() == data, rel

    # Range read: `get --continue` asks only for the bytes after the partial file. The partial
    # file holds zeros, not the real prefix, so a full download would be noticed.
    blob = files["bin/blob.bin"]
    partial = tmp_path / "partial.bin"
    partial.write_bytes(bytes(40000))
    out = s3cmd("get", "--continue", f"s3://{name}/bin/blob.bin", partial)
    assert partial.read_bytes() == bytes(40000) + blob[40000:], out
    assert "MD5 signatures do not match" in out, out

    # Deletes: one key, then the rest with multi-object delete, then the bucket.
    out = s3cmd.fails("rb", f"s3://{name}")
    assert "BucketNotEmpty" in out, out
    assert f"delete: 's3://{name}/{tricky}'" in s3cmd("del", f"s3://{name}/{tricky}")
    assert tricky not in list_keys(s3, name)
    out = s3cmd("del", "--recursive", "--force", f"s3://{name}")
    for rel in files:
        if rel != tricky:
            assert f"delete: 's3://{name}/{rel}'" in out, out
    assert list_keys(s3, name) == []
    assert f"Bucket 's3://{name}/' removed" in s3cmd("rb", f"s3://{name}")
    assert not bucket_exists(s3, name)


def test_s3cmd_errors(s3cmd: S3cmd, s3: Any, name: str, tmp_path: Path) -> None:
    out = s3cmd.fails("mb", "s3://Invalid_Bucket_Name")
    assert "InvalidBucketName" in out, out
    out = s3cmd.fails("ls", f"s3://{name}")
    assert "NoSuchBucket" in out, out

    s3.create_bucket(Bucket=name)
    out = s3cmd.fails("info", f"s3://{name}/no such key")
    assert "404" in out and "NoSuchKey" in out, out
    out = s3cmd.fails("get", f"s3://{name}/no such key", tmp_path / "x")
    assert "does not exist" in out, out
    assert not (tmp_path / "x").exists()
    out = s3cmd.fails("mb", f"s3://{name}")
    assert "BucketAlreadyOwnedByYou" in out or "BucketAlreadyExists" in out, out


def test_s3cmd_multipart_copy_move_sync(
    s3cmd: S3cmd, s3: Any, name: str, other: str, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=name)
    big = random_bytes(14 * 1024 * 1024 + 5, seed=3)  # 5 + 5 + 4 MiB: three parts
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "big.bin").write_bytes(big)
    (src / "sub" / "small.txt").write_bytes(b"small\n")

    out = s3cmd("put", "--multipart-chunk-size-mb=5", src / "big.bin", f"s3://{name}/up/big.bin")
    assert f"-> 's3://{name}/up/big.bin'" in out, out  # the ETag below shows the parts
    assert_stored_multipart(s3, name, "up/big.bin", big, PART)
    assert_no_uploads(s3, name)
    out = s3cmd("info", f"s3://{name}/up/big.bin")
    assert f"File size: {len(big)}" in out, out
    assert f"MD5 sum:   {hashlib.md5(big).hexdigest()}" in out, out
    s3cmd("get", f"s3://{name}/up/big.bin", tmp_path / "down.bin")
    assert (tmp_path / "down.bin").read_bytes() == big

    # Server-side copy across buckets, then a move within the target bucket.
    out = s3cmd("cp", f"s3://{name}/up/big.bin", f"s3://{other}/copy/{TRICKY_NAME}")
    assert "remote copy: " in out, out
    assert s3.get_object(Bucket=other, Key=f"copy/{TRICKY_NAME}")["Body"].read() == big
    out = s3cmd("mv", f"s3://{other}/copy/{TRICKY_NAME}", f"s3://{other}/moved/big.bin")
    assert "move: " in out, out
    assert list_keys(s3, other) == ["moved/big.bin"]
    assert s3.get_object(Bucket=other, Key="moved/big.bin")["Body"].read() == big
    # s3cmd's own metadata (with the MD5) travels with the copy.
    out = s3cmd("info", f"s3://{other}/moved/big.bin")
    assert f"MD5 sum:   {hashlib.md5(big).hexdigest()}" in out, out

    # sync both ways with the multipart file in the tree; a second sync has nothing to do.
    s3cmd("sync", "--multipart-chunk-size-mb=5", f"{src}/", f"s3://{name}/tree/")
    assert_stored_multipart(s3, name, "tree/big.bin", big, PART)
    assert_stored(s3, name, "tree/sub/small.txt", b"small\n")
    back = tmp_path / "back"
    back.mkdir()
    s3cmd("sync", f"s3://{name}/tree/", f"{back}/")
    assert read_tree(back) == read_tree(src)
    out = s3cmd("sync", "--multipart-chunk-size-mb=5", f"{src}/", f"s3://{name}/tree/")
    assert "upload:" not in out, out

    # An interrupted multipart upload: listed with its part, then aborted.
    upload_id = s3.create_multipart_upload(Bucket=name, Key="partial")["UploadId"]
    s3.upload_part(Bucket=name, Key="partial", UploadId=upload_id, PartNumber=1, Body=big[:PART])
    out = s3cmd("multipart", f"s3://{name}")
    assert f"s3://{name}/partial\t{upload_id}" in out, out
    out = s3cmd("listmp", f"s3://{name}/partial", upload_id)
    assert md5_etag(big[:PART]) in out and str(PART) in out, out
    s3cmd("abortmp", f"s3://{name}/partial", upload_id)
    assert_no_uploads(s3, name)

    # Multi-object delete of everything, then both buckets.
    out = s3cmd("del", "--recursive", "--force", f"s3://{name}")
    assert out.count("delete: ") == 3, out
    assert list_keys(s3, name) == []
    s3cmd("rb", f"s3://{name}")
    s3cmd("rb", "--recursive", "--force", f"s3://{other}")
    assert not bucket_exists(s3, name) and not bucket_exists(s3, other)
