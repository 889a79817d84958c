"""The Quart-Trio app for ZAS's own (non-S3) routes: health now; RBAC, supply chain, metrics
and admin as those capabilities land. JSON errors: {"error": {"code", "message", "request_id"}}.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from quart import Response, jsonify
from quart_trio import QuartTrio

from zas.observability.health import Lifecycle

# First path segments served by this app rather than the S3 API. Bucket names equal to these
# are reserved (zas.protocol.names.RESERVED_BUCKET_NAMES).
MANAGEMENT_PREFIXES = frozenset({"health"})

HealthReport = Callable[[], Coroutine[Any, Any, tuple[bool, dict[str, Any]]]]


def create_management_app(lifecycle: Lifecycle, report: HealthReport) -> QuartTrio:
    app = QuartTrio("zas")

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

    @app.errorhandler(404)
    async def not_found(_: Exception) -> tuple[Response, int]:
        return jsonify({"error": {"code": "NotFound", "message": "No such route"}}), 404

    return app
