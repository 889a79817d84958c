"""Given `python -m bench.meta_batch`, when it runs on small tables, then it prints one row
per table size with CPU and wall times for every kind of batch it measures. (Smoke test: the
figures themselves are never asserted.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_meta_batch_times_every_kind_of_batch_at_every_size() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.meta_batch", "--sizes", "0,200", "--repeat", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert "overwrite x16" in header and "PK lookup" in header
    assert [row.split()[0] for row in rows] == ["0", "200"]
    for row in rows:
        cells = re.findall(r"(\d+\.\d) / +(\d+\.\d) ms", row)
        assert len(cells) == 5, row
        assert all(float(wall) > 0 for _, wall in cells), row
