"""Authentication, authorization and audit for ZAS's own JSON APIs (`/admin`, `/rbac`).

The same identities and policies as S3: SigV4 (root, user or STS session keys; service "s3",
so `curl --aws-sigv4 aws:amz:<region>:s3` and the `zas` CLI both work), or an OIDC bearer
token. Each route names its `zas:` action and resource; `Guard.check` answers 401-ish
failures and 403 denials with the S3 error codes, as JSON. Every request is audited once,
after the response is known (`after_request`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import trio
from quart import Response, g, jsonify, request

from zas.api.asgi import Scope, request_from_scope
from zas.api.recorder import Recorder, RequestTrail
from zas.api.s3 import new_request_id, request_facts
from zas.auth.authenticate import Authenticator, Identity
from zas.auth.authorize import Authorizer, Permission
from zas.protocol.errors import (
    AccessDenied,
    InvalidRequest,
    S3Error,
    XAmzContentSHA256Mismatch,
)
from zas.protocol.http import HttpRequest
from zas.protocol.sigv4 import PayloadKind

IAM_ARN = "arn:zas:iam:::"
# The operation label of management requests (metrics, access log): the route family.
MANAGEMENT_OPERATIONS = frozenset({"admin", "rbac", "health", "metrics", "supplychain"})
MAX_JSON_BODY = 1024 * 1024


def user_arn(name: str) -> str:
    return f"{IAM_ARN}user/{name}"


def policy_arn(policy_id: str) -> str:
    return f"{IAM_ARN}policy/{policy_id}"


AUDIT_ARN = "arn:zas:audit:::log"


class Guard:
    def __init__(
        self,
        authenticator: Authenticator,
        recorder: Recorder,
        clock: Callable[[], datetime],
    ) -> None:
        self.authenticator = authenticator
        self.authorizer = Authorizer(authenticator.iam)
        self.recorder = recorder
        self.clock = clock

    def begin(self) -> None:
        """before_request: a request id, a start time and an empty trail."""
        trail = self.recorder.begin(new_request_id())
        first = request.path.strip("/").partition("/")[0]
        trail.operation = first if first in MANAGEMENT_OPERATIONS else "other"
        g.trail = trail
        g.request_id = trail.request_id

    async def identity(self) -> Identity:
        trail: RequestTrail = g.trail
        if trail.identity is None:
            wire = _wire_request()
            try:
                identity = await self.authenticator.authenticate(wire)
                if identity.signature is not None:
                    await _check_payload(identity)
            except S3Error:
                self.recorder.authentication_failed(wire)
                raise
            self.recorder.authenticated(identity)
            trail.identity = identity
        return trail.identity

    async def check(self, action: str, resource: str) -> Identity:
        identity = await self.identity()
        trail: RequestTrail = g.trail
        permission = Permission(action, resource)
        facts = request_facts(_scope(), _wire_request(), self.clock())
        decision = self.authorizer.decide(identity, permission, facts)
        self.recorder.decided(trail, permission, decision)
        if not decision.allowed:
            raise AccessDenied(f"{identity.name} is not allowed to perform {action} on {resource}")
        return identity

    def error(self, error: S3Error) -> tuple[Response, int]:
        trail: RequestTrail | None = getattr(g, "trail", None)
        if trail is not None:
            trail.error_code = error.code
        body = {
            "error": {
                "code": error.code,
                "message": error.message,
                "request_id": getattr(g, "request_id", None),
            }
        }
        return jsonify(body), error.http_status

    def finish(self, response: Response) -> Response:
        """after_request: the audit record, metrics and access log; the request id header."""
        trail: RequestTrail | None = getattr(g, "trail", None)
        if trail is None:
            return response
        response.headers["x-amz-request-id"] = trail.request_id
        self.recorder.finish(
            trail,
            _scope(),
            _wire_request(),
            response.status_code,
            int(request.content_length or 0),
            int(response.content_length or 0),
        )
        return response


def _scope() -> Scope:
    return cast(Scope, request.scope)


def _wire_request() -> HttpRequest:
    """The request as the protocol layer sees it, built once per request."""
    wire: HttpRequest | None = getattr(g, "wire", None)
    if wire is None:
        wire = g.wire = request_from_scope(_scope())
    return wire


async def _check_payload(identity: Identity) -> None:
    """A signed body's declared SHA-256 must match (S3 checks it as the body streams)."""
    assert identity.signature is not None
    payload = identity.signature.payload
    if payload.kind is PayloadKind.SHA256:
        body = await request.get_data(cache=True, as_text=False)
        data = body if isinstance(body, bytes) else body.encode()
        # Evidence uploads can be tens of MB: hash off the event loop (hashlib drops the GIL).
        actual = (await trio.to_thread.run_sync(hashlib.sha256, data)).hexdigest()
        if not hmac.compare_digest(actual, payload.value):
            raise XAmzContentSHA256Mismatch(
                ClientComputedContentSHA256=payload.value, S3ComputedContentSHA256=actual
            )


async def json_body() -> dict[str, Any]:
    """The request's JSON object, or InvalidRequest naming what is wrong."""
    if (request.content_length or 0) > MAX_JSON_BODY:
        raise InvalidRequest(f"JSON bodies are limited to {MAX_JSON_BODY} bytes")
    data = await request.get_data(cache=True)
    try:
        value = json.loads(data or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidRequest("The body must be a JSON object")
    return value


def sql_request(body: dict[str, Any]) -> tuple[str, int]:
    """The {"sql", "max_rows"} of an analyst-query request, checked."""
    sql = body.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidRequest("'sql' must be a SELECT statement")
    max_rows = body.get("max_rows", 1000)
    if not isinstance(max_rows, int) or not 1 <= max_rows <= 10_000:
        raise InvalidRequest("'max_rows' must be an integer from 1 to 10000")
    return sql, max_rows
