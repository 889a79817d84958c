"""Given the benchmark harness, when `python -m bench --quick` runs against a real ZAS and the
reference apps, then it finishes and its JSON holds positive figures for every ZAS workload.
(Smoke test only: the figures themselves are never asserted; performance lives in bench/.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parents[2]
MAIN_FIGURE = {
    "put_large": "MBps",
    "get_large": "MBps",
    "put_small_c1": "ops_s",
    "get_small_c1": "ops_s",
    "put_small_c32": "ops_s",
    "get_small_c32": "ops_s",
    "list": "pages_s",
    "multipart": "MBps",
}


@pytest.mark.timeout(180)
def test_quick_benchmark_reports_every_workload_for_zas(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())

    assert set(MAIN_FIGURE) == set(WORKLOADS)
    assert all(v > 0 for v in results["limits"]["summary"]["md5_MBps"].values())
    zas = results["servers"]["zas"]
    assert zas["status"] == "ok", zas
    for workload, metric in MAIN_FIGURE.items():
        entry = zas["workloads"][workload]
        assert entry["status"] == "ok", (workload, entry)
        assert entry["summary"][metric]["min"] > 0, (workload, entry["summary"])
        assert entry["summary"]["rss_peak_MB"]["min"] > 0
    # The metadata writer's batches are read from ZAS's /metrics around each write workload.
    writer = zas["workloads"]["put_small_c32"]["summary"]
    assert writer["writer_batches"]["min"] >= 1
    assert writer["writer_changes_per_batch"]["min"] >= 1
    assert writer["writer_commit_ms"]["min"] > 0
    for reference in ("asgi", "quart"):
        assert results["servers"][reference]["workloads"]["get_small_c32"]["status"] == "ok"
    assert {c["check"] for c in results["checks"]}, "the targets are evaluated"
