"""Run every fuzz target (or the ones named) for a while; exit non-zero if any crashed.

    python -m fuzz.run [--seconds 60] [target ...]        # from the repository root

Targets: sigv4, range, list_query, chunked, xml_bodies, iam_policy, evidence
(fuzz/fuzz_<target>.py). Each runs
in its own atheris (libFuzzer) process for `--seconds` (-max_total_time), one after the other,
reading the committed seeds in fuzz/seeds/<target>/ and growing a working corpus in
fuzz/corpus-<target>/ (git-ignored). The full libFuzzer log and any crash, timeout or
out-of-memory input go to fuzz/out-<target>/ (git-ignored); replay one with
`python -m fuzz.fuzz_<target> fuzz/out-<target>/crash-...` (no atheris needed).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import attrs

from fuzz._harness import FUZZ_DIR

TARGETS = ("sigv4", "range", "list_query", "chunked", "xml_bodies", "iam_policy", "evidence")
MAX_LEN = 16 * 1024
_STAT = re.compile(r"stat::(\w+):\s*(\d+)")
_ARTIFACT = re.compile(r"(?:Test unit|artifact) written to (\S+)")
# libFuzzer's progress lines ("#123 NEW cov: ...") stay in the log, not on the terminal.
_PROGRESS = re.compile(r"#\d+\s+(NEW|REDUCE)\b")


@attrs.frozen
class Outcome:
    target: str
    returncode: int
    seconds: float
    stats: dict[str, int]
    artifacts: tuple[str, ...]
    log: Path

    @property
    def crashed(self) -> bool:
        return self.returncode != 0


def command(target: str, seconds: int) -> list[str]:
    corpus = FUZZ_DIR / f"corpus-{target}"
    out = FUZZ_DIR / f"out-{target}"
    corpus.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    # The first directory is where libFuzzer saves new inputs; the seeds are only read.
    return [
        sys.executable,
        "-m",
        f"fuzz.fuzz_{target}",
        f"-max_total_time={seconds}",
        "-timeout=10",
        "-rss_limit_mb=2048",
        # Hypercorn (h11) accepts a request head of up to 16 KiB, so a header or query string
        # that long reaches the parsers; libFuzzer's default stops at 4 KiB.
        f"-max_len={MAX_LEN}",
        "-print_final_stats=1",
        f"-artifact_prefix={out}/",
        f"-dict={FUZZ_DIR / 'dicts' / f'{target}.dict'}",
        str(corpus),
        str(FUZZ_DIR / "seeds" / target),
    ]


def run_target(target: str, seconds: int) -> Outcome:
    log_path = FUZZ_DIR / f"out-{target}" / "fuzz.log"
    cmd = command(target, seconds)
    print(f"== {target}: {' '.join(cmd[1:4])} ... ({seconds}s)", flush=True)
    started = time.monotonic()
    stats: dict[str, int] = {}
    artifacts: list[str] = []
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            cmd,
            cwd=FUZZ_DIR.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if stat := _STAT.search(line):
                stats[stat.group(1)] = int(stat.group(2))
            if artifact := _ARTIFACT.search(line):
                artifacts.append(artifact.group(1))
            if not _PROGRESS.search(line):
                print(f"[{target}] {line}", end="", flush=True)
    return Outcome(
        target,
        process.returncode,
        time.monotonic() - started,
        stats,
        tuple(artifacts),
        log_path,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    parser.add_argument("targets", nargs="*", metavar="target", help=f"any of {', '.join(TARGETS)}")
    args = parser.parse_args(argv)
    if unknown := sorted(set(args.targets) - set(TARGETS)):
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2
    outcomes = [run_target(target, args.seconds) for target in args.targets or TARGETS]
    print("\ntarget      result   execs      exec/s  seconds  artifacts")
    for o in outcomes:
        print(
            f"{o.target:<11} {'CRASHED' if o.crashed else 'ok':<8} "
            f"{o.stats.get('number_of_executed_units', 0):>9} "
            f"{o.stats.get('average_exec_per_sec', 0):>8} {o.seconds:>8.0f}  "
            f"{' '.join(o.artifacts) or '-'}"
        )
    crashed = [o for o in outcomes if o.crashed]
    for o in crashed:
        print(f"\n{o.target} exited {o.returncode}; log: {o.log}", file=sys.stderr)
        for artifact in o.artifacts:
            print(f"  replay: python -m fuzz.fuzz_{o.target} {artifact}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
