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
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from quart import Response, g, jsonify, request

from zas.api.asgi import Scope
from zas.api.s3 import AuditTrail, client_ip, new_request_id, request_facts
from zas.auth.audit import AuditLog, AuditRecord
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
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self.authenticator = authenticator
        self.authorizer = Authorizer(authenticator.iam)
        self.audit = audit
        self.clock = clock

    def begin(self) -> None:
        """before_request: a request id, a start time and an empty trail."""
        g.request_id = new_request_id()
        g.started = time.perf_counter()
        g.trail = AuditTrail()

    async def identity(self) -> Identity:
        trail: AuditTrail = g.trail
        if trail.identity is None:
            wire = _wire_request()
            identity = await self.authenticator.authenticate(wire)
            if identity.signature is not None:
                await _check_payload(identity)
            trail.identity = identity
        return trail.identity

    async def check(self, action: str, resource: str) -> Identity:
        identity = await self.identity()
        trail: AuditTrail = g.trail
        permission = Permission(action, resource)
        trail.permission = permission
        facts = request_facts(_scope(), _wire_request(), self.clock()).context()
        decision = self.authorizer.decide(identity, permission, facts)
        trail.decision = "allow" if decision.allowed else "deny"
        trail.statement = None if decision.statement is None else str(decision.statement)
        if not decision.allowed:
            raise AccessDenied(f"{identity.name} is not allowed to perform {action} on {resource}")
        return identity

    def error(self, error: S3Error) -> tuple[Response, int]:
        trail: AuditTrail | None = getattr(g, "trail", None)
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
        """after_request: the audit record, and the request id header."""
        trail: AuditTrail | None = getattr(g, "trail", None)
        if trail is None:
            return response
        response.headers["x-amz-request-id"] = g.request_id
        identity = trail.identity
        permission = trail.permission
        self.audit.record(
            AuditRecord(
                time=self.clock(),
                request_id=g.request_id,
                principal=identity.name if identity else trail.principal,
                auth_method=identity.method if identity else trail.method,
                access_key_id=identity.access_key_id if identity else None,
                source_ip=client_ip(_scope()),
                method=request.method,
                path=request.scope.get("raw_path", b"").decode("latin-1") or request.path,
                action=permission.action if permission else None,
                resource=permission.resource if permission else None,
                bucket=None,
                key=None,
                decision=trail.decision,
                statement=trail.statement,
                status=response.status_code,
                error_code=trail.error_code,
                bytes_in=int(request.content_length or 0),
                bytes_out=int(response.content_length or 0),
                duration_ms=(time.perf_counter() - g.started) * 1000.0,
                user_agent=request.headers.get("user-agent"),
            )
        )
        return response


def _scope() -> Scope:
    return cast(Scope, request.scope)


def _wire_request() -> HttpRequest:
    scope = _scope()
    return HttpRequest.from_wire(
        scope["method"],
        scope.get("raw_path", b"").decode("latin-1") or scope["path"],
        scope.get("query_string", b"").decode("latin-1"),
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
    )


async def _check_payload(identity: Identity) -> None:
    """A signed body's declared SHA-256 must match (S3 checks it as the body streams)."""
    assert identity.signature is not None
    payload = identity.signature.payload
    if payload.kind is PayloadKind.SHA256:
        body = await request.get_data(cache=True, as_text=False)
        actual = hashlib.sha256(body if isinstance(body, bytes) else body.encode()).hexdigest()
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
