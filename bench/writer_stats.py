"""What ZAS's metadata writer did during a workload, read from its own /metrics.

A durable write answers only after its metadata batch commits, and one writer commits the
batches one after another; so for the write workloads the harness reports how many batches
committed, how many changes each held and how long each took. When batches take most of the
workload's time, the writer is the bottleneck and bigger batches or cheaper commits are the
lever (see BENCHMARKS.md, "Where a small PUT's time goes").
"""

from __future__ import annotations

from bench.http1 import Endpoint, exchange

# The exposition's names (zas/observability/metrics.py); _sum and _count of two histograms.
_FIELDS = {
    "zas_metadata_batch_size_count": "batches",
    "zas_metadata_batch_size_sum": "changes",
    "zas_metadata_batch_commit_duration_seconds_sum": "commit_seconds",
    # Not the writer's, but read from the same scrape: DuckDB's share of the server's RSS.
    "zas_database_memory_bytes": "duckdb_bytes",
}


def scrape(endpoint: Endpoint) -> dict[str, float]:
    """The writer's counters now (root may read /metrics: zas:GetMetrics is implied)."""
    with endpoint.connect(timeout=10) as sock:
        response = exchange(endpoint, sock, "GET", "/metrics")
    if response.status != 200:
        raise RuntimeError(f"GET /metrics: {response.status} {response.body[:200]!r}")
    found: dict[str, float] = {}
    for line in response.body.decode().splitlines():
        name, _, value = line.partition(" ")
        field = _FIELDS.get(name.split("{", 1)[0])
        if field is not None:
            found[field] = found.get(field, 0.0) + float(value.split()[0])
    return found


def figures(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Per-workload figures from two scrapes `seconds` apart: DuckDB's memory at the end, and
    for workloads that wrote, the writer's batches."""
    memory = {"duckdb_MB": after["duckdb_bytes"] / 1e6} if "duckdb_bytes" in after else {}
    batches = after.get("batches", 0.0) - before.get("batches", 0.0)
    if batches <= 0:
        return memory
    busy = after.get("commit_seconds", 0.0) - before.get("commit_seconds", 0.0)
    return {
        **memory,
        "writer_batches": batches,
        "writer_changes_per_batch": (after.get("changes", 0.0) - before.get("changes", 0.0))
        / batches,
        "writer_commit_ms": 1000 * busy / batches,
        "writer_busy_pct": 100 * busy / seconds if seconds > 0 else 0.0,
    }
