"""The Quart-Trio app for ZAS's own (non-S3) routes: health, `/admin` (users, keys) and
`/rbac` (policies, dry-run authorization, audit), `/supplychain` and `/metrics`.
JSON errors: {"error": {"code", "message", "request_id"}} with the S3 error code's status.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any

import trio
from quart import Response, jsonify, request
from quart_trio import QuartTrio
from werkzeug.exceptions import NotFound

from zas.api.admin import admin_blueprint
from zas.api.guard import Guard
from zas.api.rbac import rbac_blueprint
from zas.api.supplychain import supplychain_blueprint
from zas.auth.actions import ZAS_GET_METRICS
from zas.auth.audit import AuditLog
from zas.auth.authenticate import Authenticator
from zas.observability.health import Lifecycle
from zas.observability.metrics import ZasMetrics
from zas.protocol.errors import AccessDenied, InternalError, S3Error
from zas.supplychain.service import SupplyChain

# First path segments served by this app rather than the S3 API. Bucket names equal to these
# are reserved (zas.protocol.names.RESERVED_BUCKET_NAMES).
MANAGEMENT_PREFIXES = frozenset({"health", "admin", "rbac", "metrics", "supplychain"})

HealthReport = Callable[[], Coroutine[Any, Any, tuple[bool, dict[str, Any]]]]


def create_management_app(
    lifecycle: Lifecycle,
    report: HealthReport,
    guard: Guard,
    authenticator: Authenticator,
    audit: AuditLog,
    metrics: ZasMetrics,
    supply_chain: SupplyChain,
    *,
    metrics_token: str | None = None,
) -> QuartTrio:
    app = QuartTrio("zas")
    iam = authenticator.iam

    @app.get("/metrics")
    async def prometheus() -> Response:
        if not request.scope.get("zas.metrics_listener"):
            await _metrics_access(guard, metrics_token)
        # Bucket usage is counted as DuckDB applies rows: journaled PUTs first.
        await supply_chain.meta.caught_up()
        body, content_type = await trio.to_thread.run_sync(
            metrics.render, request.headers.get("accept")
        )
        return Response(body, content_type=content_type)

    @app.get("/health/live")
    async def live() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/health/ready")
    async def ready() -> tuple[Response, int]:
        is_ready, body = await report()
        return jsonify({"status": body["status"], "state": lifecycle.state}), (
            200 if is_ready else 503
        )

    @app.get("/health")
    async def health() -> tuple[Response, int]:
        is_ready, body = await report()
        return jsonify(body), 200 if is_ready else 503

    app.register_blueprint(admin_blueprint(guard, iam))
    app.register_blueprint(rbac_blueprint(guard, iam, authenticator, audit))
    app.register_blueprint(supplychain_blueprint(guard, supply_chain))

    @app.before_request
    async def begin() -> None:
        guard.begin()
        if request.scope.get("zas.metrics_listener") and not (
            request.path == "/metrics" or request.path.startswith("/health")
        ):
            raise NotFound()

    @app.after_request
    async def finish(response: Response) -> Response:
        return guard.finish(response)

    @app.errorhandler(S3Error)
    async def s3_error(error: S3Error) -> tuple[Response, int]:
        return guard.error(error)

    @app.errorhandler(404)
    async def not_found(_: Exception) -> tuple[Response, int]:
        return jsonify({"error": {"code": "NotFound", "message": "No such route"}}), 404

    @app.errorhandler(405)
    async def not_allowed(_: Exception) -> tuple[Response, int]:
        return jsonify(
            {"error": {"code": "MethodNotAllowed", "message": "Method not allowed here"}}
        ), 405

    @app.errorhandler(Exception)
    async def internal(error: Exception) -> tuple[Response, int]:
        app.logger.exception("management request failed", exc_info=error)
        return guard.error(InternalError())

    return app


async def _metrics_access(guard: Guard, token: str | None) -> None:
    """The main listener's /metrics: the configured bearer token, or zas:GetMetrics."""
    if token is not None:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return
        raise AccessDenied("/metrics needs the configured metrics bearer token")
    await guard.check(ZAS_GET_METRICS, "*")
