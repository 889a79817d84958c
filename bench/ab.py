"""`python -m bench.ab --baseline REV`: ZAS at REV against the working tree, interleaved.

Two separate `python -m bench` runs on this shared machine differ by more than most single
changes, so a change is judged here: both servers run at the same time, ZAS at REV (extracted
with `git archive`, put first on the server's PYTHONPATH) as A and the checked-out code as B,
and each round runs the workload on A then B (B then A in odd rounds), so outside load hits
both. Prints every round and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.report import MAIN_METRICS
from bench.servers import Server, start_zas
from bench.workloads import ALL_WORKLOADS, FULL, Context, Figures, measure, run_measured

ROOT = Path(__file__).resolve().parents[1]


def _start(workdir: Path, source: Path | None) -> Server:
    """ZAS from `source` (a tree holding the `zas` package), else from the checkout."""
    return start_zas(workdir, environment={"PYTHONPATH": None if source is None else str(source)})


def main_figure(
    ctx: Context, workload: str, runner: Callable[[Context], Figures] | None = None
) -> float:
    """One run of the harness's own workload (`bench.workloads`), its main figure. `runner`:
    run this instead of the workload's own (`bench.variants --connections`)."""
    if workload == "get_large" and not ctx.large_md5:
        measure(ctx, "put_large")  # get_large reads the object put_large writes
    figures = measure(ctx, workload) if runner is None else run_measured(ctx, runner)
    if figures.get("status") != "ok":
        raise SystemExit(f"{ctx.server.name} {workload}: {figures}")
    return float(figures[MAIN_METRICS[workload][0]])


def interleaved(
    contexts: dict[str, Context],
    workload: str,
    rounds: int,
    runner: Callable[[Context], Figures] | None = None,
) -> dict[str, list[float]]:
    """`rounds` rounds of `workload` on every server in turn, the order reversed in odd rounds
    so outside load on this shared machine hits them all; each round is printed as it ends.
    Returns each server's main figures, round by round (`bench.ab`, `bench.variants`)."""
    names = list(contexts)
    results: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            contexts[name].run = round_
            results[name].append(main_figure(contexts[name], workload, runner))
        figures = "  ".join(f"{name} {results[name][-1]:.0f}" for name in names)
        print(f"round {round_ + 1}: {figures}", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--baseline", required=True, help="git revision for A, e.g. HEAD~1")
    parser.add_argument("--workload", choices=ALL_WORKLOADS, required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--after-fill",
        action="store_true",
        help="first PUT the listing workload's 100,000 keys into each server (A, then B), "
        "as runs 2 and 3 of the full run find them",
    )
    args = parser.parse_args(argv)
    unit = MAIN_METRICS[args.workload][0]
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
        contexts = {name: Context(server, FULL) for name, server in servers.items()}
        try:
            if args.after_fill:
                for name, ctx in contexts.items():
                    fill_rate = measure(ctx, "list")["fill_put_0b_ops_s"]
                    print(f"{name} filled: 0-byte PUTs at {fill_rate:.0f}/s")
            figures = interleaved(contexts, args.workload, args.rounds)
        finally:
            for server in servers.values():
                server.stop()
    a, b = (statistics.median(figures[n]) for n in ("A", "B"))
    print(f"{args.workload} median {unit}: A ({args.baseline}) {a:.0f}  B (working tree) {b:.0f}")
    print(f"B / A = {b / a:.2f}" if a else "A measured nothing")


if __name__ == "__main__":
    main()
