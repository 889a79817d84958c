"""The blob process of a real `zas serve`: small PUTs go through it, and when it dies the
server carries on with worker threads."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import urllib.request
from pathlib import Path

from tests.zasproc import ZasProcess


def blob_processes(server: ZasProcess) -> list[int]:
    """The pids of the server's child processes running zas.storage.blob_process."""
    assert server.process is not None
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:  # exited meanwhile
            continue
        parent = int(stat.rpartition(")")[2].split()[1])  # after "pid (comm) state"
        if parent == server.process.pid and b"zas.storage.blob_process" in command:
            found.append(int(entry))
    return found


def blob_process_health(server: ZasProcess) -> str | None:
    with urllib.request.urlopen(server.endpoint + "/health", timeout=10) as response:
        report = json.loads(response.read())
    component = report["components"].get("blob_process")
    return None if component is None else str(component["status"])


def test_small_objects_survive_the_blob_process_dying(fresh_zas: ZasProcess) -> None:
    s3 = fresh_zas.start().client()
    (pid,) = blob_processes(fresh_zas)
    assert blob_process_health(fresh_zas) == "ok"
    s3.create_bucket(Bucket="small")
    bodies = {f"before/{n}": os.urandom(4096) for n in range(20)}
    for key, body in bodies.items():
        s3.put_object(Bucket="small", Key=key, Body=body)
    for key, body in bodies.items():
        assert s3.get_object(Bucket="small", Key=key)["Body"].read() == body

    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while blob_process_health(fresh_zas) != "degraded":
        assert time.monotonic() < deadline, fresh_zas.log()
        time.sleep(0.05)
    assert "the blob process exited" in fresh_zas.log()

    after = {f"after/{n}": os.urandom(4096) for n in range(20)}
    for key, body in after.items():
        s3.put_object(Bucket="small", Key=key, Body=body)
    for key, body in {**bodies, **after}.items():
        assert s3.get_object(Bucket="small", Key=key)["Body"].read() == body
    # Deleting (the last reference drops, the blob is collected) works without it too.
    digest = hashlib.sha256(after["after/0"]).hexdigest()
    blob = fresh_zas.data_dir / "blobs" / "sha256" / digest[:2] / digest
    assert blob.read_bytes() == after["after/0"]
    s3.delete_object(Bucket="small", Key="after/0")
    assert s3.list_objects_v2(Bucket="small")["KeyCount"] == 39
    assert not blob.exists()
    assert fresh_zas.stop() == 0, fresh_zas.log()


def test_the_blob_process_ends_with_the_server(fresh_zas: ZasProcess) -> None:
    fresh_zas.start()
    (pid,) = blob_processes(fresh_zas)
    assert fresh_zas.stop() == 0, fresh_zas.log()
    assert not os.path.exists(f"/proc/{pid}")


def test_without_the_blob_process_there_is_none_and_puts_work(tmp_path: Path) -> None:
    server = ZasProcess(tmp_path / "data", env={"ZAS_BLOB_PROCESS": "false"}).start()
    try:
        assert blob_processes(server) == []
        assert blob_process_health(server) is None
        s3 = server.client()
        s3.create_bucket(Bucket="threads")
        s3.put_object(Bucket="threads", Key="k", Body=b"by a worker thread")
        assert s3.get_object(Bucket="threads", Key="k")["Body"].read() == b"by a worker thread"
    finally:
        assert server.stop() == 0, server.log()
