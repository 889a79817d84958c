"""s3cmd (Debian package) against a real `zas serve`.

Settings needed, in a temp config file: host_base = host_bucket = 127.0.0.1:PORT (path style),
use_https = False, signature_v2 = False, bucket_location = us-east-1, enable_multipart = False
(ZAS has no multipart yet; `put --disable-multipart` too). `del --recursive --force` uses
multi-object delete (POST ?delete), which ZAS does not implement yet, so objects are deleted one
by one. s3cmd has no range option; `get --continue` resumes a partial file with a Range request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import (
    TRICKY_NAME,
    assert_stored,
    bucket_exists,
    bucket_name_fixture,
    client_env,
    list_keys,
    make_tree,
    md5_etag,
    require_binary,
    run,
    run_fails,
    text,
)
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess


class S3cmd:
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
            "enable_multipart = False\n"
            "socket_timeout = 30\n"
            "max_retries = 1\n"
            "progress_meter = False\n"
        )
        self.env = client_env({"HOME": str(tmp)})
        self.cwd = tmp

    def args(self, *args: str | Path) -> list[str | Path]:
        return [self.binary, "-c", self.config, *args]

    def __call__(self, *args: str | Path) -> str:
        proc = run(self.args(*args), env=self.env, cwd=self.cwd)
        return text(proc.stdout) + text(proc.stderr)

    def fails(self, *args: str | Path) -> str:
        return run_fails(self.args(*args), env=self.env, cwd=self.cwd)


@pytest.fixture
def s3cmd(zas: ZasProcess, tmp_path: Path) -> S3cmd:
    return S3cmd(zas, tmp_path)


name = bucket_name_fixture("s3cmd")


def test_s3cmd_lifecycle(s3cmd: S3cmd, s3: Any, name: str, tmp_path: Path) -> None:
    assert f"Bucket 's3://{name}/' created" in s3cmd("mb", f"s3://{name}")
    assert bucket_exists(s3, name)
    assert f"s3://{name}" in s3cmd("ls")

    src = tmp_path / "src"
    files = make_tree(src)
    tricky = f"docs/{TRICKY_NAME}"
    for rel in files:
        out = s3cmd("put", "--disable-multipart", src / rel, f"s3://{name}/{rel}")
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

    # Deletes, one key at a time, then the bucket.
    out = s3cmd.fails("rb", f"s3://{name}")
    assert "BucketNotEmpty" in out, out
    for rel in files:
        assert f"delete: 's3://{name}/{rel}'" in s3cmd("del", f"s3://{name}/{rel}")
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
