"""`python -m bench`: start the servers, measure the machine and every workload `--runs`
times (servers interleaved within each run), print the comparison and write the JSON."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

from bench import limits, profile, report
from bench.servers import STARTERS, Absent, Server, zas_commit
from bench.workloads import ALL_WORKLOADS, FULL, QUICK, Context, measure

FULL_PEERS = ["zas", "asgi", "quart", "moto", "seaweedfs", "s3rver", "asgi-w2", "quart-w2"]
QUICK_PEERS = ["zas", "asgi", "quart"]
RESULTS = Path(__file__).resolve().parent / "results"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="seconds-long smoke run: tiny sizes, ZAS and the reference apps",
    )
    parser.add_argument("--runs", type=int, help="runs per figure (default 3, quick 1)")
    parser.add_argument("--peers", help=f"comma list from {','.join(STARTERS)}")
    parser.add_argument("--workloads", help=f"comma list from {','.join(ALL_WORKLOADS)}")
    parser.add_argument(
        "--out", type=Path, help="JSON path (default bench/results/<date>-<commit>.json)"
    )
    parser.add_argument("--workdir", type=Path, help="where server data goes (default: a temp dir)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy ZAS during each workload into DIR (skews the figures)",
    )
    args = parser.parse_args(argv)
    peers = args.peers.split(",") if args.peers else (QUICK_PEERS if args.quick else FULL_PEERS)
    unknown = [p for p in peers if p not in STARTERS]
    workloads = args.workloads.split(",") if args.workloads else ALL_WORKLOADS
    unknown += [w for w in workloads if w not in ALL_WORKLOADS]
    if unknown:
        parser.error(f"unknown peers or workloads: {unknown}")
    args.peer_list = peers
    args.workload_list = workloads
    args.runs = args.runs or (1 if args.quick else 3)
    return args


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(workdir: Path) -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    return {
        "nproc": _run(["nproc"]),
        "cpu": cpu,
        "memory_GiB": round(int(meminfo[1]) / 2**20, 1),
        "kernel": platform.release(),
        "disk": _run(["df", "-hT", str(workdir)]).splitlines()[-1:],
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("hypercorn", "trio", "quart-trio", "quart", "h11", "duckdb", "moto", "botocore"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    out["go"] = _run(["go", "version"])
    out["node"] = _run(["node", "--version"])
    return out


def _commit() -> str:
    """The ZAS commit measured (names the results file); the harness's own is in meta."""
    commit = zas_commit()
    if commit.startswith("unknown"):
        return (
            _run(["git", "-C", str(RESULTS.parent), "rev-parse", "--short", "HEAD"]) or "nocommit"
        )
    return commit


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    sizes = QUICK if args.quick else FULL
    temp = None
    if args.workdir is None:
        temp = tempfile.TemporaryDirectory(prefix="zas-bench-")
        args.workdir = Path(temp.name)
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "meta": {
            "date": started.isoformat(timespec="seconds"),
            "commit": _commit(),
            "zas_commit": zas_commit(),
            "bench_commit": _run(
                ["git", "-C", str(RESULTS.parent), "rev-parse", "--short", "HEAD"]
            ),
            "quick": args.quick,
            "runs": args.runs,
            "sizes": attrs.asdict(sizes),
            "machine": machine(workdir),
            "versions": _versions(),
            "argv": sys.argv[1:],
        },
        "limits": {"runs": []},
        "servers": {},
    }
    servers: dict[str, Server] = {}
    contexts: dict[str, Context] = {}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    try:
        for name in args.peer_list:
            print(f"starting {name} ...", flush=True)
            try:
                servers[name] = STARTERS[name](workdir)
            except Absent as exc:
                results["servers"][name] = {"status": "absent", "reason": str(exc)}
                print(f"  {name}: absent ({exc})", flush=True)
                continue
            server = servers[name]
            results["servers"][name] = {
                "status": "ok",
                "version": server.version,
                "startup_s": round(server.startup_s, 2),
                "workloads": {},
            }
            contexts[name] = Context(server, sizes)
            runs[name] = {w: [] for w in args.workload_list}
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}: machine limits ...", flush=True)
            results["limits"]["runs"].append(limits.measure(workdir, args.quick))
            for name, ctx in contexts.items():
                ctx.run = run
                for workload in args.workload_list:
                    begin = time.monotonic()
                    if args.profile and name == "zas":
                        args.profile.mkdir(parents=True, exist_ok=True)
                        out = args.profile / f"{workload}-run{run + 1}.txt"
                        with profile.record(ctx.server.pid, out):
                            figures = measure(ctx, workload)
                    else:
                        figures = measure(ctx, workload)
                    runs[name][workload].append(figures)
                    shown = {
                        k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()
                    }
                    print(
                        f"  {name:10} {workload:18} {time.monotonic() - begin:6.1f}s {shown}",
                        flush=True,
                    )
    finally:
        for server in servers.values():
            server.stop()
    for name, per_workload in runs.items():
        entry = results["servers"][name]
        entry["workloads"] = {w: report.summarize_workload(r) for w, r in per_workload.items()}
    keys = results["limits"]["runs"][0].keys() if results["limits"]["runs"] else []
    results["limits"]["summary"] = {
        k: report.summarize([run[k] for run in results["limits"]["runs"]]) for k in keys
    }
    results["fractions"] = report.fractions(results)
    results["auth_costs"] = report.auth_costs(results)
    results["observability_costs"] = report.observability_costs(results)
    results["enforcement_costs"] = report.enforcement_costs(results)
    results["checks"] = report.checks(results)
    if args.profile:
        files = sorted(args.profile.glob("*.txt"))
        results["profiles"] = {
            w: profile.summarize([f for f in files if f.name.startswith(w + "-")])
            for w in args.workload_list
        }
    results["meta"]["seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    print(report.render(results))
    if args.profile:
        for workload, summary in results["profiles"].items():
            print("\n" + profile.render(f"ZAS profile, {workload}", summary))
    out = args.out or RESULTS / f"{started:%Y-%m-%d}-{results['meta']['commit']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"\nwrote {out}")
    if temp is not None:
        for server in servers.values():  # keep the logs of servers that misbehaved
            if any(r.get("status") == "error" for wl in runs[server.name].values() for r in wl):
                shutil.copy(server.log_path, out.with_suffix(f".{server.name}.log"))
        temp.cleanup()
    return 0
