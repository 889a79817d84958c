"""`python -m bench.variants`: one checkout of ZAS, several server environments, interleaved.

`python -m bench.ab` compares two revisions; this compares settings of one: each positional
argument starts one ZAS with those environment variables (`NAME=VALUE,NAME=VALUE`; `-` for
none), and every round runs the workload on each server in turn (reversed in odd rounds), so
outside load on this shared machine hits them all. Prints every round, the medians, and
each variant's median over the first one's.

    python -m bench.variants --workload put_small_c32 --rounds 6 - ZAS_FSYNC=false
    python -m bench.variants --workload put_small_c32 --connections 128 - ZAS_ACCESS_LOG=false

A setting can be any `ZAS_*` configuration variable (README), or a scratch switch read by
code you are trying out: session 6 judged its experiments this way (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.ab import main_figure
from bench.report import MAIN_METRICS
from bench.servers import Server, start_zas
from bench.workloads import (
    ALL_WORKLOADS,
    FULL,
    QUICK,
    Context,
    Figures,
    run_measured,
    small_requests,
)


def parse_variant(text: str) -> dict[str, str]:
    """`NAME=VALUE,NAME=VALUE` (or `-`: the environment as it is) as a mapping."""
    if text == "-":
        return {}
    settings: dict[str, str] = {}
    for item in text.split(","):
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise argparse.ArgumentTypeError(f"not NAME=VALUE: {item!r} in {text!r}")
        settings[name.strip()] = value
    return settings


def _runner(workload: str, connections: int | None) -> Callable[[Context], float]:
    metric = MAIN_METRICS[workload][0]
    if connections is None:
        return lambda ctx: main_figure(ctx, workload)
    method = "PUT" if workload.startswith("put_small") else "GET"

    def run(ctx: Context) -> float:
        figures: Figures = run_measured(ctx, small_requests(method, connections))
        if figures.get("status") != "ok":
            raise SystemExit(f"{ctx.server.name} {workload} c{connections}: {figures}")
        return float(figures[metric])

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.variants", description=__doc__)
    parser.add_argument("--workload", choices=ALL_WORKLOADS, required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--connections",
        type=int,
        help="for put_small_* / get_small_*: this many connections instead of the name's",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("variants", nargs="+", type=parse_variant, metavar="NAME=VALUE,...|-")
    args = parser.parse_args(argv)
    if args.connections is not None and "_small_" not in args.workload:
        parser.error("--connections applies to the put_small_* and get_small_* workloads")
    names = [",".join(f"{k}={v}" for k, v in v.items()) or "-" for v in args.variants]
    run = _runner(args.workload, args.connections)
    unit = MAIN_METRICS[args.workload][0]
    results: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="zas-variants-") as tmp:
        servers: dict[str, Server] = {}
        try:
            for index, (name, settings) in enumerate(zip(names, args.variants, strict=True)):
                workdir = Path(tmp) / str(index)
                workdir.mkdir()
                servers[name] = start_zas(workdir, environment=settings)
            sizes = QUICK if args.quick else FULL
            contexts = {name: Context(server, sizes) for name, server in servers.items()}
            for round_ in range(args.rounds):
                order = names if round_ % 2 == 0 else names[::-1]
                for name in order:
                    contexts[name].run = round_
                    results[name].append(run(contexts[name]))
                print(
                    f"round {round_ + 1}: "
                    + "  ".join(f"{name} {results[name][-1]:.0f}" for name in names),
                    flush=True,
                )
        finally:
            for server in servers.values():
                server.stop()
    first = statistics.median(results[names[0]])
    for name in names:
        median = statistics.median(results[name])
        ratio = f"{median / first:.2f}" if first else "-"
        print(f"{name}: median {unit} {median:.1f}  / first {ratio}  {results[name]}")


if __name__ == "__main__":
    main()
