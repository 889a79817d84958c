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


def main() -> None:
    groups = {"sigv4": sigv4_seeds(), "range": RANGE_SEEDS, "list_query": LIST_SEEDS}
    for target, seeds in groups.items():
        directory = SEEDS / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in seeds.items():
            (directory / name).write_bytes(text.encode("latin-1"))
        print(f"{target}: {len(seeds)} seeds in {directory.relative_to(FUZZ_DIR.parent)}")


if __name__ == "__main__":
    main()
