"""`python -m bench.auth_latency [--requests N] [--windows N]`: one ZAS, 4 KiB GETs as root,
as the IAM user of `bench.auth_setup` and anonymously, measured under the same machine load.

- c1, request by request: root, user, anon, then anon, user, root, ... on three keep-alive
  connections, `--requests` rounds. Prints p50, mean, p90 and p99 per caller and each one's
  ratio to root.
- c32, short windows: `--windows` pairs of `--seconds`-long c32 GET windows (the load
  generator of `python -m bench`), alternating user/root, root/user, ...; ops/s over all
  windows, p50/p99, and the per-pair ratio (median, min-max). This is the target "4 KiB GET
  c32 as IAM user >= 0.9 x root" measured without the drift between `python -m bench`'s
  separate workloads, which run minutes apart.

On a shared machine the load drifts between the 6-second windows `python -m bench` measures,
and that drift is larger than what authorization costs; interleaving puts the callers under
the same load, so their difference is what the server does differently for them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.auth_setup import set_up
from bench.interleave import Targets, alternate_c32, interleave_c1, percentile, render_c32
from bench.loadgen import LoadJob, run_load
from bench.servers import BUCKET, start_zas


def measure(
    rounds: int, windows: int = 0, seconds: float = 3.0, pool_size: int = 64
) -> tuple[dict[str, list[float]], dict[str, Any] | None]:
    """c1 latencies in seconds per caller, sorted; and the c32 windows' figures (or None)."""
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
        latencies = interleave_c1(targets, rounds, unsigned={"anon"}) if rounds else {}
        pair: Targets = {"user": (auth.user, pool), "root": (root, pool)}
        c32 = alternate_c32(pair, windows, seconds) if windows else None
        return latencies, c32
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


AUTH_TARGET = 0.9  # 4 KiB GET c32 as IAM user >= 0.9 x root (bench.report)


def render_windows(c32: dict[str, Any]) -> str:
    ratio = c32["ops_s"]["user"] / c32["ops_s"]["root"]
    verdict = "pass" if ratio >= AUTH_TARGET else "FAIL"
    return render_c32(c32, ("user", "root"), cost=f"{verdict} (needs >= {AUTH_TARGET})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_latency", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="c1 rounds (0: skip)")
    parser.add_argument("--windows", type=int, default=0, help="c32 window pairs (0: skip)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one c32 window")
    args = parser.parse_args(argv)
    latencies, c32 = measure(args.requests, args.windows, args.seconds)
    if latencies:
        print(render(latencies))
    if c32 is not None:
        print(render_windows(c32))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
