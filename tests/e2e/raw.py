"""Hand-built HTTP requests for the cases SDKs refuse to send: skewed clocks, tampered
signatures, lying checksums. Signed with botocore's own SigV4 signer, so the test does not
trust our implementation to check itself."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import re
from collections.abc import Iterator
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.zasproc import ACCESS_KEY, SECRET_KEY


class RawResponse:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def code(self) -> str | None:
        match = re.search(rb"<Code>([^<]*)</Code>", self.body)
        return match.group(1).decode() if match else None

    def __repr__(self) -> str:
        return f"RawResponse({self.status}, {self.body[:300]!r})"


def send(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> RawResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def sign_headers(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    payload_hash: str | None = None,
    when: dt.datetime | None = None,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
) -> dict[str, str]:
    """Headers (incl. Authorization) for a SigV4 header-signed request."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = _ClaimingSigner(Credentials(access_key, secret_key), "s3", "us-east-1")
    signer.claimed_payload_hash = payload_hash
    with _frozen_time(when):
        signer.add_auth(request)
    return dict(request.headers.items())


class _ClaimingSigner(S3SigV4Auth):
    """botocore's S3 signer, but declaring whatever payload hash the test wants to claim."""

    claimed_payload_hash: str | None = None

    def payload(self, request: AWSRequest) -> str:
        if self.claimed_payload_hash is not None:
            return self.claimed_payload_hash
        return str(super().payload(request))


def presign(
    method: str, url: str, *, expires: int = 3600, when: dt.datetime | None = None,
    access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
) -> str:  # fmt: skip
    request = AWSRequest(method=method, url=url)
    signer = S3SigV4QueryAuth(
        Credentials(access_key, secret_key), "s3", "us-east-1", expires=expires
    )
    with _frozen_time(when):
        signer.add_auth(request)
    return str(request.url)


@contextlib.contextmanager
def _frozen_time(when: dt.datetime | None) -> Iterator[None]:
    """Sign as if the client's clock read `when` (botocore asks get_current_datetime)."""
    if when is None:
        yield
        return
    naive_utc = when.astimezone(dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", lambda remove_tzinfo=True: naive_utc):
        yield


def _signing_key(secret: str, date: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def chunked_upload(
    url: str,
    chunks: list[bytes],
    *,
    signed: bool = True,
    trailers: list[tuple[str, str]] | None = None,
    tamper_chunk: int | None = None,
    secret_key: str = SECRET_KEY,
) -> RawResponse:
    """PUT an aws-chunked body, signed chunk by chunk as the AWS SDKs do (sigv4-streaming),
    optionally with trailing checksums; `tamper_chunk` corrupts one chunk's signature."""
    if signed:
        mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailers else "")
    else:
        mode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    extra = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(sum(len(c) for c in chunks)),
    }
    if trailers:
        extra["x-amz-trailer"] = ",".join(name for name, _ in trailers)
    headers = sign_headers("PUT", url, headers=extra, payload_hash=mode)
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = _signing_key(secret_key, amz_date[:8])
    previous = headers["Authorization"].rpartition("Signature=")[2]
    empty = hashlib.sha256(b"").hexdigest()
    body = bytearray()
    for index, data in enumerate([*chunks, b""]):
        if signed:
            to_sign = (
                f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{empty}\n"
                + hashlib.sha256(data).hexdigest()
            )
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            signature = previous if index != tamper_chunk else "0" * 64
            body += f"{len(data):x};chunk-signature={signature}\r\n".encode()
        else:
            body += f"{len(data):x}\r\n".encode()
        if data:
            body += data + b"\r\n"
    if trailers:
        lines = "".join(f"{name}:{value}\n" for name, value in trailers)
        body += "".join(f"{name}:{value}\r\n" for name, value in trailers).encode()
        if signed:
            to_sign = (
                f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n"
                + hashlib.sha256(lines.encode()).hexdigest()
            )
            trailer_signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            body += f"x-amz-trailer-signature:{trailer_signature}\r\n".encode()
    body += b"\r\n"
    return send("PUT", url, headers, bytes(body))
