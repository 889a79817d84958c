"""Assembling and running a ZAS server: storage, metadata, the apps, and Hypercorn.

`open_server(config)` owns every background task in one nursery (the metadata writer, the
multipart whole-object hasher and upload expiry, audit flushing and retention, JWKS refresh) and
tears them down in order: Hypercorn has finished in-flight requests before the writer is
cancelled and DuckDB closed.
"""

from __future__ import annotations

import functools
import gc
import logging
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from zas.api.asgi import Receive, Scope, Send
from zas.api.context import S3Context
from zas.api.guard import Guard
from zas.api.management import MANAGEMENT_PREFIXES, create_management_app
from zas.api.recorder import Recorder
from zas.api.s3 import S3Api
from zas.auth.audit import AuditLog
from zas.auth.authenticate import Authenticator
from zas.auth.credentials import AccessKey, load_or_create_root
from zas.auth.iam import IamDirectory
from zas.auth.sealing import load_or_create_master_key
from zas.auth.sts import SessionTokens
from zas.config import Config
from zas.meta.store import MetaStore
from zas.objects.multipart import MultipartUploads
from zas.objects.service import ObjectService
from zas.observability.connections import established_connections
from zas.observability.health import Lifecycle, component_report
from zas.observability.logs import AccessLogger, register_secret
from zas.observability.metrics import QuietMetrics, ZasMetrics
from zas.observability.tracing import Tracing
from zas.observability.tracing import install as install_tracing
from zas.protocol.operations import virtual_host_bucket
from zas.protocol.xml import Owner
from zas.storage.local import LocalBlobStore
from zas.supplychain.service import SupplyChain

if TYPE_CHECKING:
    from zas.auth.oidc import OidcVerifier

log = logging.getLogger("zas")
META_FILE = "meta.duckdb"
AUDIT_FILE = "audit.duckdb"
# Audit records waiting for their batch; ~1 KB each, so an audit stall costs at most ~20 MB
# of the server's memory budget before records are dropped (and counted).
AUDIT_MAX_PENDING = 20_000
# How often incomplete multipart uploads are checked for expiry.
EXPIRY_SWEEP_INTERVAL = 3600.0


@attrs.define
class Server:
    config: Config
    root_key: AccessKey
    root_key_generated: bool
    lifecycle: Lifecycle
    blobs: LocalBlobStore
    meta: MetaStore
    iam: IamDirectory
    audit: AuditLog
    oidc: OidcVerifier | None
    metrics: ZasMetrics
    tracing: Tracing
    supply_chain: SupplyChain
    service: ObjectService
    uploads: MultipartUploads
    s3: S3Api
    management: Any
    writer_alive: bool = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The one ASGI app: ZAS's own routes go to Quart, everything else is S3."""
        if scope["type"] == "http":
            if self._on_metrics_listener(scope) or self._is_management(scope):
                await self.management(scope, receive, send)
            else:
                await self.s3(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.management(scope, receive, send)

    def _on_metrics_listener(self, scope: Scope) -> bool:
        """The metrics listener serves /metrics and /health* only (the management app
        answers 404 for the rest there), without authentication."""
        if not self.config.metrics_listen:
            return False
        server = scope.get("server")
        if not server or server[1] != self.metrics_port:
            return False
        scope["zas.metrics_listener"] = True
        return True

    @property
    def metrics_port(self) -> int:
        return int((self.config.metrics_listen or ":0").rpartition(":")[2])

    def _is_management(self, scope: Scope) -> bool:
        first, _, rest = scope["path"].lstrip("/").partition("/")
        if first not in MANAGEMENT_PREFIXES:
            return False
        # PUT /health is a CreateBucket of a reserved name: S3 answers InvalidBucketName.
        if not rest and scope["method"] == "PUT":
            return False
        # Virtual-hosted style: for Host <bucket>.<domain> the whole path is an object key,
        # so "admin/users" there is a key, not the admin API.
        if self.config.domain:
            host = next((v for k, v in scope["headers"] if k == b"host"), b"")
            if virtual_host_bucket(host.decode("latin-1"), self.config.domain) is not None:
                return False
        return True


@asynccontextmanager
async def open_server(config: Config) -> AsyncIterator[Server]:
    data_dir = config.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    root_key, generated = load_or_create_root(
        data_dir, config.root_access_key, config.root_secret_key
    )
    blobs = LocalBlobStore(data_dir, fsync=config.fsync)
    removed = await blobs.remove_temporaries()
    if removed:
        log.info("removed %d unfinished upload(s) left by an earlier run", removed)
    master_key = load_or_create_master_key(data_dir, config.master_key)
    meta = await trio.to_thread.run_sync(
        functools.partial(MetaStore, data_dir / META_FILE, journal=config.metadata_journal)
    )
    audit = await trio.to_thread.run_sync(
        functools.partial(AuditLog, data_dir / AUDIT_FILE, max_pending=AUDIT_MAX_PENDING)
    )
    service = ObjectService(blobs, meta, region=config.region, owner=root_key.principal)
    meta.on_orphans = service.delete_orphans
    uploads = MultipartUploads(service, expiry=timedelta(days=config.multipart_expiry_days))

    def clock() -> datetime:
        return datetime.now(UTC)

    iam = IamDirectory(meta, master_key, clock)
    await iam.reload()
    oidc: OidcVerifier | None = None
    if config.oidc_issuer:
        # The JOSE/cryptography stack is loaded only when single sign-on is configured.
        from zas.auth.oidc import OidcSettings, OidcVerifier

        oidc = OidcVerifier(
            OidcSettings(
                issuer=config.oidc_issuer,
                audiences=_paths(config.oidc_audience),
                client_id=config.oidc_client_id,
                role_claims=_paths(config.oidc_role_claims),
                group_claims=_paths(config.oidc_group_claims),
                role_policies=config.role_policies,
                group_policies=config.group_policies,
                jwks_min_refresh_interval=timedelta(seconds=config.oidc_jwks_refresh_seconds),
                leeway=timedelta(seconds=config.oidc_leeway_seconds),
            )
        )
    authenticator = Authenticator(
        root_key,
        iam,
        SessionTokens(master_key),
        oidc,
        clock,
    )
    context = S3Context(service, uploads, Owner(root_key.principal, root_key.principal), clock, iam)
    lifecycle = Lifecycle()
    server: Server
    metrics = (ZasMetrics if config.metrics else QuietMetrics)(
        audit_pending=lambda: audit.pending,
        audit_dropped=lambda: audit.dropped,
        uploads_in_progress=lambda: meta.open_uploads,
        bucket_usage=meta.usage,
        disk_usage=lambda: _disk_usage(blobs.root),
        identity_provider_up=(lambda: oidc.reachable) if oidc is not None else None,
        open_connections=lambda: established_connections(config.port),
        database_memory=lambda: {"metadata": meta.memory_bytes(), "audit": audit.memory_bytes()},
    )
    meta.on_commit = metrics.batch_committed
    service.on_gc = metrics.gc_run
    tracing = Tracing.from_env()
    install_tracing(tracing)
    if tracing.enabled:
        log.info("tracing enabled (OpenTelemetry)")
    # JSON access lines are batched straight to stderr (where the log handler writes too).
    access_log = AccessLogger(stream=sys.stderr) if config.log_format == "json" else AccessLogger()
    recorder = Recorder(audit, metrics, tracing, clock, access_log)
    supply_chain = SupplyChain(meta, service, master_key, clock)
    supply_chain.on_event = metrics.supply_chain
    await supply_chain.reload()
    if not config.access_log:
        logging.getLogger("zas.access").setLevel(logging.WARNING)

    async def report() -> tuple[bool, dict[str, Any]]:
        return await component_report(
            lifecycle, meta, blobs, server.writer_alive, oidc=oidc, audit=audit
        )

    server = Server(
        config=config,
        root_key=root_key,
        root_key_generated=generated,
        lifecycle=lifecycle,
        blobs=blobs,
        meta=meta,
        iam=iam,
        audit=audit,
        oidc=oidc,
        service=service,
        uploads=uploads,
        metrics=metrics,
        tracing=tracing,
        supply_chain=supply_chain,
        s3=S3Api(
            context,
            authenticator,
            recorder,
            supply_chain,
            virtual_host_domain=config.domain,
        ),
        management=create_management_app(
            lifecycle,
            report,
            Guard(authenticator, recorder, clock),
            authenticator,
            audit,
            metrics,
            supply_chain,
            metrics_token=config.metrics_token,
        ),
    )
    try:
        async with trio.open_nursery() as nursery:
            if config.blob_process:
                await nursery.start(blobs.run_blob_process)
            await nursery.start(_run_writer, server)
            await nursery.start(audit.run)
            await nursery.start(access_log.run)
            if config.audit_retention_days is not None:
                nursery.start_soon(audit.run_retention, config.audit_retention_days)
            if oidc is not None:
                await nursery.start(oidc.run)
            await supply_chain.sweep()
            collected = await service.collect_garbage()
            await nursery.start(uploads.hasher.run)
            await nursery.start(uploads.run_expiry, EXPIRY_SWEEP_INTERVAL)
            if collected:
                log.info("removed %d blob(s) that no object refers to", collected)
            yield server
            nursery.cancel_scope.cancel()
    finally:
        meta.close()
        audit.close()
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(tracing.shutdown)


def _disk_usage(path: Path) -> tuple[int, int]:
    usage = shutil.disk_usage(path)
    return usage.free, usage.total


def _paths(value: str) -> tuple[str, ...]:
    return tuple(path.strip() for path in value.split(",") if path.strip())


async def _run_writer(server: Server, *, task_status: trio.TaskStatus[None]) -> None:
    server.writer_alive = True
    try:
        await server.meta.run_writer(task_status=task_status)
    finally:
        server.writer_alive = False


def hypercorn_config(config: Config) -> HypercornConfig:
    hc = HypercornConfig()
    hc.bind = [config.listen] + ([config.metrics_listen] if config.metrics_listen else [])
    hc.graceful_timeout = config.shutdown_grace
    hc.accesslog = None
    hc.errorlog = logging.getLogger("hypercorn.error")
    # Uploads of many gigabytes are normal here; Hypercorn's own read timeout stays off.
    hc.read_timeout = None
    hc.keep_alive_timeout = 75
    return hc


# Python's cyclic collector runs its young generation whenever 700 more container objects
# are alive than at its last run. A request leaves a few hundred objects in reference cycles
# (collected only by it), so under load it ran every one to a dozen requests, and each full
# collection walked the ~70,000 objects start-up left, pausing the event loop for up to
# ~80 ms. Measured in session 9 (BENCHMARKS.md): 0.14 ms of collection per 4 KiB PUT at c32
# with the defaults, ~0.01 ms with these settings; a few MB of cycles wait a little longer.
GC_YOUNG_THRESHOLD = 20_000


def settle_gc() -> None:
    """Once started: move every object alive now (modules, the app, its configuration and
    snapshots, all long-lived) out of the collector's sight, and collect the young
    generation every GC_YOUNG_THRESHOLD allocations. Cycles among frozen objects are never
    collected, which only matters for start-up objects later dropped: few, and small."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


async def run(
    config: Config, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve until SIGINT or SIGTERM, then drain: stop accepting, finish in-flight, exit."""
    async with open_server(config) as server:
        register_secret(server.root_key.secret_access_key)
        if server.root_key_generated:
            print(
                "ZAS generated root credentials (stored 0600 in "
                f"{config.data_dir / 'root-credentials.json'}; shown only this once):\n"
                f"  access key: {server.root_key.access_key_id}\n"
                f"  secret key: {server.root_key.secret_access_key}",
                flush=True,
            )
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

            async def shutdown_trigger() -> None:
                async for signum in signals:
                    log.info("received %s: draining", signal.Signals(signum).name)
                    server.lifecycle.state = "draining"
                    # Readiness says 503 now; keep serving while load balancers notice,
                    # then stop accepting and let in-flight requests finish.
                    await trio.sleep(config.shutdown_delay)
                    return

            settle_gc()
            async with trio.open_nursery() as nursery:
                await nursery.start(
                    functools.partial(
                        serve,
                        server,  # type: ignore[arg-type]  # our ASGI types are looser than Hypercorn's
                        hypercorn_config(config),
                        shutdown_trigger=shutdown_trigger,
                    )
                )
                server.lifecycle.state = "serving"
                log.info("ZAS listening on http://%s (data in %s)", config.listen, config.data_dir)
                print(f"ZAS listening on http://{config.listen}", flush=True)
                task_status.started()
    log.info("ZAS stopped")
