"""Data survives restarts and kill -9; nothing half-written is ever visible; blobs dedupe."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path

from tests.e2e.raw import send, sign_headers
from tests.zasproc import ZasProcess


def blob_files(server: ZasProcess) -> dict[str, Path]:
    return {p.name: p for p in (server.data_dir / "blobs" / "sha256").glob("*/*")}


def test_objects_survive_a_graceful_restart(fresh_zas: ZasProcess) -> None:
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="persist")
    for index in range(20):
        s3.put_object(
            Bucket="persist",
            Key=f"k{index}",
            Body=f"value {index}".encode(),
            Metadata={"i": str(index)},
        )
    assert fresh_zas.stop() == 0
    s3 = fresh_zas.start().client()
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["persist"]
    assert s3.list_objects_v2(Bucket="persist")["KeyCount"] == 20
    got = s3.get_object(Bucket="persist", Key="k7")
    assert got["Body"].read() == b"value 7"
    assert got["Metadata"] == {"i": "7"}


def test_an_acknowledged_put_survives_kill_9(fresh_zas: ZasProcess) -> None:
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="durable")
    s3.put_object(Bucket="durable", Key="acked", Body=b"acknowledged before the crash")
    fresh_zas.kill()
    s3 = fresh_zas.start().client()
    assert (
        s3.get_object(Bucket="durable", Key="acked")["Body"].read()
        == b"acknowledged before the crash"
    )


def test_puts_acknowledged_from_the_metadata_journal_survive_kill_9(
    fresh_zas: ZasProcess,
) -> None:
    """Plain PUTs are answered once their rows are in `meta.duckdb.journal`; DuckDB receives
    them within 1 s. Killed before that, the restart must replay them (the last write of a
    key wins) and nothing else."""
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="journaled")
    journal = fresh_zas.data_dir / "meta.duckdb.journal"
    for _attempt in range(20):  # the kill must land before DuckDB receives the rows
        for index in range(10):
            s3.put_object(Bucket="journaled", Key=f"k{index}", Body=f"first {index}".encode())
        s3.put_object(Bucket="journaled", Key="k3", Body=b"last write wins")
        fresh_zas.kill()
        if journal.stat().st_size > 0:
            break
        s3 = fresh_zas.start().client()
    else:
        raise AssertionError("every kill came after DuckDB had the rows: nothing replayed")
    s3 = fresh_zas.start().client()
    listed = s3.list_objects_v2(Bucket="journaled")
    assert [item["Key"] for item in listed["Contents"]] == [f"k{index}" for index in range(10)]
    assert s3.get_object(Bucket="journaled", Key="k3")["Body"].read() == b"last write wins"
    assert s3.get_object(Bucket="journaled", Key="k9")["Body"].read() == b"first 9"
    assert journal.stat().st_size == 0  # replayed into DuckDB at start-up


def test_kill_9_during_an_upload_leaves_no_temp_file_no_object_and_no_blob(
    fresh_zas: ZasProcess,
) -> None:
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="crashy")
    s3.put_object(Bucket="crashy", Key="survivor", Body=b"unrelated object")
    blobs_before = set(blob_files(fresh_zas))

    total = 64 * 1024 * 1024
    sent = threading.Event()
    url = f"{fresh_zas.endpoint}/crashy/half-written"
    headers = sign_headers("PUT", url, payload_hash="UNSIGNED-PAYLOAD")
    headers["Content-Length"] = str(total)

    def upload() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", fresh_zas.port, timeout=30)
        try:
            connection.putrequest("PUT", "/crashy/half-written")
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            chunk = b"x" * (1024 * 1024)
            for index in range(total // len(chunk)):
                connection.send(chunk)
                if index == 8:
                    sent.set()
                    time.sleep(60)  # stall mid-body until the server is killed
        except OSError:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=upload, daemon=True)
    thread.start()
    assert sent.wait(30)
    deadline = time.monotonic() + 10
    while not any((fresh_zas.data_dir / "tmp").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any((fresh_zas.data_dir / "tmp").iterdir()), "the upload was streaming to a temp file"
    fresh_zas.kill()

    s3 = fresh_zas.start().client()
    assert list((fresh_zas.data_dir / "tmp").iterdir()) == []
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="crashy")["Contents"]] == ["survivor"]
    assert set(blob_files(fresh_zas)) == blobs_before
    assert s3.get_object(Bucket="crashy", Key="survivor")["Body"].read() == b"unrelated object"


def test_a_blob_without_an_object_is_collected_at_start(fresh_zas: ZasProcess) -> None:
    fresh_zas.start().client().create_bucket(Bucket="gc-bucket")
    assert fresh_zas.stop() == 0
    # What a crash between "blob renamed into place" and "row committed" leaves behind.
    stray = hashlib.sha256(b"orphan").hexdigest()
    path = fresh_zas.data_dir / "blobs" / "sha256" / stray[:2] / stray
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"orphan")
    fresh_zas.start()
    assert not path.exists()


def test_identical_content_is_stored_once_and_freed_with_its_last_reference(
    fresh_zas: ZasProcess,
) -> None:
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="one")
    s3.create_bucket(Bucket="two")
    body = b"the same artifact bytes" * 1000
    digest = hashlib.sha256(body).hexdigest()
    s3.put_object(Bucket="one", Key="a", Body=body)
    s3.put_object(Bucket="one", Key="b", Body=body)
    s3.put_object(Bucket="two", Key="c", Body=body)
    files = blob_files(fresh_zas)
    assert list(files) == [digest]
    assert files[digest].read_bytes() == body

    s3.delete_object(Bucket="one", Key="a")
    s3.put_object(Bucket="one", Key="b", Body=b"overwritten")  # drops a second reference
    assert digest in blob_files(fresh_zas)
    s3.delete_object(Bucket="two", Key="c")  # the last one
    assert digest not in blob_files(fresh_zas)
    assert s3.get_object(Bucket="one", Key="b")["Body"].read() == b"overwritten"


def test_sigterm_finishes_the_in_flight_upload_then_exits_0(fresh_zas: ZasProcess) -> None:
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="drain")
    body = os.urandom(4 * 1024 * 1024)
    url = f"{fresh_zas.endpoint}/drain/in-flight"
    headers = sign_headers("PUT", url, body=body)
    result: dict[str, int] = {}

    def upload() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", fresh_zas.port, timeout=60)
        connection.putrequest("PUT", "/drain/in-flight")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        connection.send(body[: len(body) // 2])
        started.set()
        time.sleep(1.0)  # the server receives SIGTERM while this body is half sent
        connection.send(body[len(body) // 2 :])
        result["status"] = connection.getresponse().status
        connection.close()

    started = threading.Event()
    thread = threading.Thread(target=upload)
    thread.start()
    assert started.wait(30)
    time.sleep(0.2)
    assert fresh_zas.process is not None
    fresh_zas.process.send_signal(signal.SIGTERM)
    thread.join(60)
    assert fresh_zas.process.wait(60) == 0
    assert result.get("status") == 200
    s3 = fresh_zas.start().client()
    assert s3.get_object(Bucket="drain", Key="in-flight")["Body"].read() == body


def test_readiness_turns_503_on_sigterm_while_requests_are_still_served(
    fresh_zas: ZasProcess,
) -> None:
    fresh_zas.extra_env["ZAS_SHUTDOWN_DELAY"] = "3"
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="draining")
    s3.put_object(Bucket="draining", Key="k", Body=b"still here")
    assert send("GET", fresh_zas.endpoint + "/health/ready", {}, b"").status == 200
    assert fresh_zas.process is not None

    fresh_zas.process.send_signal(signal.SIGTERM)
    ready = send("GET", fresh_zas.endpoint + "/health/ready", {}, b"")
    for _ in range(20):  # the signal is handled asynchronously
        if ready.status == 503:
            break
        time.sleep(0.05)
        ready = send("GET", fresh_zas.endpoint + "/health/ready", {}, b"")
    served = s3.get_object(Bucket="draining", Key="k")["Body"].read()

    assert ready.status == 503
    assert json.loads(ready.body)["state"] == "draining"
    assert served == b"still here"
    assert fresh_zas.process.wait(30) == 0
