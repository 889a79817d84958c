"""Given `python -m bench.auth_latency --windows N`, when it alternates c32 windows of the IAM
user's and root's GETs on one server, then both callers get figures and the user/root ratio is
judged against the 0.9 target. (The figures themselves are never asserted: they are the
machine's.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_alternating_c32_windows_give_the_user_and_root_figures_and_a_verdict() -> None:
    command = ["--requests", "0", "--windows", "1", "--seconds", "0.5"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.auth_latency", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr
    line = re.search(
        r"c32, 1 alternating pairs of \d+s windows: user (\d+) ops/s .* root (\d+) ops/s .*"
        r"ratio (\d+\.\d+) \(per pair .*\) -> (pass|FAIL) \(needs >= 0.9\)",
        done.stdout,
    )
    assert line is not None, done.stdout
    assert int(line[1]) > 0 and int(line[2]) > 0
    assert "caller  requests" not in done.stdout, "--requests 0 skips the c1 rounds"
