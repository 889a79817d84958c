"""Two or more targets measured under the same machine load: single GETs interleaved request
by request (c1), and alternating short windows of the c32 load generator. Used by
`bench.obs_latency` (two ZAS configurations) and `bench.enforce_latency` (two buckets of one
ZAS); on a shared machine the 6-second windows of `python -m bench` drift by more than the few
percent these compare."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from bench.http1 import Endpoint, read_response, request_head
from bench.loadgen import LoadJob, run_load
from bench.servers import zas_commit

WARMUP = 200  # c1 rounds left out of the figures
Targets = dict[str, tuple[Endpoint, list[str]]]  # name -> (endpoint, GET paths)


RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def interleave_c1(
    targets: Targets, rounds: int, *, unsigned: Collection[str] = ()
) -> dict[str, list[float]]:
    """Latencies in seconds per target, sorted; one GET to each target per round, the order
    reversed every other round. Targets named in `unsigned` send anonymous requests."""
    heads = {
        name: [
            request_head(ep, None if name in unsigned else ep.signer(), "GET", path)
            for path in pool
        ]
        for name, (ep, pool) in targets.items()
    }
    socks = {name: ep.connect() for name, (ep, _) in targets.items()}
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    try:
        for i in range(WARMUP + rounds):
            order = list(targets) if i % 2 == 0 else list(reversed(targets))
            for name in order:
                endpoint = targets[name][0]
                head = heads[name][i % len(heads[name])]
                begin = time.perf_counter()
                try:
                    socks[name].sendall(head)
                    response = read_response(socks[name], "GET")
                except ConnectionError:  # closed without saying so: once more, timed anew
                    socks[name] = endpoint.connect()
                    begin = time.perf_counter()
                    socks[name].sendall(head)
                    response = read_response(socks[name], "GET")
                elapsed = time.perf_counter() - begin
                if response.status != 200:
                    raise RuntimeError(f"{name}: {response.status} {response.body[:200]!r}")
                if not response.keep_alive:  # Hypercorn closes after N requests
                    socks[name].close()
                    socks[name] = endpoint.connect()
                if i >= WARMUP:
                    latencies[name].append(elapsed)
    finally:
        for sock in socks.values():
            sock.close()
    return {name: sorted(values) for name, values in latencies.items()}


def alternate_c32(
    targets: Targets, pairs: int, seconds: float, connections: int = 32
) -> dict[str, Any]:
    """ops/s and p50/p99 per target over `pairs` alternating windows, and each pair's ratio
    (first target / second)."""
    done: dict[str, list[tuple[int, float]]] = {name: [] for name in targets}
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    names = list(targets)
    for i in range(pairs):
        for name in names if i % 2 == 0 else list(reversed(names)):
            endpoint, pool = targets[name]
            keys = [pool[c % len(pool) :] + pool[: c % len(pool)] for c in range(connections)]
            job = LoadJob("GET", keys, 4096, True, 0.5, seconds)
            result = run_load(endpoint, job, 2)
            if result.errors:
                raise RuntimeError(f"{name}: {result.errors} errors, e.g. {result.error_sample}")
            done[name].append((result.ok, result.elapsed))
            latencies[name] += result.latencies
    a, b = names
    ratios = [
        (ok_a / el_a) / (ok_b / el_b)
        for (ok_a, el_a), (ok_b, el_b) in zip(done[a], done[b], strict=True)
    ]
    ordered = {name: sorted(values) for name, values in latencies.items()}
    return {
        "pairs": pairs,
        "seconds": seconds,
        "ops_s": {n: sum(ok for ok, _ in w) / sum(el for _, el in w) for n, w in done.items()},
        "p50_ms": {n: percentile(v, 50) * 1e3 for n, v in ordered.items()},
        "p99_ms": {n: percentile(v, 99) * 1e3 for n, v in ordered.items()},
        "per_window_ops_s": {n: [round(ok / el, 1) for ok, el in w] for n, w in done.items()},
        "pair_ratio": {
            "median": statistics.median(ratios),
            "min": min(ratios),
            "max": max(ratios),
        },
    }


def c1_summary(latencies: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        name: {
            "requests": len(values),
            "p50_ms": percentile(values, 50) * 1e3,
            "mean_ms": statistics.mean(values) * 1e3,
            "p90_ms": percentile(values, 90) * 1e3,
            "p99_ms": percentile(values, 99) * 1e3,
        }
        for name, values in latencies.items()
    }


def render_c1(
    c1: dict[str, dict[str, float]],
    names: tuple[str, str],
    ratios: dict[str, float],
    *,
    column: str,
    cost: str,
) -> list[str]:
    """The c1 table both interleaving tools print: a row per side, then the ratios."""
    first, second = names
    lines = [
        f"c1, request by request ({c1[first]['requests']} rounds): "
        f"{first} / {second} latency ratio",
        f"{column:10}  requests  p50 ms  mean ms  p90 ms  p99 ms",
    ]
    for name in names:
        s = c1[name]
        lines.append(
            f"{name:10}  {s['requests']:8}  {s['p50_ms']:6.3f}  {s['mean_ms']:7.3f}  "
            f"{s['p90_ms']:6.3f}  {s['p99_ms']:6.3f}"
        )
    lines.append(
        f"ratio       {'':8}  {ratios['p50']:6.3f}  {ratios['mean']:7.3f}  "
        f"{ratios['p90']:6.3f}  {ratios['p99']:6.3f}   -> {cost}"
    )
    return lines


def render_c32(c32: dict[str, Any], names: tuple[str, str], *, cost: str) -> str:
    """The c32 line every interleaving tool prints: each side's ops/s, p50 and p99, the
    ratio of the first to the second (over all windows, and per pair), then `cost`."""
    first, second = names
    ops, pair = c32["ops_s"], c32["pair_ratio"]
    sides = ", ".join(
        f"{name} {ops[name]:.0f} ops/s (p50 {c32['p50_ms'][name]:.1f} ms, "
        f"p99 {c32['p99_ms'][name]:.1f} ms)"
        for name in names
    )
    return (
        f"c32, {c32['pairs']} alternating pairs of {c32['seconds']:.0f}s windows: {sides}, "
        f"ratio {ops[first] / ops[second]:.3f} (per pair {pair['median']:.3f} "
        f"[{pair['min']:.3f}-{pair['max']:.3f}]) -> {cost}"
    )


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def finish_run(
    figures: dict[str, Any],
    *,
    started: dt.datetime,
    loadavg_start: list[str],
    argv: list[str] | None,
    out: Path | None,
    suffix: str,
    text: str,
) -> int:
    """Record when, on what and under which load a run happened; print it and write JSON."""
    commit = zas_commit()
    figures["meta"] = {
        "date": started.isoformat(timespec="seconds"),
        "zas_commit": commit,
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg(),
        "seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "argv": argv,
    }
    print(text)
    path = out or RESULTS / f"{started:%Y-%m-%d}-{commit}-{suffix}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=1, default=str) + "\n")
    print(f"wrote {path}")
    return 0
