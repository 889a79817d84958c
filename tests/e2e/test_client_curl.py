"""curl's built-in SigV4 (`--aws-sigv4 aws:amz:us-east-1:s3`) against a real `zas serve`.

Setting needed: curl 7.88 does not send `x-amz-content-sha256` (added in curl 8), and S3, like
ZAS, requires it with header SigV4; so every request passes it with `-H` (the body's SHA-256, or
that of the empty string), and curl signs it along with the other x-amz-* headers.
curl 7.88 also signs the query string as written (no sorting, no encoding: fixed in curl 8), so
queries here are written already canonical: parameters sorted, values percent-encoded, and a
valueless subresource written with its `=` (`?uploads=`, `?delete=`, `?tagging=`).
Beyond the object basics: a multipart upload by hand (Create, UploadPart, ListParts,
ListMultipartUploads, Complete, Abort), UploadPartCopy with x-amz-copy-source-range, CopyObject,
tagging and DeleteObjects, with the XML bodies and Content-MD5 a hand-written client sends.
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
    assert_no_uploads,
    assert_stored,
    assert_stored_multipart,
    bucket_exists,
    bucket_name_fixture,
    client_env,
    describe,
    list_keys,
    make_tree,
    md5_etag,
    multipart_etag,
    random_bytes,
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
PART = 5 * 1024 * 1024


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def _content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _complete_xml(etags: list[str]) -> bytes:
    parts = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        for n, etag in enumerate(etags, 1)
    )
    return f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()


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


def test_curl_multipart_copy_tagging_batch_delete(
    curl: Curl, s3: Any, name: str, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=name)
    data = random_bytes(PART + 1024 * 1024 + 3, seed=4)  # 5 MiB + 1 MiB: two parts
    key = f"mp/{TRICKY_NAME}"

    def body(label: str, content: bytes) -> Path:
        path = tmp_path / label
        path.write_bytes(content)
        return path

    # CreateMultipartUpload, two parts, ListParts and ListMultipartUploads, Complete.
    r = curl("POST", curl.url(name, key, "uploads="))
    assert r.status == 200, r
    upload_id = ET.fromstring(r.body).findtext("s3:UploadId", namespaces=NS)
    assert upload_id, r
    uid = _q(upload_id)
    etags = []
    for number, chunk in enumerate((data[:PART], data[PART:]), 1):
        r = curl("PUT", curl.url(name, key, f"partNumber={number}&uploadId={uid}"),
                 upload=body(f"part{number}", chunk))  # fmt: skip
        assert r.status == 200 and r.headers["etag"] == md5_etag(chunk), r
        etags.append(r.headers["etag"])
    r = curl("GET", curl.url(name, key, f"uploadId={uid}"))
    assert r.status == 200, r
    listed = ET.fromstring(r.body).findall("s3:Part", NS)
    assert [(p.findtext("s3:PartNumber", namespaces=NS), p.findtext("s3:ETag", namespaces=NS))
            for p in listed] == [("1", etags[0]), ("2", etags[1])]  # fmt: skip
    r = curl("GET", curl.url(name, query="uploads="))
    assert r.status == 200, r
    uploads = ET.fromstring(r.body).findall("s3:Upload", NS)
    assert [(u.findtext("s3:Key", namespaces=NS), u.findtext("s3:UploadId", namespaces=NS))
            for u in uploads] == [(key, upload_id)]  # fmt: skip
    r = curl("POST", curl.url(name, key, f"uploadId={uid}"),
             upload=body("complete.xml", _complete_xml(etags)))  # fmt: skip
    assert r.status == 200, r
    assert ET.fromstring(r.body).findtext("s3:ETag", namespaces=NS) == multipart_etag(data, PART)
    assert_stored_multipart(s3, name, key, data, PART)
    assert_no_uploads(s3, name)

    # GET of the whole object, a range across the part boundary, one part by number.
    r = curl("GET", curl.url(name, key))
    assert r.status == 200 and r.body == data, r.status
    r = curl("GET", curl.url(name, key), headers={"Range": f"bytes={PART - 5}-{PART + 4}"})
    assert (r.status, r.body) == (206, data[PART - 5 : PART + 5]), r
    r = curl("GET", curl.url(name, key, "partNumber=2"))
    assert r.status == 206 and r.body == data[PART:], r.status
    assert r.headers["x-amz-mp-parts-count"] == "2", r

    # CopyObject (URL-encoded source key) and UploadPartCopy with a source range.
    source = f"/{name}/{urllib.parse.quote(key)}"
    r = curl("PUT", curl.url(name, "copy/whole"), headers={"x-amz-copy-source": source})
    assert r.status == 200, r
    assert ET.fromstring(r.body).tag == f"{{{NS['s3']}}}CopyObjectResult", r
    assert s3.get_object(Bucket=name, Key="copy/whole")["Body"].read() == data
    r = curl("POST", curl.url(name, "copy/ranged", "uploads="))
    uid2 = _q(ET.fromstring(r.body).findtext("s3:UploadId", namespaces=NS) or "")
    copied = []
    # Part 1 is 5 MiB from offset 1 MiB (across the source's part boundary), part 2 the first MiB.
    mib = 1024 * 1024
    for number, (first, last) in enumerate(((mib, mib + PART - 1), (0, mib - 1)), 1):
        r = curl("PUT", curl.url(name, "copy/ranged", f"partNumber={number}&uploadId={uid2}"),
                 headers={"x-amz-copy-source": source,
                          "x-amz-copy-source-range": f"bytes={first}-{last}"})  # fmt: skip
        assert r.status == 200, r
        etag = ET.fromstring(r.body).findtext("s3:ETag", namespaces=NS)
        assert etag == md5_etag(data[first : last + 1]), r
        copied.append(etag)
    r = curl("POST", curl.url(name, "copy/ranged", f"uploadId={uid2}"),
             upload=body("complete2.xml", _complete_xml(copied)))  # fmt: skip
    assert r.status == 200, r
    swapped = data[mib : mib + PART] + data[:mib]
    assert s3.get_object(Bucket=name, Key="copy/ranged")["Body"].read() == swapped

    # An upload that is aborted leaves nothing behind.
    r = curl("POST", curl.url(name, "aborted", "uploads="))
    uid3 = _q(ET.fromstring(r.body).findtext("s3:UploadId", namespaces=NS) or "")
    r = curl("DELETE", curl.url(name, "aborted", f"uploadId={uid3}"))
    assert r.status == 204, r
    assert_no_uploads(s3, name)

    # Tagging with Content-MD5 on the XML body.
    tagging = (b"<Tagging><TagSet><Tag><Key>build</Key><Value>42</Value></Tag>"
               b"<Tag><Key>stage</Key><Value>ci</Value></Tag></TagSet></Tagging>")  # fmt: skip
    r = curl("PUT", curl.url(name, "copy/whole", "tagging="), upload=body("tags.xml", tagging),
             headers={"Content-MD5": _content_md5(tagging)})  # fmt: skip
    assert r.status == 200, r
    r = curl("GET", curl.url(name, "copy/whole", "tagging="))
    assert r.status == 200, r
    tags = {t.findtext("s3:Key", namespaces=NS): t.findtext("s3:Value", namespaces=NS)
            for t in ET.fromstring(r.body).findall("s3:TagSet/s3:Tag", NS)}  # fmt: skip
    assert tags == {"build": "42", "stage": "ci"}
    got = s3.get_object_tagging(Bucket=name, Key="copy/whole")["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == tags

    # DeleteObjects with Content-MD5; a key that never existed is reported deleted too.
    keys = [key, "copy/whole", "copy/ranged", "never/existed"]
    delete = ("<Delete>" + "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
              + "</Delete>").encode()  # fmt: skip
    r = curl("POST", curl.url(name, query="delete="), upload=body("delete.xml", delete),
             headers={"Content-MD5": _content_md5(delete)})  # fmt: skip
    assert r.status == 200, r
    root = ET.fromstring(r.body)
    assert sorted(d.findtext("s3:Key", namespaces=NS) or "" for d in
                  root.findall("s3:Deleted", NS)) == sorted(keys), r  # fmt: skip
    assert root.findall("s3:Error", NS) == [], r
    assert list_keys(s3, name) == []
