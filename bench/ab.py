"""`python -m bench.ab --baseline REV`: ZAS at REV against the working tree, interleaved.

Two separate `python -m bench` runs on this shared machine differ by more than most single
changes, so a change is judged here: both servers run at the same time, ZAS at REV (extracted
with `git archive`, put first on the server's PYTHONPATH) as A and the checked-out code as B,
and each round runs the workload on A then B (B then A in odd rounds), so outside load hits
both. Prints every round and the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import transfer
from bench.http1 import Endpoint
from bench.loadgen import LoadJob, run_load
from bench.servers import BUCKET, Server, start_zas

ROOT = Path(__file__).resolve().parents[1]
SMALL = 4096


def _start(workdir: Path, source: Path | None) -> Server:
    """ZAS from `source` (a tree holding the `zas` package), else from the checkout."""
    saved = os.environ.get("PYTHONPATH")
    if source is not None:
        os.environ["PYTHONPATH"] = str(source)
    else:
        os.environ.pop("PYTHONPATH", None)
    try:
        return start_zas(workdir)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def _large(method: str) -> Callable[[Endpoint, int], float]:
    def run(endpoint: Endpoint, round_: int) -> float:
        path = f"/{BUCKET}/ab-large"
        if method == "PUT" or round_ == 0:
            done = transfer.put_object(endpoint, path, transfer.Payload(1 << 30, nonce=round_))
            if method == "PUT":
                return done.mb_per_s
        return transfer.get_object(endpoint, path, 1 << 30).mb_per_s

    return run


def _small(method: str, connections: int) -> Callable[[Endpoint, int], float]:
    pool = [f"/{BUCKET}/ab-small/get-{i:05d}" for i in range(256)]

    def run(endpoint: Endpoint, round_: int) -> float:
        if method == "GET":
            if round_ == 0:
                run_load(endpoint, LoadJob("PUT", [pool[i::8] for i in range(8)], SMALL, False), 2)
            keys = [pool[c:] + pool[:c] for c in range(connections)]
        else:
            keys = [
                [f"/{BUCKET}/ab-small/put-{round_}-{c:03d}-{i:05d}" for i in range(256)]
                for c in range(connections)
            ]
        job = LoadJob(method, keys, SMALL, True, 1.0, 5.0)
        return run_load(endpoint, job, 2).ops_per_s

    return run


WORKLOADS: dict[str, Callable[[Endpoint, int], float]] = {
    "put_large": _large("PUT"),
    "get_large": _large("GET"),
    "put_small_c1": _small("PUT", 1),
    "put_small_c32": _small("PUT", 32),
    "get_small_c32": _small("GET", 32),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--baseline", required=True, help="git revision for A, e.g. HEAD~1")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    measure = WORKLOADS[args.workload]
    unit = "MB/s" if args.workload.endswith("_large") else "ops/s"
    with tempfile.TemporaryDirectory(prefix="zas-ab-") as tmp:
        work = Path(tmp)
        baseline = work / "baseline"
        baseline.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "zas"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        (work / "a").mkdir()
        (work / "b").mkdir()
        servers = {"A": _start(work / "a", baseline), "B": _start(work / "b", None)}
        figures: dict[str, list[float]] = {"A": [], "B": []}
        try:
            for round_ in range(args.rounds):
                order = ("A", "B") if round_ % 2 == 0 else ("B", "A")
                for name in order:
                    figures[name].append(measure(servers[name].endpoint, round_))
                print(f"round {round_ + 1}: A {figures['A'][-1]:.0f}  B {figures['B'][-1]:.0f}")
        finally:
            for server in servers.values():
                server.stop()
    a, b = (statistics.median(figures[n]) for n in ("A", "B"))
    print(f"{args.workload} median {unit}: A ({args.baseline}) {a:.0f}  B (working tree) {b:.0f}")
    print(f"B / A = {b / a:.2f}" if a else "A measured nothing")


if __name__ == "__main__":
    main()
