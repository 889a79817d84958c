"""`python -m bench.sweep`: one ZAS, 4 KiB PUTs (or GETs) at rising concurrency.

Tells a saturated resource from a chain of waits. If the rate stops rising as connections
are added while only the latency grows, something is saturated, and a change helps only if
it lifts that plateau; a change that shortens one stage's waiting leaves it where it is.
Session 5 found PUTs level off at ~210-270/s from 16 connections on, with the server at ~1
core (BENCHMARKS.md). Each step also reports the server's CPU (all its threads, as a share
of one core, and per request) and the metadata writer's batches. On the plateau the process
runs at one core, so CPU per request is simply its inverse there; below it (few
connections) it shows what a request costs. The whole sweep repeats `--passes` times,
because the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.servers import start_zas
from bench.workloads import FULL, QUICK, Context, Figures, run_measured, small_requests


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of `pid` so far (Linux /proc)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def step(ctx: Context, method: str, connections: int) -> Figures:
    cpu_before, started = process_cpu_seconds(ctx.server.pid), time.monotonic()
    figures = run_measured(ctx, small_requests(method, connections))
    busy = process_cpu_seconds(ctx.server.pid) - cpu_before
    figures["server_cpu_pct"] = 100 * busy / (time.monotonic() - started)
    ops = figures.get("ops_s") or 0.0
    figures["server_cpu_ms_per_op"] = 10 * figures["server_cpu_pct"] / ops if ops else 0.0
    return {"connections": connections, **figures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    parser.add_argument("--method", choices=["PUT", "GET"], default="PUT")
    parser.add_argument("--connections", default="4,8,16,32,64,128")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--out", type=Path, help="also write the steps as JSON here")
    args = parser.parse_args(argv)
    steps: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="zas-sweep-") as tmp:
        server = start_zas(Path(tmp))
        try:
            ctx = Context(server, QUICK if args.quick else FULL)
            print("pass  conns   ops/s   p50 ms   p99 ms  batch  server CPU  CPU ms/op")
            for number in range(1, args.passes + 1):
                for connections in (int(c) for c in args.connections.split(",")):
                    figures = {"pass": number, **step(ctx, args.method, connections)}
                    steps.append(figures)
                    if figures["status"] != "ok":
                        raise SystemExit(f"{connections} connections: {figures}")
                    print(
                        f"{number:4d} {connections:6d} {figures['ops_s']:7.0f} "
                        f"{figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f} "
                        f"{figures.get('writer_changes_per_batch', 0):6.1f} "
                        f"{figures['server_cpu_pct']:9.0f}% "
                        f"{figures['server_cpu_ms_per_op']:10.2f}",
                        flush=True,
                    )
        finally:
            server.stop()
    if args.out is not None:
        args.out.write_text(json.dumps({"method": args.method, "steps": steps}, indent=1))


if __name__ == "__main__":
    main()
