"""Shared helpers for the end-to-end tests that drive real S3 clients against `zas serve`.

Each client (AWS CLI v1, curl, rclone, s3cmd, the AWS SDK for JavaScript v3 under Node.js) runs
as a subprocess with a scrubbed environment (no AWS_*/RCLONE_* settings leak in from the host,
e.g. AWS_CA_BUNDLE, which makes rclone refuse to start) and a hard timeout. What the clients
upload is checked independently with boto3.
"""

from __future__ import annotations

import abc
import hashlib
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.zasproc import ACCESS_KEY, SECRET_KEY

TIMEOUT = 60.0
REGION = "us-east-1"

# A key that exercises URL encoding and SigV4 canonicalisation: space, '+', non-ASCII.
TRICKY_NAME = "sp ace+plus ünï€.txt"


def client_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The host environment minus anything that configures an S3 client, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("AWS_", "RCLONE_", "S3CMD_", "BOTO_"))
        and k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["LC_ALL"] = "C.UTF-8"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


def describe(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (
        f"command: {proc.args!r}\nexit status: {proc.returncode}\n"
        f"--- stdout ---\n{text(proc.stdout)}\n--- stderr ---\n{text(proc.stderr)}"
    )


def text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    input: bytes | None = None,
    check: bool = True,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run a client; with `check`, a non-zero exit fails the test with the full output."""
    proc = subprocess.run(
        [os.fspath(a) for a in args],
        env=dict(env),
        cwd=cwd,
        input=input,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError("client command failed\n" + describe(proc))
    return proc


def run_fails(
    args: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str], cwd: Path | None = None
) -> str:
    """Run a client that must fail; return stdout + stderr for assertions on the message."""
    proc = run(args, env=env, cwd=cwd, check=False)
    assert proc.returncode != 0, "client command unexpectedly succeeded\n" + describe(proc)
    return text(proc.stdout) + text(proc.stderr)


def require_binary(name: str, package: str | None = None) -> str:
    """The binary's path; a missing client is a failure (with the fix), never a skip."""
    path = shutil.which(name)
    if path is None:
        pkg = package or name
        pytest.fail(
            f"required client binary {name!r} not found on PATH; "
            f"install it with `apt-get install -y {pkg}` (Debian package {pkg!r})",
            pytrace=False,
        )
    return path


def unique_bucket(client: str) -> str:
    return f"e2e-{client}-{uuid.uuid4().hex[:10]}"


def bucket_name_fixture(client: str) -> Any:
    """A `name` fixture: a fresh bucket name for `client`, cleaned up after the test."""

    @pytest.fixture
    def name(s3: Any, request: pytest.FixtureRequest) -> str:
        bucket = unique_bucket(client)
        request.addfinalizer(lambda: remove_bucket_quietly(s3, bucket))
        return bucket

    return name


def other_bucket_fixture(client: str) -> Any:
    """An `other` fixture: a second, existing bucket for `client` (cross-bucket copies)."""

    @pytest.fixture
    def other(s3: Any, request: pytest.FixtureRequest) -> str:
        bucket = unique_bucket(client + "2")
        s3.create_bucket(Bucket=bucket)
        request.addfinalizer(lambda: remove_bucket_quietly(s3, bucket))
        return bucket

    return other


def make_tree(root: Path) -> dict[str, bytes]:
    """Write a small tree of files under `root`; return {relative posix path: content}."""
    rng = random.Random(0x2A5)
    files = {
        "one.txt": b"one\n",
        f"docs/{TRICKY_NAME}": "tricky key ✓ + spaces\n".encode(),
        "docs/readme.md": b"# readme\n" * 50,
        # Larger than one socket read / 64 KiB buffer, below every multipart threshold.
        "bin/blob.bin": rng.randbytes(300 * 1024 + 17),
        "empty.dat": b"",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def list_keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return sorted(keys)


def assert_stored(s3: Any, bucket: str, key: str, data: bytes) -> None:
    """Check with boto3 that `key` holds exactly `data`, with ETag = MD5 of the bytes."""
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(data), (key, head)
    assert head["ETag"] == md5_etag(data), (key, head["ETag"])
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == data, f"stored bytes of {key!r} differ from what was uploaded"
    assert got["ETag"] == md5_etag(data)


def random_bytes(size: int, seed: int = 0x2A5) -> bytes:
    return random.Random(seed).randbytes(size)


def multipart_etag(data: bytes, part_size: int) -> str:
    """The ETag S3 gives an object uploaded in `part_size` parts: MD5 of the part MD5s, -N."""
    digests = [
        hashlib.md5(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)
    ]
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def assert_stored_multipart(s3: Any, bucket: str, key: str, data: bytes, part_size: int) -> None:
    """Check with boto3 that `key` holds exactly `data`, uploaded in parts of `part_size`."""
    etag = multipart_etag(data, part_size)
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(data), (key, head)
    assert head["ETag"] == etag, (key, head["ETag"], etag)
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert len(got) == len(data) and got == data, f"stored bytes of {key!r} differ"


def assert_no_uploads(s3: Any, bucket: str) -> None:
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert uploads == [], uploads


def bucket_exists(s3: Any, bucket: str) -> bool:
    return bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def remove_bucket_quietly(s3: Any, bucket: str) -> None:
    """Test teardown: drop what a failed test left behind (uploads, then one object at a time)."""
    try:
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        for key in list_keys(s3, bucket):
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
    except Exception:
        pass


CREDENTIALS = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}


class CommandLineClient(abc.ABC):
    """A client binary run as a subprocess with its own environment and working directory."""

    env: dict[str, str]
    cwd: Path

    @abc.abstractmethod
    def args(self, *args: str | Path) -> list[str | Path]:
        """The full command line for one invocation."""

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
        return run(self.args(*args), env=self.env, cwd=self.cwd)

    def __call__(self, *args: str | Path) -> str:
        """stdout + stderr of a command that must succeed (some clients report on stderr)."""
        proc = self.run(*args)
        return text(proc.stdout) + text(proc.stderr)

    def fails(self, *args: str | Path) -> str:
        return run_fails(self.args(*args), env=self.env, cwd=self.cwd)
