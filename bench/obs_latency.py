"""`python -m bench.obs_latency [--requests N] [--windows N]`: two ZAS configurations side by
side (default `zas`, observability as shipped, against `zas-quiet`, no counting and no access
log; see `bench.servers.ZAS_VARIANTS`), compared under the same machine load two ways:

- c1, request by request: 4 KiB GETs alternating between the two servers on one keep-alive
  connection each (A B, then B A, ...), `--requests` rounds after a warm-up; p50, mean, p90,
  p99 per server and the ratios. At c1 the mean latency ratio is the inverse throughput ratio.
- c32, short windows: `--windows` pairs of `--seconds`-long c32 GET windows (the load generator
  of `python -m bench`), alternating A B / B A, so drift hits both alike; ops/s summed over all
  windows and the per-pair ratio (median, min-max).

On a shared machine the 6-second windows of `python -m bench` move by +-20% from one to the
next, more than the few percent observability costs; this puts both servers under the same
load. Writes the figures to `--out` (default bench/results/<date>-<commit>-obs-interleaved.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.interleave import (
    Targets,
    alternate_c32,
    c1_summary,
    finish_run,
    interleave_c1,
    loadavg,
    render_c1,
    render_c32,
)
from bench.loadgen import LoadJob, run_load
from bench.servers import BUCKET, ZAS_VARIANTS, Server, start_zas


def _pool(size: int) -> list[str]:
    return [f"/{BUCKET}/small/get-{i:05d}" for i in range(size)]


def _fill(server: Server, pool: list[str]) -> None:
    fill = run_load(server.endpoint, LoadJob("PUT", [pool], 4096, False), 1)
    if fill.errors:
        raise RuntimeError(f"{server.name}: creating the GET pool: {fill.error_sample}")


def _targets(servers: dict[str, Server], pool: list[str]) -> Targets:
    return {name: (server.endpoint, pool) for name, server in servers.items()}


def requests_c1(servers: dict[str, Server], pool: list[str], rounds: int) -> dict[str, list[float]]:
    """Latencies in seconds per server, sorted; one GET to each server per round."""
    return interleave_c1(_targets(servers, pool), rounds)


def windows_c32(
    servers: dict[str, Server], pool: list[str], pairs: int, seconds: float, connections: int = 32
) -> dict[str, Any]:
    """ops/s (and p50/p99) per server over `pairs` alternating windows, and each pair's ratio."""
    return alternate_c32(_targets(servers, pool), pairs, seconds, connections)


def render(figures: dict[str, Any]) -> str:
    server, base = figures["server"], figures["baseline"]
    lines = []
    c1 = figures.get("c1")
    if c1:
        lines += render_c1(
            c1,
            (server, base),
            figures["c1_ratios"],
            column="server",
            cost=f"c1 throughput cost {figures['c1_cost_pct']:.1f}%",
        )
    c32 = figures.get("c32")
    if c32:
        cost = f"c32 throughput cost {figures['c32_cost_pct']:.1f}%"
        lines.append(render_c32(c32, (server, base), cost=cost))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.obs_latency", description=__doc__)
    parser.add_argument("--server", default="zas", choices=list(ZAS_VARIANTS))
    parser.add_argument("--baseline", default="zas-quiet", choices=list(ZAS_VARIANTS))
    parser.add_argument("--requests", type=int, default=3000, help="c1 rounds (0: skip)")
    parser.add_argument("--windows", type=int, default=10, help="c32 window pairs (0: skip)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one c32 window")
    parser.add_argument("--out", type=Path, help="JSON path")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    loadavg_start = loadavg()
    workdir = Path(tempfile.mkdtemp(prefix="zas-obs-latency-"))
    pool = _pool(64)
    servers: dict[str, Server] = {}
    figures: dict[str, Any] = {"server": args.server, "baseline": args.baseline}
    try:
        for name in (args.server, args.baseline):
            servers[name] = start_zas(workdir, name)
            _fill(servers[name], pool)
        if args.requests:
            c1 = c1_summary(requests_c1(servers, pool, args.requests))
            figures["c1"] = c1
            figures["c1_ratios"] = {
                k: c1[args.server][f"{k}_ms"] / c1[args.baseline][f"{k}_ms"]
                for k in ("p50", "mean", "p90", "p99")
            }
            # At c1 throughput is 1 / mean latency (plus the client's own time, the same for both).
            figures["c1_cost_pct"] = 100 * (1 - 1 / figures["c1_ratios"]["mean"])
        if args.windows:
            c32 = windows_c32(servers, pool, args.windows, args.seconds)
            figures["c32"] = c32
            figures["c32_ratio"] = c32["ops_s"][args.server] / c32["ops_s"][args.baseline]
            figures["c32_cost_pct"] = 100 * (1 - figures["c32_ratio"])
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return finish_run(
        figures,
        started=started,
        loadavg_start=loadavg_start,
        argv=argv,
        out=args.out,
        suffix="obs-interleaved",
        text=render(figures),
    )


if __name__ == "__main__":
    raise SystemExit(main())
