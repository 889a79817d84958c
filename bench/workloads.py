"""The workloads, each run against one server and returning its figures, with the server's
resident memory sampled while it runs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import attrs

from bench import listing, transfer, writer_stats
from bench.auth_setup import AuthSetup, set_up
from bench.http1 import Endpoint, exchange
from bench.loadgen import LoadJob, LoadResult, run_load
from bench.rss import RssSampler, tree_hwm
from bench.servers import BUCKET, Server, is_zas
from bench.supplychain_setup import EnforcementSetup
from bench.supplychain_setup import set_up as set_up_enforcement

MIB = 1 << 20
Figures = dict[str, Any]


@attrs.frozen
class Sizes:
    large: int
    small: int
    small_objects: int  # the pool GETs cycle over, and keys per PUT connection
    warmup: float
    duration: float
    list_keys: int
    page_size: int
    multipart: int
    part_size: int
    multipart_concurrency: int
    fill_connections: int
    verify: bool  # check GET bodies against what was PUT (costs client CPU: quick mode only)


FULL = Sizes(1 << 30, 4096, 256, 1.0, 5.0, 100_000, 1000, 1 << 30, 8 * MIB, 4, 32, False)
QUICK = Sizes(32 * MIB, 4096, 64, 0.2, 0.8, 400, 40, 32 * MIB, 8 * MIB, 4, 16, True)

WORKLOADS = [
    "put_large",
    "get_large",
    "put_small_c1",
    "get_small_c1",
    "put_small_c32",
    "get_small_c32",
    "list",
    "multipart",
]
# Small GETs as someone other than the root account (which bypasses the policy engine): an IAM
# user whose policies allow it, and anonymous (unsigned) requests allowed by a bucket policy.
# ZAS only: the other servers have no such identities ("n/a"). Not in WORKLOADS, which is the
# list every server is compared on; ALL_WORKLOADS is the default and the table's row order.
AUTH_WORKLOADS = [
    "get_small_c1_user",
    "get_small_c1_anon",
    "get_small_c32_user",
    "get_small_c32_anon",
]
# Small GETs (as root) from a bucket with a supply-chain verification policy that every GET
# object satisfies (`bench.supplychain_setup`): what enforcement costs. ZAS only.
ENFORCE_WORKLOADS = ["get_small_c1_enforced", "get_small_c32_enforced"]
ALL_WORKLOADS = [
    *WORKLOADS[: WORKLOADS.index("get_small_c32") + 1],
    *AUTH_WORKLOADS,
    *ENFORCE_WORKLOADS,
    *WORKLOADS[WORKLOADS.index("get_small_c32") + 1 :],
]
# (workload as root, as the user, anonymous): the pairs the auth-cost ratios compare.
AUTH_PAIRS = {
    "c1": ("get_small_c1", "get_small_c1_user", "get_small_c1_anon"),
    "c32": ("get_small_c32", "get_small_c32_user", "get_small_c32_anon"),
}
# (plain workload, the same from the policy bucket): the pairs the enforcement ratios compare.
ENFORCE_PAIRS = {
    "c1": ("get_small_c1", "get_small_c1_enforced"),
    "c32": ("get_small_c32", "get_small_c32_enforced"),
}
S3_ONLY = {"list", "multipart"}
ZAS_ONLY = set(AUTH_WORKLOADS) | set(ENFORCE_WORKLOADS)
# Multi-worker reference apps only answer the question "what would -w 2 give at c32".
MULTI_WORKER_ONLY = {"put_small_c32", "get_small_c32"}


@attrs.define
class Context:
    """What one server keeps between workloads and runs."""

    server: Server
    sizes: Sizes
    run: int = 0
    large_md5: str = ""
    small_ready: bool = False
    listed: bool = False
    fill: Figures = attrs.Factory(dict)
    auth: AuthSetup | None = None
    enforcement: EnforcementSetup | None = None


def _processes(connections: int) -> int:
    return min(connections, max(2, os.cpu_count() or 2))


def _small_figures(result: LoadResult) -> Figures:
    if result.errors:
        raise RuntimeError(f"{result.errors} failed requests, e.g. {result.error_sample}")
    return {
        "ops_s": result.ops_per_s,
        "p50_ms": result.percentile(50) * 1e3,
        "p99_ms": result.percentile(99) * 1e3,
        "requests": result.ok,
    }


def put_large(ctx: Context) -> Figures:
    payload = transfer.Payload(ctx.sizes.large, nonce=(os.getpid() << 8) + ctx.run)
    verify = ctx.sizes.verify and ctx.server.kind == "s3"
    done = transfer.put_object(ctx.server.endpoint, f"/{BUCKET}/big", payload, digest=verify)
    ctx.large_md5 = done.md5
    return {"MBps": done.mb_per_s, "seconds": done.elapsed}


def get_large(ctx: Context) -> Figures:
    verify = bool(ctx.large_md5)
    done = transfer.get_object(ctx.server.endpoint, f"/{BUCKET}/big", ctx.sizes.large, verify)
    if verify and done.md5 != ctx.large_md5:
        raise RuntimeError("GET returned different bytes than were PUT")
    return {"MBps": done.mb_per_s, "seconds": done.elapsed}


def small_requests(
    method: str, connections: int, who: str = "root", enforced: bool = False
) -> Callable[[Context], Figures]:
    """The 4 KiB workloads (and `bench.sweep`'s steps): `connections` keep one request each in
    flight. `who`: "root" (the server's endpoint key), "user" (the IAM user of `bench.auth_setup`)
    or "anon" (unsigned requests). `enforced`: GET the same pool from the bucket with a
    verification policy (`bench.supplychain_setup`), as root."""

    def run(ctx: Context) -> Figures:
        sizes = ctx.sizes
        pool = [f"/{BUCKET}/small/get-{i:05d}" for i in range(sizes.small_objects)]
        if method == "GET" and not ctx.small_ready:
            per_conn = [pool[i :: min(8, len(pool))] for i in range(min(8, len(pool)))]
            fill = run_load(ctx.server.endpoint, LoadJob("PUT", per_conn, sizes.small, False), 2)
            if fill.errors:
                raise RuntimeError(f"creating GET objects: {fill.error_sample}")
            ctx.small_ready = True
        if method == "GET":
            keys = [pool[c % len(pool) :] + pool[: c % len(pool)] for c in range(connections)]
        else:
            keys = [
                [f"/{BUCKET}/small/put-{c:03d}-{i:05d}" for i in range(sizes.small_objects)]
                for c in range(connections)
            ]
        endpoint: Endpoint = ctx.server.endpoint
        extra: Figures = {}
        if enforced:
            if ctx.enforcement is None:
                ctx.enforcement = set_up_enforcement(
                    endpoint, [p.split("/", 2)[2] for p in pool], body_size=sizes.small
                )
            bucket = ctx.enforcement.bucket
            keys = [[p.replace(f"/{BUCKET}/", f"/{bucket}/", 1) for p in ps] for ps in keys]
            extra["verification"] = ctx.enforcement.header
        if who != "root":
            if ctx.auth is None:
                ctx.auth = set_up(ctx.server.endpoint, pool[0].split("/", 2)[2])
            if who == "user":
                endpoint = ctx.auth.user
            extra["decided_by"] = (
                ctx.auth.user_decided_by if who == "user" else ctx.auth.anon_decided_by
            )
        job = LoadJob(
            method,
            keys,
            sizes.small,
            True,
            sizes.warmup,
            sizes.duration,
            signed=who != "anon",
        )
        return {
            **_small_figures(run_load(endpoint, job, _processes(connections))),
            **extra,
        }

    return run


def list_pages(ctx: Context) -> Figures:
    sizes = ctx.sizes
    bucket = "bench-list"
    if not ctx.listed:
        with ctx.server.endpoint.connect() as sock:
            created = exchange(ctx.server.endpoint, sock, "PUT", f"/{bucket}")
        if created.status != 200:
            raise RuntimeError(f"CreateBucket {bucket}: {created.status} {created.body[:200]!r}")
        connections = sizes.fill_connections
        filled = listing.fill(
            ctx.server.endpoint, bucket, sizes.list_keys, connections, _processes(connections)
        )
        ctx.fill = {
            "fill_put_0b_ops_s": sizes.list_keys / filled.elapsed,
            "fill_seconds": filled.elapsed,
        }
        ctx.listed = True
    walk = listing.walk(ctx.server.endpoint, bucket, sizes.page_size, sizes.list_keys)
    return {"pages_s": walk.pages_per_s, "pages": walk.pages, "seconds": walk.elapsed, **ctx.fill}


def multipart(ctx: Context) -> Figures:
    sizes = ctx.sizes
    payload = transfer.Payload(sizes.multipart, nonce=(os.getpid() << 8) + ctx.run + 128)
    done = transfer.multipart_upload(
        ctx.server.endpoint,
        f"/{BUCKET}/multipart",
        payload,
        sizes.part_size,
        sizes.multipart_concurrency,
    )
    return {"MBps": done.mb_per_s, "seconds": done.elapsed}


RUNNERS: dict[str, Callable[[Context], Figures]] = {
    "put_large": put_large,
    "get_large": get_large,
    "put_small_c1": small_requests("PUT", 1),
    "get_small_c1": small_requests("GET", 1),
    "put_small_c32": small_requests("PUT", 32),
    "get_small_c32": small_requests("GET", 32),
    "get_small_c1_user": small_requests("GET", 1, "user"),
    "get_small_c1_anon": small_requests("GET", 1, "anon"),
    "get_small_c32_user": small_requests("GET", 32, "user"),
    "get_small_c32_anon": small_requests("GET", 32, "anon"),
    "get_small_c1_enforced": small_requests("GET", 1, enforced=True),
    "get_small_c32_enforced": small_requests("GET", 32, enforced=True),
    "list": list_pages,
    "multipart": multipart,
}


def measure(ctx: Context, workload: str) -> Figures:
    """Run one workload; the figures include the server's peak RSS while it ran."""
    if workload in S3_ONLY and ctx.server.kind != "s3":
        return {"status": "n/a"}
    if workload in ZAS_ONLY and not is_zas(ctx.server.name):
        return {"status": "n/a"}
    if ctx.server.name.endswith("-w2") and workload not in MULTI_WORKER_ONLY:
        return {"status": "n/a"}
    return run_measured(ctx, RUNNERS[workload])


def run_measured(ctx: Context, runner: Callable[[Context], Figures]) -> Figures:
    """Run one workload's `runner`, adding the server's peak RSS and, for ZAS, the metadata
    writer's batches; errors become a status instead of an exception."""
    scrape_metrics = is_zas(ctx.server.name)
    try:
        before = writer_stats.scrape(ctx.server.endpoint) if scrape_metrics else {}
        started = time.monotonic()
        with RssSampler(ctx.server.pid) as rss:
            figures = runner(ctx)
        if scrape_metrics:
            after = writer_stats.scrape(ctx.server.endpoint)
            figures.update(writer_stats.figures(before, after, time.monotonic() - started))
    except transfer.Unsupported as exc:
        return {"status": "unsupported", "reason": str(exc)}
    except Exception as exc:
        if ctx.server.process.poll() is not None:
            return {"status": "error", "reason": f"server died: {ctx.server.log_tail(5)}"}
        return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:500]}
    return {
        "status": "ok",
        **figures,
        "rss_peak_MB": rss.peak / 1e6,
        "hwm_MB": tree_hwm(ctx.server.pid) / 1e6,
    }
