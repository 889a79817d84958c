"""Batched JSON access lines: one write per batch, the same fields, secrets redacted."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import trio

from zas.observability.logs import ACCESS_BATCH, AccessLogger

FIELDS: dict[str, Any] = {
    "request_id": "R1",
    "trace_id": None,
    "principal": "root",
    "operation": "GetObject",
    "bucket": "b",
    "key": "k",
    "status": 200,
    "bytes_in": 0,
    "bytes_out": 5,
    "duration_ms": 1.23456,
    "error_code": None,
    "method": "GET",
    "path": "/b/k",
    "source_ip": "127.0.0.1",
    "user_agent": "curl/8",
}


class CountingStream(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def logger_at_info() -> logging.Logger:
    logger = logging.getLogger("zas.access.test-batching")
    logger.setLevel(logging.INFO)
    return logger


def test_lines_are_buffered_until_a_batch_is_full_then_written_at_once() -> None:
    stream = CountingStream()
    access = AccessLogger(logger_at_info(), stream=stream)

    for _ in range(ACCESS_BATCH - 1):
        access.request(**FIELDS)
    assert stream.writes == 0
    access.request(**FIELDS)

    assert stream.writes == 1
    lines = stream.getvalue().splitlines()
    assert len(lines) == ACCESS_BATCH
    line = json.loads(lines[0])
    assert {k: line[k] for k in ("logger", "message", "status", "path", "duration_ms")} == {
        "logger": "zas.access",
        "message": "request",
        "status": 200,
        "path": "/b/k",
        "duration_ms": 1.235,
    }


def test_client_controlled_fields_are_redacted() -> None:
    stream = io.StringIO()
    access = AccessLogger(logger_at_info(), stream=stream)
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"

    access.request(**{**FIELDS, "user_agent": f"Bearer {jwt}", "key": f"token={jwt}"})
    access.flush()

    assert jwt not in stream.getvalue()


def test_the_flusher_writes_what_is_pending_on_cancellation() -> None:
    stream = io.StringIO()
    access = AccessLogger(logger_at_info(), stream=stream)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(access.run)
            access.request(**FIELDS)
            nursery.cancel_scope.cancel()

    trio.run(main)

    assert len(stream.getvalue().splitlines()) == 1


def test_nothing_is_built_when_the_access_logger_is_off() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("zas.access.test-off")
    logger.setLevel(logging.WARNING)
    access = AccessLogger(logger, stream=stream)

    access.request(**FIELDS)
    access.flush()

    assert stream.getvalue() == ""
