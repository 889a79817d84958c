"""Attach py-spy to a server while a workload runs, and fold its raw stacks into time per
layer of ZAS (SigV4, routing, metadata, file I/O, ...) and the top functions.

A sample belongs to the innermost frame that lies in a known layer, so time in hashlib or a
syscall counts for the ZAS module that called it. Samples are per thread: a worker thread
blocked in fsync or a DuckDB commit counts as busy (wall time), idle waits are left out.
`python -m bench.profile FILE...` prints the summary of saved raw profiles."""

from __future__ import annotations

import collections
import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# (pattern on "function (file:line)", layer); first match from the innermost frame wins.
LAYERS = [
    (r"zas/protocol/sigv4\.py", "SigV4 (zas/protocol/sigv4.py)"),
    (r"zas/protocol/operations\.py", "routing (zas/protocol/operations.py)"),
    (r"zas/protocol/", "protocol other (xml, http, ranges, conditions)"),
    # Identity and access, split the way a request meets them: who is asking (key lookup,
    # the identity), may they (policy engine, incl. the request's condition keys), and the
    # audit record (built in S3Api._record, queued by AuditLog.record, written in batches).
    # attrs-generated __init__/__eq__ show up as "<attrs generated ... zas.auth.x.Class>".
    (
        r"zas/auth/(authenticate|credentials|iam|sts|oidc|oidc_token|sealing)\.py"
        r"|generated .*zas\.auth\.(authenticate|credentials|iam|sts|oidc)",
        "authenticate (zas/auth/authenticate.py, iam.py)",
    ),
    (
        r"zas/auth/(policy|policy_conditions|authorize|actions)\.py"
        r"|generated .*zas\.auth\.(policy|policy_conditions|authorize)",
        "policy engine (zas/auth/policy*.py, authorize.py)",
    ),
    (
        r"zas/auth/audit\.py|generated .*zas\.auth\.audit|(^|\.)_record \([^)]*zas/api/s3\.py",
        "audit record (zas/auth/audit.py, S3Api._record)",
    ),
    (r"zas/auth/", "auth other (zas/auth)"),
    # Observability, split the way Recorder.finish feeds it: counting (ZasMetrics), the access
    # line (AccessLogger.request, then stdlib logging -> RedactingFilter -> JsonFormatter ->
    # the stream write, which all count here as logs.py is their innermost ZAS frame; plus the
    # formatter's trace_id_source lambda in zas/cli/main.py), tracing (no-op spans when off),
    # and Recorder's own code (the audit record it builds counts as audit above).
    (
        r"zas/observability/metrics\.py|generated .*zas\.observability\.metrics",
        "metrics (zas/observability/metrics.py)",
    ),
    (
        r"zas/observability/logs\.py|<lambda> \([^)]*zas/cli/main\.py",
        "access log (zas/observability/logs.py, JSON + redaction + write)",
    ),
    (
        r"zas/observability/tracing\.py|generated .*zas\.observability\.tracing",
        "tracing (zas/observability/tracing.py)",
    ),
    (r"zas/observability/", "observability other (zas/observability)"),
    (r"zas/api/recorder\.py", "recorder (zas/api/recorder.py)"),
    (r"zas/supplychain/", "supply chain (zas/supplychain)"),
    (r"zas/meta/", "metadata (zas/meta)"),
    (r"zas/storage/", "file I/O + hashing (zas/storage)"),
    (r"zas/objects/", "objects (zas/objects)"),
    (r"zas/api/", "S3 handlers (zas/api)"),
    (r"zas/", "zas other"),
    (r"[(/](quart|quart_trio|werkzeug)/", "quart"),
    (r"[(/]h11/", "h11"),
    (r"[(/]hypercorn/", "hypercorn"),
    (r"[(/]trio/", "trio"),
    (r"[(/]duckdb", "metadata (zas/meta)"),
]
# Leaf frames that are a thread waiting for work, not doing any: with --nonblocking py-spy
# cannot tell idle threads apart, so they are counted here and left out of the percentages.
IDLE = re.compile(
    r"^(WorkerThread\._work \(trio/|EpollIOManager\.get_events |Condition\.wait |Event\.wait )"
)
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:]*)(:\d+)?\)$")


def _layer(frame: str) -> str | None:
    for pattern, layer in LAYERS:
        if re.search(pattern, frame):
            return layer
    return None


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match.group('func')} ({path})"


# The observability layers split further by what the sample was doing (first match over the
# whole stack): the access line's stages, metrics, no-op tracing calls, Recorder.finish itself.
OBSERVABILITY_LAYERS = {
    "metrics (zas/observability/metrics.py)": "metrics",
    "access log (zas/observability/logs.py, JSON + redaction + write)": "access log",
    "tracing (zas/observability/tracing.py)": "tracing",
    "observability other (zas/observability)": "other",
    "recorder (zas/api/recorder.py)": "recorder",
}
# Both access-log paths: through stdlib logging (RedactingFilter, JsonFormatter, one
# StreamHandler write per line) and, with `AccessLogger(stream=...)`, lines built in `_line`
# (redaction of the client fields, time, JSON encode) and written in batches by `flush`.
ACCESS_LOG_PARTS = [
    (r"^RedactingFilter\.filter |^_suspect |^redact \(", "access log: redaction"),
    (
        r"^JsonFormatter\.format |^<lambda> \([^)]*zas/cli/main\.py"
        r"|^_WallClock\.|json/encoder\.py",
        "access log: JSON formatting",
    ),
    (r"^StreamHandler\.(emit|flush) |^AccessLogger\.flush ", "access log: write + flush"),
]
# The trio thread runs every request; worker threads (audit and metadata batches, file I/O)
# run beside it. Its samples start in the server's main().
MAIN_THREAD = re.compile(r"^_run_module_as_main |^main \(")
# Everything under the S3 API's verification-policy step (the object lookup it makes and the
# cached policy outcome), whatever layer it lands in: what enforcement costs a GET.
ENFORCEMENT = re.compile(r"^S3Api\._verification \(")


def _observability_part(layer: str, frames: list[str]) -> str | None:
    kind = OBSERVABILITY_LAYERS.get(layer)
    if kind != "access log":
        return None if kind is None else f"{kind}"
    for pattern, part in ACCESS_LOG_PARTS:
        if any(re.search(pattern, frame) for frame in frames):
            return part
    # AccessLogger.request's fields and, unbatched, logging's record and dispatch.
    return "access log: fields + record/dispatch"


def summarize(paths: list[Path], top: int = 12) -> dict[str, Any]:
    layers: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    observability: collections.Counter[str] = collections.Counter()
    observability_main: collections.Counter[str] = collections.Counter()
    total = idle = main = enforcement = enforcement_main = 0
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
            if frames and IDLE.match(frames[-1]):
                idle += count
                continue
            total += count
            layer = next((lay for f in reversed(frames) if (lay := _layer(f))), "other (stdlib)")
            layers[layer] += count
            on_main = bool(frames) and MAIN_THREAD.match(frames[0]) is not None
            main += count if on_main else 0
            part = _observability_part(layer, frames)
            if part is not None:
                observability[part] += count
                if on_main:
                    observability_main[part] += count
            if any(ENFORCEMENT.match(f) for f in frames):
                enforcement += count
                enforcement_main += count if on_main else 0
            if frames:
                leaves[_short(frames[-1])] += count
    return {
        "samples": total,
        "idle_samples": idle,
        "main_thread_samples": main,
        # % of all busy samples, and % of the trio (main) thread's busy samples.
        "observability": {k: round(100 * v / total, 2) for k, v in observability.most_common()}
        if total
        else {},
        "observability_main_thread": {
            k: round(100 * v / main, 2) for k, v in observability_main.most_common()
        }
        if main
        else {},
        "layers": {k: round(100 * v / total, 1) for k, v in layers.most_common()} if total else {},
        # Samples with S3Api._verification on the stack (supply-chain enforcement on GET).
        "enforcement_pct": round(100 * enforcement / total, 2) if total else 0.0,
        "enforcement_main_thread_pct": round(100 * enforcement_main / main, 2) if main else 0.0,
        "top_functions": {k: round(100 * v / total, 1) for k, v in leaves.most_common(top)}
        if total
        else {},
    }


def render(title: str, summary: dict[str, Any]) -> str:
    out = [
        f"{title}: {summary['samples']} busy thread samples "
        f"({summary.get('idle_samples', 0)} idle left out)"
    ]
    out += [f"  {pct:5.1f}%  {layer}" for layer, pct in summary["layers"].items()]
    if summary.get("observability"):
        main = summary.get("main_thread_samples", 0)
        shares = summary.get("observability_main_thread", {})
        out.append(
            f"  observability: {sum(summary['observability'].values()):.1f}% of busy samples, "
            f"{sum(shares.values()):.1f}% of the trio thread's {main}"
        )
        out += [
            f"  {pct:5.2f}%  {part}  ({shares.get(part, 0.0):.2f}% of trio thread)"
            for part, pct in summary["observability"].items()
        ]
    if summary.get("enforcement_pct"):
        out.append(
            f"  enforcement (S3Api._verification on the stack): {summary['enforcement_pct']:.2f}%"
            f" of busy samples, {summary['enforcement_main_thread_pct']:.2f}% of the trio thread's"
        )
    out.append("  top leaf functions:")
    out += [f"  {pct:5.1f}%  {func}" for func, pct in summary["top_functions"].items()]
    return "\n".join(out)


@contextlib.contextmanager
def record(pid: int, output: Path, rate: int = 250) -> Iterator[None]:
    """py-spy samples `pid` (all threads, idle excluded) until the block ends."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("py-spy is not installed")
    process = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(output),
            "--rate",
            str(rate),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    files = [Path(arg) for arg in sys.argv[1:]]
    print(render(", ".join(f.name for f in files), summarize(files)))
