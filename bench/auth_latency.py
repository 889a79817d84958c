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
import time
from pathlib import Path

from bench.auth_setup import set_up
from bench.http1 import Endpoint, read_response, request_head
from bench.loadgen import LoadJob, run_load
from bench.servers import BUCKET, start_zas

WARMUP = 200  # rounds left out of the figures


def _percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


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
        callers: dict[str, tuple[Endpoint, bool]] = {
            "root": (root, True),
            "user": (auth.user, True),
            "anon": (root, False),
        }
        heads = {
            name: [request_head(ep, ep.signer() if signed else None, "GET", path) for path in pool]
            for name, (ep, signed) in callers.items()
        }
        socks = {name: ep.connect() for name, (ep, _) in callers.items()}
        latencies: dict[str, list[float]] = {name: [] for name in callers}
        for i in range(WARMUP + rounds):
            order = list(callers) if i % 2 == 0 else list(reversed(callers))
            for name in order:
                head = heads[name][i % len(pool)]
                begin = time.perf_counter()
                try:
                    socks[name].sendall(head)
                    response = read_response(socks[name], "GET")
                except ConnectionError:  # closed without saying so: once more, timed anew
                    socks[name] = callers[name][0].connect()
                    begin = time.perf_counter()
                    socks[name].sendall(head)
                    response = read_response(socks[name], "GET")
                elapsed = time.perf_counter() - begin
                if response.status != 200:
                    raise RuntimeError(f"{name}: {response.status} {response.body[:200]!r}")
                if not response.keep_alive:  # Hypercorn closes after N requests
                    socks[name].close()
                    socks[name] = callers[name][0].connect()
                if i >= WARMUP:
                    latencies[name].append(elapsed)
        for sock in socks.values():
            sock.close()
    finally:
        server.stop()
    return {name: sorted(values) for name, values in latencies.items()}


def render(latencies: dict[str, list[float]]) -> str:
    root_mean = statistics.mean(latencies["root"])
    root_p50 = _percentile(latencies["root"], 50)
    lines = ["caller  requests  p50 ms  mean ms  p90 ms  p99 ms  p50/root  mean/root"]
    for name, values in latencies.items():
        p50, mean = _percentile(values, 50), statistics.mean(values)
        lines.append(
            f"{name:6}  {len(values):8}  {p50 * 1e3:6.3f}  {mean * 1e3:7.3f}  "
            f"{_percentile(values, 90) * 1e3:6.3f}  {_percentile(values, 99) * 1e3:6.3f}  "
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
