"""`python -m bench.enforce_latency [--requests N] [--windows N]`: what a supply-chain
verification policy costs small GETs, measured on one ZAS server with two buckets: `bench`
(no policy) and `bench-enforced` (an `enforce` policy requiring a signature by a server key,
which every object of the pool carries; see `bench.supplychain_setup`). Same key names, same
4 KiB bodies, same connection setup: what differs is the policy evaluation on GET
(`S3Api._verification`: a metadata lookup of the object, then `SupplyChain.outcome`, cached
per object and SHA-256).

- c1, request by request: GETs alternating between the two buckets on one keep-alive
  connection each (plain, enforced, then enforced, plain, ...), `--requests` rounds after a
  warm-up; p50, mean, p90, p99 per bucket and the ratios. At c1 the mean latency ratio is the
  inverse throughput ratio.
- c32, short windows: `--windows` pairs of `--seconds`-long c32 GET windows (the load
  generator of `python -m bench`), alternating plain/enforced, enforced/plain, so drift hits
  both alike; ops/s summed over all windows, p50/p99 over all their requests, and the
  per-pair ratio (median, min-max).

Both buckets live in one server, so they share its process, caches and the machine's load at
the same moment; the comparison is as fair as a shared machine allows. Writes the figures to
`--out` (default bench/results/<date>-<commit>-enforce-interleaved.json).
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
from bench.servers import BUCKET, Server, start_zas
from bench.supplychain_setup import check_plain, set_up

PLAIN, ENFORCED = "plain", "enforced"
BUDGET_PCT = 10.0


def render(figures: dict[str, Any]) -> str:
    lines = []
    c1 = figures.get("c1")
    if c1:
        lines += render_c1(
            c1,
            (ENFORCED, PLAIN),
            figures["c1_ratios"],
            column="bucket",
            cost=f"c1 enforcement cost {figures['c1_cost_pct']:.1f}%",
        )
    c32 = figures.get("c32")
    if c32:
        cost = (
            f"enforcement cost: {figures['c32_cost_pct']:.1f}% of small-GET throughput, "
            f"{figures['c32_result']} (< {BUDGET_PCT:.0f}%)"
        )
        lines.append(render_c32(c32, (ENFORCED, PLAIN), cost=cost))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.enforce_latency", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="c1 rounds (0: skip)")
    parser.add_argument("--windows", type=int, default=10, help="c32 window pairs (0: skip)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one c32 window")
    parser.add_argument("--pool", type=int, default=64, help="objects GET cycles over")
    parser.add_argument("--out", type=Path, help="JSON path")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    loadavg_start = loadavg()
    workdir = Path(tempfile.mkdtemp(prefix="zas-enforce-latency-"))
    keys = [f"small/get-{i:05d}" for i in range(args.pool)]
    server: Server | None = None
    figures: dict[str, Any] = {"plain_bucket": BUCKET}
    try:
        server = start_zas(workdir)
        endpoint = server.endpoint
        fill = run_load(
            endpoint, LoadJob("PUT", [[f"/{BUCKET}/{k}" for k in keys]], 4096, False), 1
        )
        if fill.errors:
            raise RuntimeError(f"creating the GET pool: {fill.error_sample}")
        setup = set_up(endpoint, keys)
        check_plain(endpoint, keys[0])
        figures["enforced_bucket"] = setup.bucket
        figures["setup"] = {
            "key_id": setup.key_id,
            "signed_objects": setup.signed,
            "probe_header": setup.header,
        }
        targets: Targets = {
            ENFORCED: (endpoint, [f"/{setup.bucket}/{k}" for k in keys]),
            PLAIN: (endpoint, [f"/{BUCKET}/{k}" for k in keys]),
        }
        if args.requests:
            c1 = c1_summary(interleave_c1(targets, args.requests))
            figures["c1"] = c1
            figures["c1_ratios"] = {
                k: c1[ENFORCED][f"{k}_ms"] / c1[PLAIN][f"{k}_ms"]
                for k in ("p50", "mean", "p90", "p99")
            }
            # At c1 throughput is 1 / mean latency (plus the client's own time, the same for both).
            figures["c1_cost_pct"] = 100 * (1 - 1 / figures["c1_ratios"]["mean"])
        if args.windows:
            c32 = alternate_c32(targets, args.windows, args.seconds)
            figures["c32"] = c32
            figures["c32_ratio"] = c32["ops_s"][ENFORCED] / c32["ops_s"][PLAIN]
            figures["c32_cost_pct"] = 100 * (1 - figures["c32_ratio"])
            figures["c32_result"] = "pass" if figures["c32_cost_pct"] < BUDGET_PCT else "FAIL"
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    figures["budget_pct"] = BUDGET_PCT
    return finish_run(
        figures,
        started=started,
        loadavg_start=loadavg_start,
        argv=argv,
        out=args.out,
        suffix="enforce-interleaved",
        text=render(figures),
    )


if __name__ == "__main__":
    raise SystemExit(main())
