"""Hand-built HTTP requests for the cases SDKs refuse to send: skewed clocks, tampered
signatures, lying checksums. Signed with botocore's own SigV4 signer, so the test does not
trust our implementation to check itself."""

from __future__ import annotations

import contextlib
import datetime as dt
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
