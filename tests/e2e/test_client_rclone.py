"""rclone (Debian package) against a real `zas serve`.

Settings needed: the remote comes from RCLONE_CONFIG_ZAS_* variables (type s3, provider Other,
path style, region us-east-1) with an empty config file; one attempt per operation so that
server errors are not retried away. `--s3-upload-cutoff 5M --s3-chunk-size 5M` make a 12 MB file
a 3-part multipart upload (rclone keeps the whole file's MD5 in x-amz-meta-md5chksum for
`check`); a server-side `copyto` within the remote is one CopyObject, or UploadPartCopy parts
with `--s3-copy-cutoff 5M`. rclone 1.60 deletes with one DeleteObject per key (`delete`,
`purge`; `purge` asks GetBucketVersioning first) and has no batch delete; `backend cleanup`
lists and aborts incomplete multipart uploads. AWS_CA_BUNDLE must not be inherited (rclone then
refuses to start: "LoadCustomCABundleError ... unsupported transport"), which
clients.client_env takes care of.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
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
    other_bucket_fixture,
    random_bytes,
    read_tree,
    require_binary,
)
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess

FLAGS = [
    "--s3-upload-cutoff", "5M",
    "--s3-chunk-size", "5M",
    "--retries", "1",
    "--low-level-retries", "1",
    "--contimeout", "10s",
    "--timeout", "30s",
]  # fmt: skip


class Rclone(CommandLineClient):
    def __init__(self, zas: ZasProcess, tmp: Path) -> None:
        self.binary = require_binary("rclone")
        config = tmp / "rclone.conf"
        config.write_text("")
        self.env = client_env(
            {
                "RCLONE_CONFIG": str(config),
                "RCLONE_CONFIG_ZAS_TYPE": "s3",
                "RCLONE_CONFIG_ZAS_PROVIDER": "Other",
                "RCLONE_CONFIG_ZAS_ENDPOINT": zas.endpoint,
                "RCLONE_CONFIG_ZAS_ACCESS_KEY_ID": ACCESS_KEY,
                "RCLONE_CONFIG_ZAS_SECRET_ACCESS_KEY": SECRET_KEY,
                "RCLONE_CONFIG_ZAS_REGION": "us-east-1",
                "RCLONE_CONFIG_ZAS_FORCE_PATH_STYLE": "true",
            }
        )
        self.cwd = tmp

    def args(self, *args: str | Path) -> list[str | Path]:
        return [self.binary, *args, *FLAGS]

    def stdout(self, *args: str | Path) -> bytes:
        return self.run(*args).stdout


@pytest.fixture
def rclone(zas: ZasProcess, tmp_path: Path) -> Rclone:
    return Rclone(zas, tmp_path)


name = bucket_name_fixture("rclone")
other = other_bucket_fixture("rclone")
PART = 5 * 1024 * 1024


def test_rclone_lifecycle(rclone: Rclone, s3: Any, name: str, tmp_path: Path) -> None:
    rclone("mkdir", f"zas:{name}")
    assert bucket_exists(s3, name)
    assert name in rclone.stdout("lsd", "zas:").decode()

    src = tmp_path / "src"
    files = make_tree(src)
    mtime = datetime(2021, 5, 4, 3, 2, 1, tzinfo=UTC).timestamp()
    for rel in files:
        os.utime(src / rel, (mtime, mtime))
    tricky = f"docs/{TRICKY_NAME}"

    # One file with copyto, the tree with copy.
    rclone("copyto", src / tricky, f"zas:{name}/single/{TRICKY_NAME}")
    assert_stored(s3, name, f"single/{TRICKY_NAME}", files[tricky])
    out = rclone("copy", "-v", src, f"zas:{name}/tree")
    assert f"Transferred:            {len(files)} / {len(files)}, 100%" in out, out
    assert list_keys(s3, name, "tree/") == sorted(f"tree/{rel}" for rel in files)
    for rel, data in files.items():
        assert_stored(s3, name, f"tree/{rel}", data)

    # Listings with a prefix (ListObjects v1, rclone's default for "Other", and v2).
    listed = rclone.stdout("lsf", "-R", "--files-only", f"zas:{name}/tree/docs").decode()
    assert sorted(listed.splitlines()) == ["readme.md", TRICKY_NAME]
    listed = rclone.stdout(
        "lsf", "-R", "--files-only", "--s3-list-version", "2", f"zas:{name}/tree"
    ).decode()
    assert sorted(listed.splitlines()) == sorted(files)
    entries = json.loads(rclone.stdout("lsjson", "-R", "--hash", "--files-only", f"zas:{name}"))
    by_path = {e["Path"]: e for e in entries}
    assert sorted(by_path) == sorted([f"single/{TRICKY_NAME}", *(f"tree/{r}" for r in files)])
    blob = files["bin/blob.bin"]
    assert by_path["tree/bin/blob.bin"]["Size"] == len(blob)
    # rclone keeps the modification time in x-amz-meta-mtime; ZAS must return it.
    modtime = datetime.fromisoformat(by_path["tree/bin/blob.bin"]["ModTime"])
    assert modtime.timestamp() == mtime, by_path["tree/bin/blob.bin"]

    # rclone check compares sizes and MD5s (the ETags) of both sides.
    out = rclone("check", src, f"zas:{name}/tree")
    assert "0 differences found" in out and f"{len(files)} matching files" in out, out
    # A second copy finds everything up to date (size + mtime from metadata match).
    out = rclone("copy", "-v", src, f"zas:{name}/tree")
    assert "Copied" not in out, out

    # Downloads: cat, copyto one file, the whole tree back; a range through cat.
    assert rclone.stdout("cat", f"zas:{name}/tree/{tricky}") == files[tricky]
    rclone("copyto", f"zas:{name}/tree/bin/blob.bin", tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == blob
    rclone("copy", f"zas:{name}/tree", tmp_path / "back")
    assert read_tree(tmp_path / "back") == files
    got = rclone.stdout(
        "cat", "--offset", "70000", "--count", "1000", f"zas:{name}/tree/bin/blob.bin"
    )
    assert got == blob[70000:71000]
    assert rclone.stdout("cat", "--tail", "5", f"zas:{name}/tree/{tricky}") == files[tricky][-5:]

    # sync deletes what disappeared locally and uploads what changed.
    (src / "one.txt").unlink()
    (src / "docs" / "readme.md").write_bytes(b"changed\n")
    out = rclone("sync", "-v", src, f"zas:{name}/tree")
    assert "one.txt: Deleted" in out and "readme.md: Copied" in out, out
    assert "tree/one.txt" not in list_keys(s3, name)
    assert_stored(s3, name, "tree/docs/readme.md", b"changed\n")

    # Deletes: one file, then everything, then the bucket.
    rclone("deletefile", f"zas:{name}/single/{TRICKY_NAME}")
    assert list_keys(s3, name, "single/") == []
    out = rclone("delete", "-v", f"zas:{name}")
    assert out.count(": Deleted") == len(files) - 1, out
    assert list_keys(s3, name) == []
    rclone("rmdir", f"zas:{name}")
    assert not bucket_exists(s3, name)


def test_rclone_errors(rclone: Rclone, s3: Any, name: str, tmp_path: Path) -> None:
    out = rclone.fails("lsf", f"zas:{name}")
    assert "directory not found" in out, out
    out = rclone.fails("mkdir", "zas:Invalid_Bucket_Name")
    assert "InvalidBucketName" in out, out

    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="present", Body=b"data")
    out = rclone.fails("deletefile", f"zas:{name}/missing.txt")
    assert "doesn't exist" in out, out
    out = rclone.fails("rmdir", f"zas:{name}")
    assert "BucketNotEmpty" in out and "409" in out, out
    # A corrupted download is noticed: rclone check --download compares bytes.
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "present").write_bytes(b"DATA")
    out = rclone.fails("check", "--download", tmp_path / "local", f"zas:{name}")
    assert "1 differences found" in out, out
    assert list_keys(s3, name) == ["present"]


def test_rclone_multipart_server_side_copy_purge(
    rclone: Rclone, s3: Any, name: str, other: str, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=name)
    big = random_bytes(12 * 1024 * 1024 + 5, seed=2)  # 5 + 5 + 2 MiB: three parts
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(big)
    (src / "small.txt").write_bytes(b"small\n")

    # Above --s3-upload-cutoff: a multipart upload; the small file is a single PUT.
    out = rclone("copy", "-v", src, f"zas:{name}/up")
    assert "Transferred:            2 / 2, 100%" in out, out
    assert_stored_multipart(s3, name, "up/big.bin", big, PART)
    assert_stored(s3, name, "up/small.txt", b"small\n")
    assert_no_uploads(s3, name)
    # rclone's MD5 of a multipart object comes from its own metadata, as ZAS returned it.
    entries = json.loads(rclone.stdout("lsjson", "--hash", f"zas:{name}/up/big.bin"))
    assert entries[0]["Hashes"]["md5"] == hashlib.md5(big).hexdigest(), entries
    assert entries[0]["Size"] == len(big)
    out = rclone("check", src, f"zas:{name}/up")
    assert "0 differences found" in out and "2 matching files" in out, out
    out = rclone("check", "--download", src, f"zas:{name}/up")
    assert "0 differences found" in out, out
    rclone("copyto", f"zas:{name}/up/big.bin", tmp_path / "down.bin")
    assert (tmp_path / "down.bin").read_bytes() == big

    # Server-side copies: CopyObject across buckets, UploadPartCopy with a low copy cutoff.
    out = rclone("copyto", "-v", f"zas:{name}/up/big.bin", f"zas:{other}/copy/{TRICKY_NAME}")
    assert "Copied (server-side copy)" in out, out
    got = s3.get_object(Bucket=other, Key=f"copy/{TRICKY_NAME}")["Body"].read()
    assert got == big
    out = rclone("copyto", "-v", "--s3-copy-cutoff", "5M",
                 f"zas:{name}/up/big.bin", f"zas:{other}/parts/big.bin")  # fmt: skip
    assert "Copied (server-side copy)" in out, out
    assert_stored_multipart(s3, other, "parts/big.bin", big, PART)
    assert_no_uploads(s3, other)
    out = rclone("moveto", "-v", f"zas:{name}/up/small.txt", f"zas:{other}/moved.txt")
    assert "Moved (server-side)" in out or "Copied (server-side copy)" in out, out
    assert list_keys(s3, name) == ["up/big.bin"]
    assert_stored(s3, other, "moved.txt", b"small\n")
    out = rclone("check", "--download", f"zas:{name}/up", f"zas:{other}/parts")
    assert "0 differences found" in out, out

    # An interrupted multipart upload: listed, then aborted by `backend cleanup`.
    upload_id = s3.create_multipart_upload(Bucket=name, Key="partial")["UploadId"]
    s3.upload_part(Bucket=name, Key="partial", UploadId=upload_id, PartNumber=1, Body=big[:PART])
    listed = json.loads(rclone.stdout("backend", "list-multipart-uploads", f"zas:{name}"))
    assert [(u["Key"], u["UploadId"]) for u in listed[name]] == [("partial", upload_id)], listed
    rclone("backend", "cleanup", "-o", "max-age=0s", f"zas:{name}")
    assert_no_uploads(s3, name)

    # purge: every object, then the bucket.
    rclone("purge", f"zas:{other}")
    assert not bucket_exists(s3, other)
    rclone("purge", f"zas:{name}")
    assert not bucket_exists(s3, name)
