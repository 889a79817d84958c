"""Given the concurrency sweep, when `python -m bench.sweep --quick` runs against a real ZAS,
then every step reports a rate, latencies, the server's CPU and (for PUTs) the metadata
writer's batches. (Smoke test: the figures themselves are never asserted.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_sweep_reports_each_concurrency_step(tmp_path: Path, method: str) -> None:
    out = tmp_path / "sweep.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.sweep",
            "--quick",
            "--method",
            method,
            "--connections",
            "1,4",
            "--passes",
            "1",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    steps = json.loads(out.read_text())["steps"]

    assert [s["connections"] for s in steps] == [1, 4]
    for step in steps:
        assert step["status"] == "ok", step
        assert step["ops_s"] > 0
        assert 0 < step["p50_ms"] <= step["p99_ms"]
        assert step["server_cpu_pct"] > 0
        assert step["server_cpu_ms_per_op"] > 0
        if method == "PUT":
            assert step["writer_changes_per_batch"] >= 1
    assert f"{steps[-1]['ops_s']:7.0f}" in done.stdout
