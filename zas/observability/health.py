"""Health probes: liveness, readiness and a per-component report. No secrets in the output.

`/health/ready` answers 503 while the server starts and while it drains on shutdown, so a
load balancer stops sending traffic before in-flight requests are cut.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import TYPE_CHECKING, Any

import attrs
import trio

from zas.auth.audit import AuditLog
from zas.meta.store import MetaStore
from zas.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from zas.auth.oidc import OidcVerifier

# Below this much free space the store reports itself not ready.
MIN_FREE_BYTES = 512 * 1024 * 1024


@attrs.define
class Lifecycle:
    """Where the server is in its life: starting -> serving -> draining."""

    state: str = "starting"
    started_at: float = attrs.field(factory=time.time)

    @property
    def draining(self) -> bool:
        return self.state == "draining"


async def component_report(
    lifecycle: Lifecycle,
    meta: MetaStore,
    blobs: LocalBlobStore,
    writer_alive: bool,
    oidc: OidcVerifier | None = None,
    audit: AuditLog | None = None,
) -> tuple[bool, dict[str, Any]]:
    def check_store() -> dict[str, Any]:
        probe = blobs.tmp_dir / f"health-{os.getpid()}.probe"
        try:
            probe.write_bytes(b"ok")
            probe.unlink()
            writable = True
        except OSError:
            writable = False
        usage = shutil.disk_usage(blobs.root)
        return {"writable": writable, "free_bytes": usage.free, "total_bytes": usage.total}

    store = await trio.to_thread.run_sync(check_store)
    store_ok = store["writable"] and store["free_bytes"] >= MIN_FREE_BYTES
    try:
        await meta.count_objects("")
        meta_ok, meta_detail = True, "ok"
    except Exception as exc:  # the probe reports, it does not crash
        meta_ok, meta_detail = False, type(exc).__name__
    components = {
        "metadata": {"status": "ok" if meta_ok else "fail", "detail": meta_detail},
        "blob_store": {"status": "ok" if store_ok else "fail", **store},
        "metadata_writer": {"status": "ok" if writer_alive else "fail"},
    }
    if blobs.process is not None:
        # Without it worker threads store and delete blobs: slower, still correct.
        components["blob_process"] = {"status": "ok" if blobs.process.alive else "degraded"}
    if audit is not None:
        components["audit_log"] = {
            "status": "ok" if audit.dropped == 0 else "degraded",
            "pending": audit.pending,
            "dropped": audit.dropped,
        }
    if oidc is not None:
        # An unreachable identity provider degrades SSO only; keys and anonymous reads work,
        # so it does not make the server unready.
        last = oidc.last_refresh
        components["identity_provider"] = {
            "status": "ok" if oidc.reachable else "degraded",
            "issuer": oidc.settings.issuer,
            "last_refresh": last.isoformat() if last else None,
            "detail": oidc.last_error or "ok",
        }
    ready = lifecycle.state == "serving" and meta_ok and store_ok and writer_alive
    return ready, {
        "status": "ok" if ready else "unavailable",
        "state": lifecycle.state,
        "uptime_seconds": round(time.time() - lifecycle.started_at, 3),
        "components": components,
    }
