"""Regenerate fuzz/seeds/ (run from the repository root: `python -m fuzz.make_seeds`).

The SigV4 seeds are real botocore requests: an S3 client with the key pair and clock of
fuzz/fuzz_sigv4.py signs them, and a `before-send` hook captures each request instead of
sending it. They therefore verify, and the fuzzer starts from the success path. Needs boto3
(the `test` extra).
"""

from __future__ import annotations

from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from fuzz._harness import FUZZ_DIR
from fuzz.fuzz_sigv4 import ACCESS_KEY, HOST, NOW, SECRET

SEEDS = FUZZ_DIR / "seeds"

RANGE_SEEDS = {
    "first-100": "bytes=0-99",
    "suffix": "bytes=-5",
    "open-ended": "bytes=100-",
    "one-byte": "bytes=0-0",
    "beyond-end": "bytes=1000-2000",
    "with-size": "bytes=10-\n50",
    "multi-range-ignored": "bytes=0-1,5-9",
}

LIST_SEEDS = {
    "v2-full": "list-type=2&prefix=a%2F&delimiter=%2F&max-keys=10&continuation-token=YQ==",
    "v2-start-after": "list-type=2&start-after=photos%2F2024&fetch-owner=true&encoding-type=url",
    "v1-marker": "prefix=logs%2F&marker=logs%2F2024-01-01&max-keys=1000&delimiter=%2F",
    "boto3-v2": "list-type=2&prefix=&encoding-type=url",
    "location": "location",
    "bare-subresource": "uploads&prefix=x",
}


# name -> (client method, parameters): one request each, signed in the Authorization header.
HEADER_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "put-object": ("put_object", {"Bucket": "bucket", "Key": "a/b c+d.txt", "Body": b"hello"}),
    "get-range": ("get_object", {"Bucket": "bucket", "Key": "key", "Range": "bytes=0-99"}),
    "list-v2": (
        "list_objects_v2",
        {"Bucket": "bucket", "Prefix": "a/", "Delimiter": "/", "MaxKeys": 10},
    ),
    "head-bucket": ("head_bucket", {"Bucket": "bucket"}),
    "delete-object": ("delete_object", {"Bucket": "bucket", "Key": "~tilde/%pct"}),
}


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Captured(request)


def _as_text(method: str, url: str, headers: Any) -> str:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target}", f"host: {parts.netloc}"]
    for name, value in headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if name.lower() == "amz-sdk-invocation-id":
            text = "00000000-0000-4000-8000-000000000000"  # random per call, never signed
        elif name.lower() == "user-agent":
            text = " ".join(text.split()[:2])  # drop the OS and feature list: not signed
        lines.append(f"{name}: {text}")
    return "\n".join(lines) + "\n"


def sigv4_seeds() -> dict[str, str]:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    clock = NOW.replace(tzinfo=None)
    seeds: dict[str, str] = {}
    with mock.patch("botocore.auth.get_current_datetime", return_value=clock):
        for checksums in ("when_required", "when_supported"):
            client = boto3.client(
                "s3",
                endpoint_url=f"http://{HOST}",
                region_name="us-east-1",
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET,
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    request_checksum_calculation=checksums,
                    retries={"max_attempts": 1},
                ),
            )
            client.meta.events.register("before-send", _capture)
            calls = dict(HEADER_CALLS)
            if checksums == "when_supported":
                calls = {"put-object-checksum": calls["put-object"]}
            for name, (operation, params) in calls.items():
                try:
                    getattr(client, operation)(**params)
                except _Captured as captured:
                    request = captured.request
                    seeds[f"header-{name}"] = _as_text(request.method, request.url, request.headers)
            if checksums == "when_required":
                for name, operation, params in (
                    ("get", "get_object", {"Bucket": "bucket", "Key": "dir/file.bin"}),
                    ("put", "put_object", {"Bucket": "bucket", "Key": "upload"}),
                ):
                    url = client.generate_presigned_url(operation, Params=params, ExpiresIn=3600)
                    verb = "GET" if operation == "get_object" else "PUT"
                    seeds[f"presigned-{name}"] = _as_text(verb, url, {})
    return seeds


# XML request bodies that are not botocore's: AWS's documented examples, Unicode, a DTD.
XML_SEEDS = {
    "complete-aws-doc": (
        "<CompleteMultipartUpload>\n  <Part>\n    <PartNumber>1</PartNumber>\n"
        '    <ETag>"a54357aff0632cce46d942af68356b38"</ETag>\n  </Part>\n  <Part>\n'
        '    <PartNumber>2</PartNumber>\n    <ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag>\n'
        "    <ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>\n"
        "  </Part>\n</CompleteMultipartUpload>"
    ),
    "delete-aws-doc": (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Delete>\n    <Quiet>false</Quiet>\n'
        "    <Object>\n         <Key>sample1.txt</Key>\n    </Object>\n    <Object>\n"
        '         <Key>sample2.txt</Key>\n         <ETag>"e"</ETag>\n    </Object>\n</Delete>'
    ),
    "tagging-unicode": (
        "<Tagging><TagSet><Tag><Key>\u00fcn\u00ef</Key><Value>\u6587 2 = 4</Value></Tag>"
        "</TagSet></Tagging>"
    )
    .encode()
    .decode("latin-1"),
    "dtd-entity": (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>'
        "<Delete><Object><Key>&e;</Key></Object></Delete>"
    ),
}

# name -> (operation, parameters) whose body botocore's rest-xml serializer writes.
XML_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "complete-boto3": (
        "CompleteMultipartUpload",
        {
            "Bucket": "b", "Key": "k", "UploadId": "u",
            "MultipartUpload": {"Parts": [
                {"PartNumber": 1, "ETag": '"5d41402abc4b2a76b9719d911017c592"',
                 "ChecksumCRC32": "NhCmhg=="},
                {"PartNumber": 2, "ETag": '"7d793037a0760186574b0282f2f435e7"',
                 "ChecksumCRC32": "OjZ1cA=="},
            ]},
        },
    ),
    "delete-boto3-quiet": (
        "DeleteObjects",
        {
            "Bucket": "b",
            "Delete": {"Objects": [{"Key": "a b"}, {"Key": "<c> & 'd'"},
                                   {"Key": "v", "VersionId": "null"}], "Quiet": True},
        },
    ),
    "tagging-boto3": (
        "PutObjectTagging",
        {
            "Bucket": "b", "Key": "k",
            "Tagging": {"TagSet": [{"Key": "team", "Value": "build"},
                                   {"Key": "a b+c", "Value": ""}]},
        },
    ),
}  # fmt: skip


def xml_seeds() -> dict[str, str]:
    """Request bodies as botocore serializes them, plus XML_SEEDS (latin-1 text of the bytes)."""
    import botocore.session  # type: ignore[import-untyped]
    from botocore.serialize import create_serializer  # type: ignore[import-untyped]

    model = botocore.session.get_session().get_service_model("s3")
    serializer = create_serializer("rest-xml")
    seeds = dict(XML_SEEDS)
    for name, (operation, params) in XML_CALLS.items():
        request = serializer.serialize_to_request(params, model.operation_model(operation))
        seeds[name] = request["body"].decode("latin-1")
    return seeds


def main() -> None:
    groups = {
        "sigv4": sigv4_seeds(),
        "range": RANGE_SEEDS,
        "list_query": LIST_SEEDS,
        "xml_bodies": xml_seeds(),
    }
    for target, seeds in groups.items():
        directory = SEEDS / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in seeds.items():
            (directory / name).write_bytes(text.encode("latin-1"))
        print(f"{target}: {len(seeds)} seeds in {directory.relative_to(FUZZ_DIR.parent)}")


if __name__ == "__main__":
    main()
