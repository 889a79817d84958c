"""JSON calls to ZAS's /admin and /rbac APIs, signed by botocore (not by ZAS's own signer),
or carrying a bearer token; and boto3 clients for users created through them."""

from __future__ import annotations

import json
from typing import Any

import attrs
import boto3
from botocore.config import Config

from tests.e2e.raw import RawResponse, send, sign_headers
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess


@attrs.frozen
class Keys:
    access_key: str
    secret_key: str


ROOT = Keys(ACCESS_KEY, SECRET_KEY)


def credential_headers(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    keys: Keys | None,
    session_token: str | None = None,
    bearer: str | None = None,
) -> dict[str, str]:
    """`headers` plus the caller's credentials: a bearer token, or a botocore SigV4 signature
    (with the STS session token signed along), or nothing for an anonymous caller."""
    headers = dict(headers)
    if bearer is not None:
        headers["authorization"] = f"Bearer {bearer}"
        return headers
    if keys is None:
        return headers
    if session_token is not None:
        headers["x-amz-security-token"] = session_token
    return sign_headers(
        method, url, headers=headers, body=body,
        access_key=keys.access_key, secret_key=keys.secret_key,
    )  # fmt: skip


@attrs.frozen
class AdminApi:
    zas: ZasProcess
    keys: Keys | None = ROOT
    bearer: str | None = None
    session_token: str | None = None  # STS credentials: sent (and signed) with the keys

    def call(self, method: str, path: str, body: Any = None) -> RawResponse:
        url = self.zas.endpoint + path
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if body is not None else {}
        headers = credential_headers(
            method, url, headers, data,
            keys=self.keys, session_token=self.session_token, bearer=self.bearer,
        )  # fmt: skip
        return send(method, url, headers, data)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, body)
        assert 200 <= response.status < 300, response
        return json.loads(response.body) if response.body else None

    def create_user(self, name: str, *policies: str) -> Keys:
        self.ok("POST", "/admin/users", {"name": name, "policies": list(policies)})
        created = self.ok("POST", f"/admin/users/{name}/keys")
        return Keys(created["access_key_id"], created["secret_access_key"])

    def create_policy(self, policy_id: str, *statements: dict[str, Any]) -> None:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        self.ok("POST", "/rbac/policies", {"id": policy_id, "document": document})


def error_of(response: RawResponse) -> tuple[int, str]:
    """(status, code) of a JSON error answer."""
    return response.status, json.loads(response.body)["error"]["code"]


def s3_client(zas: ZasProcess, keys: Keys, session_token: str | None = None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=zas.endpoint,
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
        aws_session_token=session_token,
        region_name="us-east-1",
        config=Config(
            retries={"max_attempts": 0},
            s3={"addressing_style": "path"},
            signature_version="s3v4",
        ),
    )
