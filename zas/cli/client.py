"""The CLI's HTTP client: JSON requests to a running ZAS, signed with SigV4.

Credentials, first found wins: --access-key/--secret-key, ZAS_ACCESS_KEY/ZAS_SECRET_KEY,
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), then the root credentials file
in --data-dir (what `zas serve` generated). A bearer token (--token or ZAS_TOKEN) replaces
signing altogether.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import attrs

from zas.auth.credentials import ROOT_CREDENTIALS_FILE
from zas.protocol import sigv4
from zas.protocol.http import HttpRequest

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"


class CliError(Exception):
    """What the CLI prints before exiting non-zero."""


@attrs.frozen(repr=False)
class Credentials:
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    bearer: str | None = None


def find_credentials(
    access_key: str | None, secret_key: str | None, token: str | None, data_dir: Path
) -> Credentials:
    env = os.environ
    if token or env.get("ZAS_TOKEN"):
        return Credentials(bearer=token or env["ZAS_TOKEN"])
    for ak, sk in (
        (access_key, secret_key),
        (env.get("ZAS_ACCESS_KEY"), env.get("ZAS_SECRET_KEY")),
        (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")),
    ):
        if ak and sk:
            return Credentials(ak, sk, env.get("AWS_SESSION_TOKEN"))
    stored = data_dir / ROOT_CREDENTIALS_FILE
    if stored.exists():
        data = json.loads(stored.read_text())
        return Credentials(data["access_key_id"], data["secret_access_key"])
    raise CliError(
        "no credentials: pass --access-key/--secret-key, set ZAS_ACCESS_KEY/ZAS_SECRET_KEY, "
        f"or run where {stored} exists"
    )


@attrs.frozen
class Client:
    endpoint: str
    credentials: Credentials
    region: str = "us-east-1"
    timeout: float = 60.0

    def call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        raw: bool = False,
        data: bytes | None = None,
    ) -> Any:
        """JSON in (or `data`, sent as is), JSON out (or bytes with raw=True); a ZAS error
        becomes CliError."""
        if data is None:
            data = b"" if body is None else json.dumps(body).encode()
            headers = {"content-type": "application/json"} if body is not None else {}
        else:
            headers = {"content-type": "application/octet-stream"}
        query_string = urlencode(sorted((query or {}).items()), quote_via=quote)
        url = self.endpoint.rstrip("/") + path + (f"?{query_string}" if query_string else "")
        headers.update(self._auth_headers(method, url, headers, data))
        request = urllib.request.Request(url, data=data or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise CliError(_describe(error.code, error.read())) from None
        except urllib.error.URLError as error:
            raise CliError(f"cannot reach ZAS at {self.endpoint}: {error.reason}") from None
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def _auth_headers(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> dict[str, str]:
        creds = self.credentials
        if creds.bearer:
            return {"authorization": f"Bearer {creds.bearer}"}
        assert creds.access_key and creds.secret_key
        now = datetime.now(UTC).replace(microsecond=0)
        parts = urlsplit(url)
        payload_hash = hashlib.sha256(body).hexdigest()
        signed = {
            **headers,
            "host": parts.netloc,
            "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
            "x-amz-content-sha256": payload_hash,
        }
        if creds.session_token:
            signed["x-amz-security-token"] = creds.session_token
        request = HttpRequest.from_wire(method, parts.path, parts.query, list(signed.items()))
        signed["authorization"] = sigv4.sign_request(
            request, creds.access_key, creds.secret_key, self.region, now, payload_hash
        )
        signed.pop("host")  # urllib sends it
        return signed


def _describe(status: int, body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"{status} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{status}: {body[:500].decode('utf-8', 'replace')}"
