"""What happens to a finished request: one audit record, the metrics, one access-log line.

Both front doors (the S3 API and the Quart management app) keep a `RequestTrail` as a
request goes — who asked, which operation, what was decided — and hand it to
`Recorder.finish` once the status and byte counts are known, so the three outputs always
agree and are built in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import attrs

from zas.api.asgi import Scope
from zas.auth.audit import AuditLog, AuditRecord
from zas.auth.authenticate import Identity
from zas.auth.authorize import Permission
from zas.auth.policy import Decision
from zas.observability.logs import AccessLogger
from zas.observability.metrics import ZasMetrics
from zas.observability.tracing import Tracing
from zas.protocol import sigv4
from zas.protocol.http import HttpRequest

# Operations whose request body is an object's bytes, and whose response body is one.
_UPLOADS = frozenset({"PutObject", "UploadPart"})
_DOWNLOADS = frozenset({"GetObject"})


@attrs.define
class RequestTrail:
    """What is known about a request as it goes."""

    request_id: str
    started: float = attrs.field(factory=time.perf_counter)
    operation: str = "unknown"
    identity: Identity | None = None
    principal: str = "anonymous"  # until authenticated
    method: str = "none"
    permission: Permission | None = None
    action: str | None = None
    decision: str = "error"  # no decision was reached (bad signature, unknown route, ...)
    statement: str | None = None
    error_code: str | None = None

    def decided(self, permission: Permission, decision: Decision) -> None:
        self.permission = permission
        self.decision = "allow" if decision.allowed else "deny"
        self.statement = None if decision.statement is None else str(decision.statement)


def client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def attempted_method(request: HttpRequest) -> str:
    """How a request tried to authenticate, for the failure counter."""
    authorization = request.header("authorization") or ""
    if authorization[:7].lower() == "bearer ":
        return "bearer"
    if request.header("x-amz-security-token") or request.query_value("X-Amz-Security-Token"):
        return "sts"
    if sigv4.is_signed(request):
        return "presigned" if sigv4.is_presigned(request) else "sigv4"
    return "anonymous"


@attrs.define
class Recorder:
    audit: AuditLog
    metrics: ZasMetrics
    tracing: Tracing
    clock: Callable[[], datetime]
    access_log: AccessLogger = attrs.field(factory=AccessLogger)

    def begin(self, request_id: str) -> RequestTrail:
        self.metrics.request_started()
        return RequestTrail(request_id)

    def authenticated(self, identity: Identity) -> None:
        method = "sts" if identity.kind == "session" else identity.method
        self.metrics.authentication(method, "success")

    def authentication_failed(self, request: HttpRequest) -> None:
        self.metrics.authentication(attempted_method(request), "failure")

    def decided(self, trail: RequestTrail, permission: Permission, decision: Decision) -> None:
        trail.decided(permission, decision)
        self.metrics.authorization(trail.decision)

    def finish(
        self,
        trail: RequestTrail,
        scope: Scope,
        request: HttpRequest,
        status: int,
        bytes_in: int,
        bytes_out: int,
    ) -> None:
        seconds = time.perf_counter() - trail.started
        identity = trail.identity
        permission = trail.permission
        principal = identity.name if identity else trail.principal
        bucket = permission.bucket if permission else None
        key = permission.key if permission else None
        source_ip = client_ip(scope)
        user_agent = request.header("user-agent")
        self.audit.record(
            AuditRecord(
                time=self.clock(),
                request_id=trail.request_id,
                principal=principal,
                auth_method=identity.method if identity else trail.method,
                access_key_id=identity.access_key_id if identity else None,
                source_ip=source_ip,
                method=request.method,
                path=request.raw_path,
                action=permission.action if permission else trail.action,
                resource=permission.resource if permission else None,
                bucket=bucket,
                key=key,
                decision=trail.decision,
                statement=trail.statement,
                status=status,
                error_code=trail.error_code,
                bytes_in=bytes_in,
                bytes_out=bytes_out,
                duration_ms=seconds * 1000.0,
                user_agent=user_agent,
            )
        )
        metrics = self.metrics
        metrics.request_finished(trail.operation, status, seconds, bytes_in, bytes_out)
        if status < 300:
            if trail.operation in _UPLOADS:
                metrics.object_uploaded(bytes_in)
            elif trail.operation in _DOWNLOADS and request.method == "GET":
                metrics.object_downloaded(bytes_out)
        self.access_log.request(
            request_id=trail.request_id,
            trace_id=self.tracing.current_trace_id(),
            principal=principal,
            operation=trail.operation,
            bucket=bucket,
            key=key,
            status=status,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            duration_ms=round(seconds * 1000.0, 3),
            error_code=trail.error_code,
            method=request.method,
            path=request.raw_path,
            source_ip=source_ip,
            user_agent=user_agent,
        )
