"""Prometheus metrics for ZAS: what is counted, under which names, and how it is exposed.

`ZasMetrics` owns its own `CollectorRegistry` (never the process-global one, so two servers in
one test process do not share counters) with the standard process, platform and GC collectors,
plus one custom collector that renders everything ZAS counts. It may not touch the network,
the request objects or any I/O other than what its callbacks do at scrape time.

Why hand-rolled accumulators instead of `prometheus_client.Counter`/`Histogram` children:
measured on the 2-core box, `Counter.inc()` costs ~1.4 us and `Histogram.observe()` ~3 us (each
takes a `threading.Lock`), so the seven updates of one small GET cost ~13 us. The event-driven
methods here add to plain ints in `__slots__` objects (bisect for histograms) and cost a few us
for the whole request; the library still builds the families and the exposition text at scrape
time, so the output format is prometheus-client's own. The hot-path methods are meant to be
called from the trio thread; the rare ones that may come from worker threads (`batch_committed`,
`gc_run`, `supply_chain`) take a lock.

Naming follows https://prometheus.io/docs/practices/naming/: `zas_` prefix, base units
(`_seconds`, `_bytes`), counters end in `_total`. Label values come from small closed sets
(operation names, status classes, auth methods); unknown values are folded into "other" so a
caller bug cannot explode the series count. Object keys and user names are never labels; the
only open-ended label is `bucket` on the per-bucket usage gauges (buckets are few and created
by administrators).
"""

from __future__ import annotations

import bisect
import importlib.metadata
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final, Literal, TypeVar, cast

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

log = logging.getLogger("zas.metrics")
_T = TypeVar("_T")

__all__ = [
    "AUTH_METHODS",
    "METRICS",
    "OPERATIONS",
    "SUPPLY_CHAIN_OPERATIONS",
    "ZasMetrics",
    "promql_names",
]

KiB: Final = 1024
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB

# Request latency: small metadata calls land in the ms buckets, multi-GiB transfers in minutes.
LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
)  # fmt: skip
# Object sizes from 1 KiB to S3's 5 GiB single-PUT limit, by factors of four.
SIZE_BUCKETS: Final = (
    1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB,
    256 * MiB, 1 * GiB, 5 * GiB,
)  # fmt: skip
# A DuckDB batch commit costs ~1.5 ms for one row and ~10 ms for 1,000 (DESIGN.md).
COMMIT_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
BATCH_SIZE_BUCKETS: Final = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

OTHER: Final = "other"

# Every value the `operation` label may take. S3 names as `zas.protocol.operations` routes them;
# the non-S3 API families by their module name; "unknown" for requests that never routed.
OPERATIONS: Final[frozenset[str]] = frozenset(
    {
        "ListBuckets",
        "CreateBucket",
        "HeadBucket",
        "GetBucketLocation",
        "GetBucketVersioning",
        "GetBucketPolicy",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "DeleteBucket",
        "ListObjects",
        "ListObjectsV2",
        "PutObject",
        "GetObject",
        "HeadObject",
        "DeleteObject",
        "CopyObject",
        "DeleteObjects",
        "PutObjectTagging",
        "GetObjectTagging",
        "DeleteObjectTagging",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
        "ListMultipartUploads",
        "admin",
        "management",
        "rbac",
        "supplychain",
        "sts",
        "health",
        "metrics",
        "unknown",
        OTHER,
    }
)
AuthMethod = Literal["sigv4", "presigned", "bearer", "sts", "anonymous"]
AUTH_METHODS: Final[tuple[str, ...]] = ("sigv4", "presigned", "bearer", "sts", "anonymous")
AuthResult = Literal["success", "failure"]
AuthzResult = Literal["allow", "deny"]
SupplyChainOperation = Literal["sign", "verify", "sbom", "attestation"]
SUPPLY_CHAIN_OPERATIONS: Final[tuple[str, ...]] = ("sign", "verify", "sbom", "attestation")

# Every metric family ZAS itself exposes, by the name a PromQL query uses (counters with their
# `_total`, histograms by their base name), with its type. `tests/observability` keeps this
# equal to what `render()` produces; the deploy/ test checks dashboards and alerts against it.
METRICS: Final[Mapping[str, str]] = {
    "zas_build_info": "gauge",
    "zas_http_requests_total": "counter",
    "zas_http_request_duration_seconds": "histogram",
    "zas_http_requests_in_flight": "gauge",
    "zas_http_open_connections": "gauge",
    "zas_http_received_bytes_total": "counter",
    "zas_http_sent_bytes_total": "counter",
    "zas_object_upload_size_bytes": "histogram",
    "zas_object_download_size_bytes": "histogram",
    "zas_multipart_uploads_in_progress": "gauge",
    "zas_bucket_objects": "gauge",
    "zas_bucket_stored_bytes": "gauge",
    "zas_blob_store_free_bytes": "gauge",
    "zas_blob_store_total_bytes": "gauge",
    "zas_database_memory_bytes": "gauge",
    "zas_metadata_batch_commit_duration_seconds": "histogram",
    "zas_metadata_batch_size": "histogram",
    "zas_audit_queue_length": "gauge",
    "zas_audit_dropped_total": "counter",
    "zas_authentication_attempts_total": "counter",
    "zas_authorization_decisions_total": "counter",
    "zas_identity_provider_up": "gauge",
    "zas_supply_chain_operations_total": "counter",
    "zas_gc_runs_total": "counter",
    "zas_gc_reclaimed_blobs_total": "counter",
    "zas_gc_reclaimed_bytes_total": "counter",
    "zas_metrics_callback_errors_total": "counter",
}

# prometheus-client's own `le` formatting, so our buckets read like its histograms' ("1.0", "+Inf").
_go_float = cast(Callable[[float], str], floatToGoString)

_HISTOGRAM_SUFFIXES: Final = ("_bucket", "_sum", "_count")


def promql_names() -> frozenset[str]:
    """Every series name a query may use: `METRICS` plus the `_bucket/_sum/_count` of histograms."""
    names = set(METRICS)
    for name, kind in METRICS.items():
        if kind == "histogram":
            names.update(name + suffix for suffix in _HISTOGRAM_SUFFIXES)
    return frozenset(names)


class _Histogram:
    """Per-bucket (not cumulative) counts and a sum; made cumulative only at scrape time."""

    __slots__ = ("bounds", "counts", "les", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.les = tuple(_go_float(bound) for bound in bounds)
        self.counts = [0] * (len(bounds) + 1)  # the last slot is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le is <=).
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for le, count in zip(self.les, self.counts, strict=False):
            running += count
            out.append((le, running))
        out.append(("+Inf", running + self.counts[-1]))
        return out


class _OperationStats:
    """Everything `request_finished` touches for one operation, found with one dict lookup."""

    __slots__ = ("by_class", "latency")

    def __init__(self) -> None:
        self.by_class = [0] * 6  # index = status // 100; 0 unused
        self.latency = _Histogram(LATENCY_BUCKETS)


_STATUS_CLASSES: Final = ("", "1xx", "2xx", "3xx", "4xx", "5xx")


def _histogram_family(
    name: str, doc: str, labelnames: Iterable[str], items: Iterable[tuple[list[str], _Histogram]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=list(labelnames))
    for labels, hist in items:
        buckets = hist.buckets()
        family.add_metric(labels, buckets, sum_value=hist.total)
    return family


class ZasMetrics:
    """The server's metrics: cheap event methods for the request path, `render()` for /metrics.

    Values that already live elsewhere (audit queue, uploads in progress, per-bucket usage,
    disk space, IdP reachability, dropped audit records) are read through callbacks at scrape
    time, so nothing is done per request to keep them current. A callback that raises is logged
    and counted in `zas_metrics_callback_errors_total`; the rest of the scrape still succeeds.
    """

    def __init__(
        self,
        *,
        audit_pending: Callable[[], int] | None = None,
        audit_dropped: Callable[[], int] | None = None,
        uploads_in_progress: Callable[[], int] | None = None,
        bucket_usage: Callable[[], Mapping[str, tuple[int, int]]] | None = None,
        disk_usage: Callable[[], tuple[int, int]] | None = None,
        identity_provider_up: Callable[[], bool | None] | None = None,
        open_connections: Callable[[], int] | None = None,
        database_memory: Callable[[], Mapping[str, int]] | None = None,
        extra_operations: Iterable[str] = (),
        version: str | None = None,
    ) -> None:
        """Callbacks, all optional (a missing one omits its family):

        - `audit_pending()`: audit records queued, not yet written;
        - `audit_dropped()`: cumulative count of audit records lost (never decreases);
        - `uploads_in_progress()`: multipart uploads created and not completed/aborted;
        - `bucket_usage()`: bucket name -> (objects, bytes), from memory, not from SQL;
        - `disk_usage()`: (free_bytes, total_bytes) of the blob store's filesystem;
        - `identity_provider_up()`: True/False for the last JWKS/discovery fetch, None when no
          IdP is configured;
        - `open_connections()`: client connections open now (the server counts its sockets;
          Hypercorn tells the app nothing about connections). Without it the gauge reads 0.
        - `database_memory()`: database name -> bytes DuckDB holds in memory for it (buffer
          pool, indexes), the part of the server's RSS that is not Python's.
        """
        self._callbacks_audit_pending = audit_pending
        self._callbacks_audit_dropped = audit_dropped
        self._callbacks_uploads = uploads_in_progress
        self._callbacks_buckets = bucket_usage
        self._callbacks_disk = disk_usage
        self._callbacks_idp = identity_provider_up
        self._callbacks_connections = open_connections
        self._callbacks_database_memory = database_memory
        self._version = version if version is not None else _package_version()
        self._allowed_operations = OPERATIONS | frozenset(extra_operations)

        self._operations: dict[str, _OperationStats] = {}
        self._in_flight = 0
        self._bytes_in = 0
        self._bytes_out = 0
        self._upload_sizes = _Histogram(SIZE_BUCKETS)
        self._download_sizes = _Histogram(SIZE_BUCKETS)
        self._authn: dict[tuple[str, str], int] = {
            (m, r): 0 for m in (*AUTH_METHODS, OTHER) for r in ("success", "failure")
        }
        self._authz = {"allow": 0, "deny": 0}
        self._supply_chain: dict[tuple[str, str], int] = {
            (o, r): 0 for o in SUPPLY_CHAIN_OPERATIONS for r in ("success", "failure")
        }
        self._commit_seconds = _Histogram(COMMIT_BUCKETS)
        self._batch_sizes = _Histogram(BATCH_SIZE_BUCKETS)
        self._gc_runs = 0
        self._gc_blobs = 0
        self._gc_bytes = 0
        self._callback_errors: dict[str, int] = {}
        self._lock = threading.Lock()

        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.registry.register(_ZasCollector(self))

    # --- the request path (trio thread) -------------------------------------------------------

    def request_started(self) -> None:
        self._in_flight += 1

    def request_finished(
        self, operation: str, status: int, seconds: float, bytes_in: int, bytes_out: int
    ) -> None:
        """Count one answered request; call it exactly once per `request_started`, in a finally."""
        self._in_flight -= 1
        stats = self._operations.get(operation)
        if stats is None:
            stats = self._new_operation(operation)
        status_class = status // 100
        # A status outside 100..599 is a server bug; count it where someone will look.
        stats.by_class[status_class if 1 <= status_class <= 5 else 5] += 1
        stats.latency.observe(seconds)
        self._bytes_in += bytes_in
        self._bytes_out += bytes_out

    def _new_operation(self, operation: str) -> _OperationStats:
        if operation not in self._allowed_operations:
            operation = OTHER  # never cache the unknown name itself: it could be anything
            existing = self._operations.get(OTHER)
            if existing is not None:
                return existing
        stats = self._operations[operation] = _OperationStats()
        return stats

    def object_uploaded(self, size: int) -> None:
        self._upload_sizes.observe(size)

    def object_downloaded(self, size: int) -> None:
        self._download_sizes.observe(size)

    def authentication(self, method: AuthMethod | str, result: AuthResult | str) -> None:
        key = (method, result)
        if key in self._authn:
            self._authn[key] += 1
        else:
            self._authn[OTHER, "failure" if result != "success" else "success"] += 1

    def authorization(self, result: AuthzResult | str) -> None:
        # Anything but an explicit allow is a deny: fail closed in the numbers too.
        self._authz["allow" if result == "allow" else "deny"] += 1

    # --- rarer events, possibly from worker threads -----------------------------------------

    def batch_committed(self, seconds: float, size: int) -> None:
        """One metadata group commit: how long it took and how many changes it carried."""
        with self._lock:
            self._commit_seconds.observe(seconds)
            self._batch_sizes.observe(size)

    def gc_run(self, blobs: int, bytes_reclaimed: int) -> None:
        with self._lock:
            self._gc_runs += 1
            self._gc_blobs += blobs
            self._gc_bytes += bytes_reclaimed

    def supply_chain(self, operation: SupplyChainOperation | str, result: AuthResult | str) -> None:
        """A signing, verification, SBOM or attestation step and whether it succeeded."""
        if operation not in SUPPLY_CHAIN_OPERATIONS:
            raise ValueError(f"unknown supply-chain operation {operation!r}")
        with self._lock:
            self._supply_chain[operation, "success" if result == "success" else "failure"] += 1

    # --- exposition --------------------------------------------------------------------------

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition and its content type; OpenMetrics when `accept` asks for it."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def _read(self, name: str, callback: Callable[[], _T] | None) -> _T | None:
        if callback is None:
            return None
        try:
            return callback()
        except Exception:
            log.warning("metrics callback %s failed", name, exc_info=True)
            with self._lock:
                self._callback_errors[name] = self._callback_errors.get(name, 0) + 1
            return None

    def collect(self) -> Iterator[Metric]:
        """The ZAS families (not the process ones); `render()` is what /metrics serves."""
        info = GaugeMetricFamily("zas_build_info", "ZAS version running.", labels=["version"])
        info.add_metric([self._version], 1)
        yield info

        # Copy before iterating: a request may add an operation while a worker thread scrapes.
        operations = sorted(self._operations.items())
        requests = CounterMetricFamily(
            "zas_http_requests",
            "Requests answered, by S3 operation (or API family) and HTTP status class.",
            labels=["operation", "status_class"],
        )
        for name, stats in operations:
            for index in range(1, 6):
                # 2xx-5xx always appear once an operation has been seen, so that error ratios
                # and rate() work from the first error on; 1xx only if it ever happened.
                if index > 1 or stats.by_class[index]:
                    requests.add_metric([name, _STATUS_CLASSES[index]], stats.by_class[index])
        yield requests
        yield _histogram_family(
            "zas_http_request_duration_seconds",
            "Time from request start to the last byte of the answer, by operation.",
            ["operation"],
            (([name], stats.latency) for name, stats in operations),
        )
        yield GaugeMetricFamily(
            "zas_http_requests_in_flight", "Requests being served now.", value=self._in_flight
        )
        connections = self._read("open_connections", self._callbacks_connections)
        yield GaugeMetricFamily(
            "zas_http_open_connections",
            "Client connections open now.",
            value=connections or 0,
        )
        yield CounterMetricFamily(
            "zas_http_received_bytes", "Request body bytes received.", value=self._bytes_in
        )
        yield CounterMetricFamily(
            "zas_http_sent_bytes", "Response body bytes sent.", value=self._bytes_out
        )
        yield _histogram_family(
            "zas_object_upload_size_bytes",
            "Sizes of objects and parts stored.",
            [],
            [([], self._upload_sizes)],
        )
        yield _histogram_family(
            "zas_object_download_size_bytes",
            "Sizes of object bodies (or ranges) served.",
            [],
            [([], self._download_sizes)],
        )

        authn = CounterMetricFamily(
            "zas_authentication_attempts",
            "Authentication attempts by method and result.",
            labels=["method", "result"],
        )
        for (method, result), count in sorted(self._authn.items()):
            authn.add_metric([method, result], count)
        yield authn
        authz = CounterMetricFamily(
            "zas_authorization_decisions", "Authorization decisions by result.", labels=["result"]
        )
        for result, count in sorted(self._authz.items()):
            authz.add_metric([result], count)
        yield authz

        with self._lock:
            commit = _histogram_family(
                "zas_metadata_batch_commit_duration_seconds",
                "Duration of one metadata group commit.",
                [],
                [([], self._commit_seconds)],
            )
            batch = _histogram_family(
                "zas_metadata_batch_size",
                "Changes carried by one metadata group commit.",
                [],
                [([], self._batch_sizes)],
            )
            supply = CounterMetricFamily(
                "zas_supply_chain_operations",
                "Signing, verification, SBOM and attestation operations by result.",
                labels=["operation", "result"],
            )
            for (operation, result), count in sorted(self._supply_chain.items()):
                supply.add_metric([operation, result], count)
            gc = (self._gc_runs, self._gc_blobs, self._gc_bytes)
        yield commit
        yield batch
        yield supply
        yield CounterMetricFamily("zas_gc_runs", "Garbage-collection runs completed.", value=gc[0])
        yield CounterMetricFamily(
            "zas_gc_reclaimed_blobs", "Unreferenced blobs deleted by GC.", value=gc[1]
        )
        yield CounterMetricFamily(
            "zas_gc_reclaimed_bytes", "Bytes freed by deleting unreferenced blobs.", value=gc[2]
        )

        yield from self._collect_callbacks()

    def _collect_callbacks(self) -> Iterator[Metric]:
        pending = self._read("audit_pending", self._callbacks_audit_pending)
        if pending is not None:
            yield GaugeMetricFamily(
                "zas_audit_queue_length", "Audit records waiting to be written.", value=pending
            )
        dropped = self._read("audit_dropped", self._callbacks_audit_dropped)
        if dropped is not None:
            yield CounterMetricFamily(
                "zas_audit_dropped", "Audit records lost (queue full or write failure).", dropped
            )
        uploads = self._read("uploads_in_progress", self._callbacks_uploads)
        if uploads is not None:
            yield GaugeMetricFamily(
                "zas_multipart_uploads_in_progress",
                "Multipart uploads created and not yet completed or aborted.",
                value=uploads,
            )
        usage = self._read("bucket_usage", self._callbacks_buckets)
        if usage is not None:
            objects = GaugeMetricFamily(
                "zas_bucket_objects", "Objects stored, per bucket.", labels=["bucket"]
            )
            stored = GaugeMetricFamily(
                "zas_bucket_stored_bytes",
                "Logical bytes stored (before deduplication), per bucket.",
                labels=["bucket"],
            )
            for bucket, (count, size) in sorted(usage.items()):
                objects.add_metric([bucket], count)
                stored.add_metric([bucket], size)
            yield objects
            yield stored
        disk = self._read("disk_usage", self._callbacks_disk)
        if disk is not None:
            yield GaugeMetricFamily(
                "zas_blob_store_free_bytes",
                "Free bytes on the blob store's filesystem (for unprivileged users).",
                value=disk[0],
            )
            yield GaugeMetricFamily(
                "zas_blob_store_total_bytes",
                "Size of the blob store's filesystem.",
                value=disk[1],
            )
        memory = self._read("database_memory", self._callbacks_database_memory)
        if memory is not None:
            held = GaugeMetricFamily(
                "zas_database_memory_bytes",
                "Memory DuckDB holds for each database (buffer pool, indexes), part of the RSS.",
                labels=["database"],
            )
            for database, size in sorted(memory.items()):
                held.add_metric([database], size)
            yield held
        idp_up = self._read("identity_provider_up", self._callbacks_idp)
        if idp_up is not None:
            yield GaugeMetricFamily(
                "zas_identity_provider_up",
                "1 when the OIDC identity provider answered the last key/discovery fetch.",
                value=1 if idp_up else 0,
            )
        errors = CounterMetricFamily(
            "zas_metrics_callback_errors",
            "Scrape-time callbacks that raised (their family is missing from that scrape).",
            labels=["callback"],
        )
        with self._lock:
            for name, count in sorted(self._callback_errors.items()):
                errors.add_metric([name], count)
        yield errors


class _ZasCollector(Collector):
    """Adapter: the registry calls `collect()`; the state stays on `ZasMetrics`."""

    def __init__(self, metrics: ZasMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.collect()

    def describe(self) -> Iterable[Metric]:
        # With auto_describe off the registry would otherwise not call collect() on register;
        # an empty describe keeps registration free of scrape-time callbacks.
        return []


def _package_version() -> str:
    try:
        return importlib.metadata.version("zas")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class QuietMetrics(ZasMetrics):
    """Counts nothing on the request path (config `metrics: false`); /metrics still answers
    with the scrape-time figures. Exists so the benchmark can show what counting costs."""

    def request_started(self) -> None:
        pass

    def request_finished(
        self, operation: str, status: int, seconds: float, bytes_in: int, bytes_out: int
    ) -> None:
        pass

    def object_uploaded(self, size: int) -> None:
        pass

    def object_downloaded(self, size: int) -> None:
        pass

    def authentication(self, method: str, result: str) -> None:
        pass

    def authorization(self, result: str) -> None:
        pass
