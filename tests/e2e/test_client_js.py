"""The AWS SDK for JavaScript v3 under Node.js against a real `zas serve`.

The client is `tests/e2e/js/s3_lifecycle.mjs` with the exact package versions pinned in
`tests/e2e/js/package-lock.json` (`@aws-sdk/client-s3`, `@aws-sdk/lib-storage`,
`@aws-sdk/s3-request-presigner`), installed with `npm ci` by `scripts/install-test-tools.sh` or,
if `node_modules` is missing, once per session here.

Settings needed: `forcePathStyle: true`, region us-east-1, `maxAttempts: 1`; everything else is
the SDK's default, so PutObject sends a CRC32 checksum (in a header for a Buffer body, in an
aws-chunked trailer with STREAMING-UNSIGNED-PAYLOAD-TRAILER for a stream body), GetObject asks
for and validates checksums, DeleteObjects sends a CRC32 instead of Content-MD5, and a presigned
PUT carries the CRC32 of the empty body in its query string.

The script checks what it can see through the SDK and prints a JSON summary (objects left behind
with their SHA-256, keys deleted, the payload mode of every request); this module checks the
summary and then the stored state independently with boto3.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import (
    bucket_name_fixture,
    client_env,
    describe,
    list_keys,
    remove_bucket_quietly,
    require_binary,
    run,
    text,
    unique_bucket,
)
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess

JS_DIR = Path(__file__).parent / "js"
SCRIPT = JS_DIR / "s3_lifecycle.mjs"
SCRIPT_TIMEOUT = 120.0
NPM_TIMEOUT = 300.0
PACKAGES = ("@aws-sdk/client-s3", "@aws-sdk/lib-storage", "@aws-sdk/s3-request-presigner")


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """`tests/e2e/js/node_modules`, installed from the lock file with `npm ci` if missing."""
    require_binary("node", "nodejs")
    modules = JS_DIR / "node_modules"
    if not all((modules / pkg / "package.json").exists() for pkg in PACKAGES):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "npm not found on PATH; install Node.js >= 20 with npm "
                "(scripts/install-test-tools.sh does)",
                pytrace=False,
            )
        run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", JS_DIR],
            env=client_env(),
            timeout=NPM_TIMEOUT,
        )
    return modules


def installed_version(modules: Path, package: str) -> str:
    return str(json.loads((modules / package / "package.json").read_text())["version"])


name = bucket_name_fixture("js")


@pytest.fixture
def copy_bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    bucket = unique_bucket("jscopy")
    s3.create_bucket(Bucket=bucket)
    request.addfinalizer(lambda: remove_bucket_quietly(s3, bucket))
    return bucket


def run_script(zas: ZasProcess, bucket: str, copy_bucket: str, tmp: Path) -> dict[str, Any]:
    env = client_env(
        {
            "ZAS_ENDPOINT": zas.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "ZAS_BUCKET": bucket,
            "ZAS_COPY_BUCKET": copy_bucket,
            "ZAS_TMP": str(tmp),
        }
    )
    try:
        proc = run(
            [require_binary("node", "nodejs"), SCRIPT],
            env=env,
            cwd=JS_DIR,
            check=False,
            timeout=SCRIPT_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"node script timed out after {SCRIPT_TIMEOUT}s\n--- stdout ---\n"
            f"{text(exc.stdout or b'')}\n--- stderr ---\n{text(exc.stderr or b'')}"
        ) from None
    lines = text(proc.stdout).strip().splitlines()
    try:
        summary: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError("node script printed no JSON summary\n" + describe(proc)) from None
    if proc.returncode != 0 or not summary.get("ok"):
        failure = {k: summary.get(k) for k in ("step", "error", "steps")}
        raise AssertionError(
            "JS SDK run failed at step "
            f"{summary.get('step')!r}:\n{json.dumps(failure, indent=2)}\n"
            f"--- requests sent ---\n{json.dumps(summary.get('wire', [])[-5:], indent=2)}\n"
            f"--- stderr ---\n{text(proc.stderr)}\n--- server log (tail) ---\n" + zas.log()[-4000:]
        )
    return summary


def test_js_sdk_lifecycle(
    zas: ZasProcess,
    s3: Any,
    name: str,
    copy_bucket: str,
    node_modules: Path,
    tmp_path: Path,
) -> None:
    s3.create_bucket(Bucket=name)
    summary = run_script(zas, name, copy_bucket, tmp_path)

    steps = [s["step"] for s in summary["steps"]]
    assert steps == [
        "put-object-buffer", "put-object-stream", "put-object-algorithms", "get-object",
        "head-object",
        "list-objects-v2", "upload-multipart", "get-multipart", "multipart-abort",
        "copy-object", "tagging", "presigned", "delete-objects",
    ], steps  # fmt: skip
    assert summary["listPages"] == 3

    # The default settings really exercised the checksum paths this client is here for.
    wire = summary["wire"]
    puts = [w for w in wire if w["command"] == "PutObjectCommand"]
    assert any(
        w["contentEncoding"] == "aws-chunked"
        and w["contentSha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        and w["trailer"] == "x-amz-checksum-crc32"
        for w in puts
    ), puts
    assert any("x-amz-checksum-crc32" in w["checksumHeaders"] for w in puts), puts
    parts = [w for w in wire if w["command"] == "UploadPartCommand"]
    assert len(parts) == 4, parts  # 3 from lib-storage, 1 in the aborted upload
    deletes = [w for w in wire if w["command"] == "DeleteObjectsCommand"]
    assert deletes and all(w["checksumHeaders"] for w in deletes), deletes
    assert "x-amz-checksum-crc32" in summary["presignedPutQuery"], summary["presignedPutQuery"]

    # Independently, with boto3: every object the script left has the bytes it uploaded.
    objects = summary["objects"]
    for obj in objects.values():
        head = s3.head_object(Bucket=obj["bucket"], Key=obj["key"])
        assert head["ContentLength"] == obj["size"], (obj, head)
        body = s3.get_object(Bucket=obj["bucket"], Key=obj["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == obj["sha256"], obj["key"]
    mine = sorted(o["key"] for o in objects.values() if o["bucket"] == name)
    assert list_keys(s3, name) == mine
    checksum_keys = [
        f"js/checksums/{alg}-{mode}.bin"
        for alg in ("CRC32C", "CRC64NVME", "SHA1", "SHA256")
        for mode in ("header", "trailer")
    ]
    named = ["js/small ünï+€.bin", "js/multipart/big file.bin", "js/tagged.txt"]
    assert mine == sorted([*named, "js/presigned-put.txt", *checksum_keys])
    # The checksum algorithms went as headers and as aws-chunked trailers, and what ZAS stored
    # is right (SHA-1/SHA-256 recomputed here; the CRCs were validated by the SDK's GetObject).
    trailers = {w["trailer"] for w in puts if w["contentEncoding"] == "aws-chunked"}
    assert {f"x-amz-checksum-{a}" for a in ("crc32c", "crc64nvme", "sha1", "sha256")} <= trailers
    for alg, digest in (("SHA1", hashlib.sha1), ("SHA256", hashlib.sha256)):
        key = f"js/checksums/{alg}-trailer.bin"
        data = s3.get_object(Bucket=name, Key=key)["Body"].read()
        expected = base64.b64encode(digest(data).digest()).decode()
        assert summary["algorithms"][alg] == expected, alg
        head = s3.head_object(Bucket=name, Key=key, ChecksumMode="ENABLED")
        assert head.get(f"Checksum{alg}") == expected, head
    assert list_keys(s3, copy_bucket) == ["copied/big+copy ü.bin"]

    big = s3.head_object(Bucket=name, Key="js/multipart/big file.bin")
    assert big["ETag"] == summary["multipartETag"] and big["ETag"].endswith('-3"'), big
    assert big["ContentLength"] == 12 * 1024 * 1024 + 4321
    assert (
        s3.head_object(Bucket=name, Key="js/multipart/big file.bin", PartNumber=3)["ContentLength"]
        == 2 * 1024 * 1024 + 4321
    )
    assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    # lib-storage asked for CRC32 (x-amz-checksum-algorithm on CreateMultipartUpload): the
    # object's checksum is the composite CRC32 of the part CRC32s, suffixed with the part count.
    data = s3.get_object(Bucket=name, Key="js/multipart/big file.bin")["Body"].read()
    size = 5 * 1024 * 1024
    part_crcs = b"".join(
        zlib.crc32(data[i : i + size]).to_bytes(4, "big") for i in range(0, len(data), size)
    )
    composite = base64.b64encode(zlib.crc32(part_crcs).to_bytes(4, "big")).decode() + "-3"
    assert summary["multipartChecksumCRC32"] == composite
    head = s3.head_object(Bucket=name, Key="js/multipart/big file.bin", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32") == composite, head
    small = s3.get_object(Bucket=name, Key="js/small ünï+€.bin")["Body"].read()
    crc = base64.b64encode(zlib.crc32(small).to_bytes(4, "big")).decode()
    assert summary["putChecksumCRC32"] == crc

    tags = s3.get_object_tagging(Bucket=name, Key="js/tagged.txt")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"release": "1.0 beta", "owner": "team+js"}
    for deleted in summary["deleted"]:
        bucket, _, key = deleted.partition("/")
        assert key not in list_keys(s3, bucket), deleted

    versions = {pkg: installed_version(node_modules, pkg) for pkg in PACKAGES}
    lock = json.loads((JS_DIR / "package-lock.json").read_text())
    for pkg, version in versions.items():
        assert lock["packages"][f"node_modules/{pkg}"]["version"] == version, (pkg, version)
