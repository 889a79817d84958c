"""Helpers for tests/e2e/test_access_matrix.py: callers (how a request is signed), addressing
(path style at `/` and `/s3/`, virtual-hosted style), presigned URLs and forged tokens.

Everything is signed by botocore's SigV4 signers (tests/e2e/raw.py), never by ZAS's own code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import attrs
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.admin_api import Keys, credential_headers
from tests.e2e.raw import RawResponse, send
from tests.idp import keycloak as kc
from tests.zasproc import ZasProcess

DOMAIN = "zas.test"  # ZAS_DOMAIN of the matrix server: Host <bucket>.zas.test:<port>
STYLES = ("path", "s3", "vhost")  # `/bucket/key`, `/s3/bucket/key`, Host bucket.zas.test + `/key`


@attrs.frozen
class Caller:
    """How a request is authenticated: nothing, SigV4 (with an STS token), or a bearer token."""

    name: str
    keys: Keys | None = None
    session_token: str | None = None
    bearer: str | None = None
    tamper_signature: bool = False  # flip the SigV4 signature after signing

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        signed = credential_headers(
            method, url, headers, body,
            keys=self.keys, session_token=self.session_token, bearer=self.bearer,
        )  # fmt: skip
        if self.tamper_signature and self.keys is not None and self.bearer is None:
            signed["Authorization"] = flip_last_hex(signed["Authorization"])
        return signed


def flip_last_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


@attrs.frozen
class Target:
    """Where a request goes: the raw path (with query) and, for virtual-hosted style, the Host."""

    path: str
    host: str | None = None


def address(
    zas: ZasProcess, style: str, bucket: str | None, key: str | None = None, query: str = ""
) -> Target:
    """The target of (bucket, key) in one addressing style; bucket None is the service (/)."""
    suffix = f"?{query}" if query else ""
    if style == "vhost":
        assert bucket is not None, "ListBuckets has no virtual-hosted form"
        return Target(f"/{key or ''}{suffix}", f"{bucket}.{DOMAIN}:{zas.port}")
    prefix = "/s3" if style == "s3" else ""
    if bucket is None:
        return Target(f"{prefix}/{suffix}")
    return Target(f"{prefix}/{bucket}" + (f"/{key}" if key else "") + suffix)


def call(
    zas: ZasProcess,
    caller: Caller,
    method: str,
    target: Target,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> RawResponse:
    """Sign `target` as `caller` (the Host a virtual-hosted request names is signed too) and
    send it to the server's 127.0.0.1 address."""
    headers = dict(headers or {})
    authority = f"127.0.0.1:{zas.port}"
    if target.host is not None:
        headers["Host"] = target.host
        authority = target.host
    signed = caller.sign(method, f"http://{authority}{target.path}", headers, body)
    return send(method, zas.endpoint + target.path, signed, body)


def presign_url(
    zas: ZasProcess,
    method: str,
    target: Target,
    keys: Keys,
    *,
    session_token: str | None = None,
    expires: int = 600,
    when: dt.datetime | None = None,
) -> str:
    """A SigV4 query-signed URL for `target` (as botocore presigns it); relative: path?query."""
    authority = target.host or f"127.0.0.1:{zas.port}"
    request = AWSRequest(method=method, url=f"http://{authority}{target.path}")
    signer = S3SigV4QueryAuth(
        Credentials(keys.access_key, keys.secret_key, session_token),
        "s3",
        "us-east-1",
        expires=expires,
    )
    if when is None:
        signer.add_auth(request)
    else:
        naive = when.astimezone(dt.UTC).replace(tzinfo=None)
        with mock.patch("botocore.auth.get_current_datetime", lambda remove_tzinfo=True: naive):
            signer.add_auth(request)
    parts = urlsplit(str(request.url))
    return f"{parts.path}?{parts.query}"


def send_presigned(
    zas: ZasProcess, method: str, url: str, host: str | None = None, body: bytes = b""
) -> RawResponse:
    headers = {"Host": host} if host is not None else {}
    return send(method, zas.endpoint + url, headers, body)


def error_code(response: RawResponse) -> str | None:
    """The error code of any answer: S3 XML <Code>, the JSON error of /admin and /rbac, or the
    header ZAS puts on HEAD errors (which have no body)."""
    if response.body.startswith(b"{"):
        try:
            error = json.loads(response.body).get("error")
        except ValueError:
            return None
        return None if not isinstance(error, dict) else str(error.get("code"))
    if response.body:
        return response.code
    return response.headers.get("x-zas-error-code")


def slug(text: str) -> str:
    """A short, stable, bucket-name-safe token for a test case (names its objects)."""
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def forge(token: str, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """`token` with its header and/or claims replaced, the original signature kept."""
    head, payload, signature = token.split(".")

    def encode(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    new_head = encode(header) if header is not None else head
    new_payload = encode({**kc.decode_jwt(token)[1], **claims}) if claims else payload
    return f"{new_head}.{new_payload}.{signature}"


def xml_keys(body: bytes) -> list[str]:
    return [k.decode() for k in re.findall(rb"<Key>([^<]*)</Key>", body)]


def xml_buckets(body: bytes) -> list[str]:
    return [n.decode() for n in re.findall(rb"<Name>([^<]*)</Name>", body)]
