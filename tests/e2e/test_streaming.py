"""Bodies stream both ways: a 2 GiB PUT and GET in bounded memory, and a large upload does
not stop the server from answering other requests. (Speed is measured in bench/, not here.)"""

from __future__ import annotations

import hashlib
import http.client
import threading
import time

from tests.e2e.raw import sign_headers
from tests.zasproc import ZasProcess

GIB = 1024**3
RSS_LIMIT = 150 * 1024 * 1024


def stream_put(
    server: ZasProcess,
    path: str,
    total: int,
    chunk: bytes,
    *,
    pause_at: int = -1,
    paused: threading.Event | None = None,
    resume: threading.Event | None = None,
) -> tuple[int, str]:
    """PUT `total` bytes of repeated `chunk`; returns (status, md5 hex of what was sent)."""
    url = server.endpoint + path
    headers = sign_headers("PUT", url, payload_hash="UNSIGNED-PAYLOAD")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    md5 = hashlib.md5()
    try:
        connection.putrequest("PUT", path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(total))
        connection.endheaders()
        sent = 0
        index = 0
        while sent < total:
            piece = chunk[: total - sent]
            connection.send(piece)
            md5.update(piece)
            sent += len(piece)
            if index == pause_at and paused is not None and resume is not None:
                paused.set()
                resume.wait(60)
            index += 1
        response = connection.getresponse()
        response.read()
        return response.status, md5.hexdigest()
    finally:
        connection.close()


def test_2_gib_put_and_get_stream_in_under_150_mb_of_server_memory(fresh_zas: ZasProcess) -> None:
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="big")
    chunk = bytes(range(256)) * 4096  # 1 MiB
    status, md5 = stream_put(fresh_zas, "/big/two-gib", 2 * GIB, chunk)
    assert status == 200
    head = s3.head_object(Bucket="big", Key="two-gib")
    assert head["ContentLength"] == 2 * GIB
    assert head["ETag"] == f'"{md5}"'

    url = f"{fresh_zas.endpoint}/big/two-gib"
    connection = http.client.HTTPConnection("127.0.0.1", fresh_zas.port, timeout=300)
    connection.request("GET", "/big/two-gib", headers=sign_headers("GET", url))
    response = connection.getresponse()
    received = hashlib.md5()
    size = 0
    while block := response.read(4 * 1024 * 1024):
        received.update(block)
        size += len(block)
    connection.close()
    assert size == 2 * GIB
    assert received.hexdigest() == md5
    peak = fresh_zas.peak_rss_bytes()
    assert peak < RSS_LIMIT, f"server peak RSS {peak / 2**20:.0f} MiB"


def test_other_requests_are_answered_while_a_large_upload_streams(fresh_zas: ZasProcess) -> None:
    s3 = fresh_zas.start().client()
    s3.create_bucket(Bucket="busy")
    s3.put_object(Bucket="busy", Key="small", Body=b"small object")
    paused, resume = threading.Event(), threading.Event()
    result: dict[str, tuple[int, str]] = {}

    def upload() -> None:
        chunk = b"z" * (1024 * 1024)
        result["put"] = stream_put(fresh_zas, "/busy/large", 256 * 1024 * 1024, chunk,
                                   pause_at=64, paused=paused, resume=resume)  # fmt: skip

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        assert paused.wait(60), "upload reached its midpoint"
        # The upload is mid-body: its request is open and its bytes are in the server.
        answered = 0
        deadline = time.monotonic() + 30
        while answered < 50 and time.monotonic() < deadline:
            assert s3.get_object(Bucket="busy", Key="small")["Body"].read() == b"small object"
            answered += 1
        listed = s3.list_objects_v2(Bucket="busy")
        assert [o["Key"] for o in listed["Contents"]] == ["small"], (
            "the partial upload is invisible"
        )
        assert answered == 50
        assert "put" not in result, "the small requests were answered before the upload finished"
    finally:
        resume.set()
        thread.join(120)
    assert result["put"][0] == 200
    assert s3.head_object(Bucket="busy", Key="large")["ContentLength"] == 256 * 1024 * 1024
