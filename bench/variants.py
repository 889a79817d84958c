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
from pathlib import Path

from bench.ab import interleaved
from bench.report import MAIN_METRICS
from bench.servers import Server, start_zas
from bench.workloads import ALL_WORKLOADS, FULL, QUICK, Context, small_requests


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


# The workloads `--connections` can rerun at another concurrency: the root key's own requests
# (the _user, _anon and _enforced ones need their own setup).
RESIZABLE = {
    "put_small_c1": "PUT",
    "put_small_c32": "PUT",
    "get_small_c1": "GET",
    "get_small_c32": "GET",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.variants", description=__doc__)
    parser.add_argument("--workload", choices=ALL_WORKLOADS, required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--connections",
        type=int,
        help="for put_small_c1/c32, get_small_c1/c32: this many connections instead",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("variants", nargs="+", type=parse_variant, metavar="NAME=VALUE,...|-")
    args = parser.parse_args(argv)
    if args.connections is not None and args.workload not in RESIZABLE:
        parser.error(f"--connections applies to {', '.join(RESIZABLE)}")
    names = [",".join(f"{k}={v}" for k, v in v.items()) or "-" for v in args.variants]
    if len(set(names)) != len(names):
        parser.error("each variant may be given once")
    runner = (
        None
        if args.connections is None
        else small_requests(RESIZABLE[args.workload], args.connections)
    )
    unit = MAIN_METRICS[args.workload][0]
    with tempfile.TemporaryDirectory(prefix="zas-variants-") as tmp:
        servers: dict[str, Server] = {}
        try:
            for index, (name, settings) in enumerate(zip(names, args.variants, strict=True)):
                workdir = Path(tmp) / str(index)
                workdir.mkdir()
                servers[name] = start_zas(workdir, environment=settings)
            sizes = QUICK if args.quick else FULL
            contexts = {name: Context(server, sizes) for name, server in servers.items()}
            results = interleaved(contexts, args.workload, args.rounds, runner)
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
