"""`python -m bench.auth_latency [--requests N]`: one ZAS, 4 KiB GETs at concurrency 1 as root,
as the IAM user of `bench.auth_setup` and anonymously, interleaved request by request (root,
user, anon, then anon, user, root, ...) on three keep-alive connections.

On a shared machine the load drifts between the 6-second windows `python -m bench` measures,
and at c1 that drift is larger than what authorization costs; interleaving single requests puts
the three callers under the same load, so their latency difference is what the server does
differently for them. Prints p50, mean, p90 and p99 per caller and each one's ratio to root.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.auth_setup import set_up
from bench.interleave import interleave_c1, percentile
from bench.loadgen import LoadJob, run_load
from bench.servers import BUCKET, start_zas


def measure(rounds: int, pool_size: int = 64) -> dict[str, list[float]]:
    """Latencies in seconds per caller, sorted."""
    workdir = Path(tempfile.mkdtemp(prefix="zas-auth-latency-"))
    server = start_zas(workdir)
    try:
        root = server.endpoint
        pool = [f"/{BUCKET}/small/get-{i:05d}" for i in range(pool_size)]
        fill = run_load(root, LoadJob("PUT", [pool], 4096, False), 1)
        if fill.errors:
            raise RuntimeError(f"creating the GET pool: {fill.error_sample}")
        auth = set_up(root, pool[0].split("/", 2)[2])
        targets = {"root": (root, pool), "user": (auth.user, pool), "anon": (root, pool)}
        return interleave_c1(targets, rounds, unsigned={"anon"})
    finally:
        server.stop()


def render(latencies: dict[str, list[float]]) -> str:
    root_mean = statistics.mean(latencies["root"])
    root_p50 = percentile(latencies["root"], 50)
    lines = ["caller  requests  p50 ms  mean ms  p90 ms  p99 ms  p50/root  mean/root"]
    for name, values in latencies.items():
        p50, mean = percentile(values, 50), statistics.mean(values)
        lines.append(
            f"{name:6}  {len(values):8}  {p50 * 1e3:6.3f}  {mean * 1e3:7.3f}  "
            f"{percentile(values, 90) * 1e3:6.3f}  {percentile(values, 99) * 1e3:6.3f}  "
            f"{p50 / root_p50:8.3f}  {mean / root_mean:9.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_latency", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="rounds of three requests")
    args = parser.parse_args(argv)
    print(render(measure(args.requests)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
