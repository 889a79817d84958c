"""`zas serve`: defaults, generated root credentials, YAML config and ZAS_* overrides, probes,
the garbage collector's settings."""

from __future__ import annotations

import gc
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from tests.zasproc import ZasProcess, free_port
from zas.server import GC_YOUNG_THRESHOLD, settle_gc


def _wait_for_line(
    path: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 30
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        assert process.poll() is None, content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in:\n{path.read_text()}")


def _serve(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "zas.cli.main", "serve", *args],
            cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ZAS_")}


def test_first_start_generates_root_credentials_once_stored_0600(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    process = _serve(["--listen", f"127.0.0.1:{port}"], tmp_path, _clean_env(), log)
    try:
        output = _wait_for_line(log, "ZAS listening", process)
        # Default data directory: ./zas-data relative to where the server was started.
        creds_file = tmp_path / "zas-data" / "root-credentials.json"
        mode = stat.S_IMODE(creds_file.stat().st_mode)
        assert mode == 0o600
        stored = json.loads(creds_file.read_text())
        assert stored["access_key_id"] in output and stored["secret_access_key"] in output
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id=stored["access_key_id"],
            aws_secret_access_key=stored["secret_access_key"],
            config=Config(retries={"max_attempts": 0}),
        )
        s3.create_bucket(Bucket="generated-creds")
    finally:
        process.terminate()
        assert process.wait(30) == 0
    # Second start: the same credentials, and they are not printed again.
    log2 = tmp_path / "serve2.log"
    process = _serve(["--listen", f"127.0.0.1:{port}"], tmp_path, _clean_env(), log2)
    try:
        output = _wait_for_line(log2, "ZAS listening", process)
        assert stored["secret_access_key"] not in output
        assert json.loads(creds_file.read_text()) == stored
    finally:
        process.terminate()
        assert process.wait(30) == 0


def test_yaml_config_is_read_and_env_overrides_it(tmp_path: Path) -> None:
    file_port, env_port = free_port(), free_port()
    config = tmp_path / "zas.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'from-yaml'}\nlisten: 127.0.0.1:{file_port}\nregion: eu-central-1\n"
        "root_access_key: YAMLKEY\nroot_secret_key: yaml-secret\n"
    )
    env = {**_clean_env(), "ZAS_LISTEN": f"127.0.0.1:{env_port}"}
    log = tmp_path / "serve.log"
    process = _serve(["--config", str(config)], tmp_path, env, log)
    try:
        _wait_for_line(log, f"127.0.0.1:{env_port}", process)
        s3 = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{env_port}", region_name="eu-central-1",
            aws_access_key_id="YAMLKEY", aws_secret_access_key="yaml-secret",
            config=Config(retries={"max_attempts": 0}),
        )  # fmt: skip
        s3.create_bucket(
            Bucket="from-yaml", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        assert s3.get_bucket_location(Bucket="from-yaml")["LocationConstraint"] == "eu-central-1"
        assert (tmp_path / "from-yaml" / "meta.duckdb").exists()
    finally:
        process.terminate()
        assert process.wait(30) == 0


def test_invalid_config_is_a_clear_error_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("no_such_setting: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "zas.cli.main", "serve", "--config", str(config)],
        capture_output=True, text=True, timeout=60, env=_clean_env(),
    )  # fmt: skip
    assert result.returncode == 2
    assert "no_such_setting" in result.stderr


def test_health_probes_answer_without_credentials(zas: ZasProcess) -> None:
    with urllib.request.urlopen(zas.endpoint + "/health/live", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}
    with urllib.request.urlopen(zas.endpoint + "/health/ready", timeout=10) as response:
        assert json.loads(response.read())["state"] == "serving"
    with urllib.request.urlopen(zas.endpoint + "/health", timeout=10) as response:
        report = json.loads(response.read())
    assert report["components"]["metadata"]["status"] == "ok"
    assert report["components"]["blob_store"]["writable"] is True
    assert report["components"]["metadata_writer"]["status"] == "ok"
    assert report["components"]["blob_process"]["status"] == "ok"  # on by default
    assert "secret" not in json.dumps(report).lower()


def test_console_script_is_installed() -> None:
    # The `zas` script sits beside the interpreter running the tests (.venv/bin or the system).
    script = Path(sys.executable).parent / "zas"
    assert script.exists() or shutil.which("zas") is not None
    command = str(script) if script.exists() else "zas"
    result = subprocess.run(
        [command, "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "--data-dir" in result.stdout and "--listen" in result.stdout


def test_settle_gc_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    """What `zas serve` does once started (in this process, then undone): full collections
    no longer walk the modules and objects start-up left, which paused the loop ~80 ms."""
    saved = gc.get_threshold()
    try:
        settle_gc()
        assert gc.get_freeze_count() > 10_000  # this test process's modules, at least
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, saved[1], saved[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
