"""Given `python -m bench.variants`, when it compares settings of one checkout, then each server
runs with its own environment and every variant gets a figure per round. (The figures
themselves are never asserted: they are the machine's.)"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.servers import start_zas
from bench.variants import parse_variant

ROOT = Path(__file__).resolve().parents[2]


def test_a_variant_is_a_list_of_settings_or_a_dash_for_none() -> None:
    assert parse_variant("-") == {}
    assert parse_variant("ZAS_FSYNC=false") == {"ZAS_FSYNC": "false"}
    assert parse_variant("A=1,B=x=y,C=") == {"A": "1", "B": "x=y", "C": ""}


@pytest.mark.parametrize("text", ["ZAS_FSYNC", "=1", "A=1,,B=2"])
def test_a_setting_without_a_name_and_value_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=VALUE"):
        parse_variant(text)


@pytest.mark.timeout(60)
def test_a_server_gets_its_own_settings_and_loses_the_ones_set_to_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAS_BENCH_INHERITED", "from the harness")
    server = start_zas(
        tmp_path, environment={"ZAS_REGION": "eu-central-1", "ZAS_BENCH_INHERITED": None}
    )
    try:
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
    finally:
        server.stop()
    assert b"ZAS_REGION=eu-central-1" in environ
    assert not [item for item in environ if item.startswith(b"ZAS_BENCH_INHERITED=")]
    assert os.environ["ZAS_BENCH_INHERITED"] == "from the harness"


def variants(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python -m bench.variants` with `args`, from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "bench.variants", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.timeout(150)
def test_every_round_measures_every_variant() -> None:
    done = variants(
        "--quick",
        "--workload",
        "put_small_c1",
        "--connections",
        "2",
        "--rounds",
        "2",
        "-",
        "ZAS_ACCESS_LOG=false",
        timeout=140,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rounds = [line for line in done.stdout.splitlines() if line.startswith("round ")]
    assert [line.split(":")[0] for line in rounds] == ["round 1", "round 2"]
    for line in rounds:
        assert ": - " in line and "  ZAS_ACCESS_LOG=false " in line
    medians = {
        line.split(":")[0]: line for line in done.stdout.splitlines() if ": median ops_s" in line
    }
    assert set(medians) == {"-", "ZAS_ACCESS_LOG=false"}
    assert "/ first 1.00" in medians["-"]


@pytest.mark.parametrize("workload", ["list", "get_small_c32_user"])
def test_connections_apply_only_to_the_root_small_object_workloads(workload: str) -> None:
    done = variants("--workload", workload, "--connections", "8", "-")
    assert done.returncode == 2
    assert "--connections applies to" in done.stderr


def test_a_variant_given_twice_is_refused() -> None:
    done = variants("--workload", "put_small_c1", "-", "-")
    assert done.returncode == 2
    assert "each variant may be given once" in done.stderr
