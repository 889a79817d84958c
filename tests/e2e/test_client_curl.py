"""curl's built-in SigV4 (`--aws-sigv4 aws:amz:us-east-1:s3`) against a real `zas serve`.

Setting needed: curl 7.88 does not send `x-amz-content-sha256` (added in curl 8), and S3, like
ZAS, requires it with header SigV4; so every request passes it with `-H` (the body's SHA-256, or
that of the empty string), and curl signs it along with the other x-amz-* headers.
curl 7.88 also signs the query string as written (no sorting, no encoding: fixed in curl 8), so
queries here are written already canonical: parameters sorted, values percent-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import (
    TRICKY_NAME,
    assert_stored,
    bucket_exists,
    bucket_name_fixture,
    client_env,
    describe,
    list_keys,
    make_tree,
    md5_etag,
    require_binary,
    run,
    text,
)
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess

NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def error_code(self) -> str | None:
        if not self.body:
            return None
        root = ET.fromstring(self.body)
        assert root.tag == "Error", self.body
        return root.findtext("Code")

    def __repr__(self) -> str:
        return f"<{self.status} {self.headers} {self.body[:500]!r}>"


class Curl:
    def __init__(self, zas: ZasProcess, tmp: Path) -> None:
        self.binary = require_binary("curl")
        self.endpoint = zas.endpoint
        self.tmp = tmp
        self.env = client_env()

    def url(self, bucket: str, key: str | None = None, query: str = "") -> str:
        path = f"/{bucket}" if key is None else f"/{bucket}/{urllib.parse.quote(key, safe='/~')}"
        return self.endpoint + path + (f"?{query}" if query else "")

    def __call__(
        self,
        method: str,
        url: str,
        *,
        upload: Path | None = None,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        secret: str = SECRET_KEY,
    ) -> Response:
        head_file, body_file = self.tmp / "curl-headers", self.tmp / "curl-body"
        for f in (head_file, body_file):
            f.unlink(missing_ok=True)
        args: list[str | Path] = [self.binary, "-sS", "--max-time", "60", "-w", "%{http_code}"]
        args += ["-D", head_file, "-o", body_file]
        if signed:
            args += ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{ACCESS_KEY}:{secret}"]
            payload = EMPTY_SHA256 if upload is None else _sha256_file(upload)
            args += ["-H", f"x-amz-content-sha256: {payload}"]
        for name, value in (headers or {}).items():
            args += ["-H", f"{name}: {value}"]
        if method == "HEAD":
            args.append("-I")
        elif upload is not None:
            args += ["-T", upload]
            if method != "PUT":
                args += ["-X", method]
        elif method != "GET":
            args += ["-X", method]
        args.append(url)
        proc = run(args, env=self.env)
        status = int(text(proc.stdout).strip() or 0)
        assert status, describe(proc)
        parsed: dict[str, str] = {}
        for line in head_file.read_text(errors="replace").splitlines()[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                parsed[name.strip().lower()] = value.strip()
        # With -I curl writes the headers to -o as well; a HEAD response has no body.
        body = body_file.read_bytes() if body_file.exists() and method != "HEAD" else b""
        return Response(status, parsed, body)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _keys(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    assert root.tag == f"{{{NS['s3']}}}ListBucketResult", body
    return [k.text or "" for k in root.findall("s3:Contents/s3:Key", NS)]


@pytest.fixture
def curl(zas: ZasProcess, tmp_path: Path) -> Curl:
    return Curl(zas, tmp_path)


name = bucket_name_fixture("curl")


def test_curl_lifecycle(curl: Curl, s3: Any, name: str, tmp_path: Path) -> None:
    r = curl("PUT", curl.url(name))
    assert r.status == 200, r
    assert bucket_exists(s3, name)
    r = curl("HEAD", curl.url(name))
    assert r.status == 200, r

    src = tmp_path / "src"
    files = make_tree(src)
    for rel in files:
        r = curl("PUT", curl.url(name, rel), upload=src / rel)
        assert r.status == 200, (rel, r)
        assert r.headers["etag"] == md5_etag(files[rel]), (rel, r)
    for rel, data in files.items():
        assert_stored(s3, name, rel, data)
    tricky = f"docs/{TRICKY_NAME}"

    # Listings v2 and v1 with a prefix; keys come back decoded (no encoding-type asked).
    r = curl("GET", curl.url(name, query="list-type=2&prefix=docs%2F"))
    assert r.status == 200, r
    assert _keys(r.body) == ["docs/readme.md", tricky]
    r = curl("GET", curl.url(name, query="prefix=b"))
    assert r.status == 200, r
    assert _keys(r.body) == ["bin/blob.bin"]
    r = curl("GET", curl.url(name, query="delimiter=%2F&list-type=2"))
    assert r.status == 200, r
    root = ET.fromstring(r.body)
    prefixes = [p.text for p in root.findall("s3:CommonPrefixes/s3:Prefix", NS)]
    assert prefixes == ["bin/", "docs/"]
    assert _keys(r.body) == ["empty.dat", "one.txt"]

    # GET, HEAD, ranges and a conditional GET.
    for rel, data in files.items():
        r = curl("GET", curl.url(name, rel))
        assert r.status == 200 and r.body == data, (rel, r.status)
        assert r.headers["etag"] == md5_etag(data)
    r = curl("HEAD", curl.url(name, tricky))
    assert r.status == 200, r
    assert r.headers["content-length"] == str(len(files[tricky]))
    assert r.headers["etag"] == md5_etag(files[tricky])
    blob = files["bin/blob.bin"]
    r = curl("GET", curl.url(name, "bin/blob.bin"), headers={"Range": "bytes=100-65635"})
    assert r.status == 206, r
    assert r.body == blob[100:65636]
    assert r.headers["content-range"] == f"bytes 100-65635/{len(blob)}"
    r = curl("GET", curl.url(name, tricky), headers={"Range": "bytes=-4"})
    assert (r.status, r.body) == (206, files[tricky][-4:])
    r = curl("GET", curl.url(name, tricky), headers={"If-None-Match": md5_etag(files[tricky])})
    assert r.status == 304, r
    r = curl("GET", curl.url(name, "one.txt"), headers={"If-Match": '"0000"'})
    assert r.status == 412, r
    assert r.error_code() == "PreconditionFailed"

    # Deletes, then the bucket.
    r = curl("DELETE", curl.url(name))
    assert (r.status, r.error_code()) == (409, "BucketNotEmpty"), r
    for rel in files:
        r = curl("DELETE", curl.url(name, rel))
        assert r.status == 204, (rel, r)
    assert list_keys(s3, name) == []
    r = curl("GET", curl.url(name, tricky))
    assert (r.status, r.error_code()) == (404, "NoSuchKey"), r
    r = curl("DELETE", curl.url(name))
    assert r.status == 204, r
    assert not bucket_exists(s3, name)
    r = curl("HEAD", curl.url(name))
    assert r.status == 404, r


def test_curl_errors(curl: Curl, s3: Any, name: str, tmp_path: Path) -> None:
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="present", Body=b"data")

    r = curl("GET", curl.url(name, "present"), signed=False)
    assert (r.status, r.error_code()) == (403, "AccessDenied"), r
    assert b"data" not in r.body
    r = curl("GET", curl.url(name, "present"), secret=SECRET_KEY + "x")
    assert (r.status, r.error_code()) == (403, "SignatureDoesNotMatch"), r

    r = curl("GET", curl.url(name, "no such key"))
    assert (r.status, r.error_code()) == (404, "NoSuchKey"), r
    r = curl("HEAD", curl.url(name, "no such key"))
    assert r.status == 404 and r.body == b"", r
    r = curl("GET", curl.url(name + "-missing", "k"))
    assert (r.status, r.error_code()) == (404, "NoSuchBucket"), r
    r = curl("PUT", curl.url("Invalid_Bucket_Name"))
    assert (r.status, r.error_code()) == (400, "InvalidBucketName"), r
    r = curl("GET", curl.url(name, "present"), headers={"Range": "bytes=10-20"})
    assert (r.status, r.error_code()) == (416, "InvalidRange"), r

    body = tmp_path / "body"
    body.write_bytes(b"payload")
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    r = curl("PUT", curl.url(name, "bad-md5"), upload=body, headers={"Content-MD5": wrong_md5})
    assert (r.status, r.error_code()) == (400, "BadDigest"), r
    assert list_keys(s3, name) == ["present"]
