"""The audit log on a real DuckDB file: batching, the flusher and shutdown, back-pressure by
dropping, search and its pagination, analyst queries (limits, timeout), Parquet export,
retention and the schema."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import duckdb
import pytest
import trio

from zas.auth.audit import SCHEMA_VERSION, AuditLog, AuditRecord
from zas.auth.audit_sql import AuditQueryError, AuditQueryTimeout
from zas.protocol.errors import InvalidArgument

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def rec(index: int = 0, **changes: Any) -> AuditRecord:
    base = AuditRecord(
        time=NOW + dt.timedelta(seconds=index),
        request_id=f"req-{index:06d}",
        principal="alice",
        auth_method="sigv4",
        access_key_id="AKIAALICE",
        source_ip="10.0.0.7",
        method="GET",
        path=f"/bkt/key{index}",
        action="s3:GetObject",
        resource=f"arn:aws:s3:::bkt/key{index}",
        bucket="bkt",
        key=f"key{index}",
        decision="allow",
        statement="policy/readers#0",
        status=200,
        error_code=None,
        bytes_in=0,
        bytes_out=1024,
        duration_ms=2.5,
        user_agent="Boto3/1.35",
    )
    return attrs.evolve(base, **changes)


def run(path: Path, body: Callable[[AuditLog], Awaitable[None]], **options: object) -> None:
    """Open the log at `path` with its flusher running, run `body`, stop, close."""

    async def main() -> None:
        log = AuditLog(path, **options)  # type: ignore[arg-type]
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(log.run)
                await body(log)
                nursery.cancel_scope.cancel()
        finally:
            log.close()

    trio.run(main)


async def eventually(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await trio.sleep(0.01)
    raise AssertionError("condition not met within 10 s")


def count_rows(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM audit_records").fetchone()
        assert row is not None
        return int(row[0])


# --- the record ----------------------------------------------------------------------------


def test_record_never_keeps_the_query_string_and_is_utc() -> None:
    record = rec(
        path="/bkt/key?X-Amz-Signature=abc&X-Amz-Credential=AKIA", time=NOW.replace(tzinfo=None)
    )
    assert record.path == "/bkt/key"
    assert record.time == NOW and record.time.tzinfo is dt.UTC
    eastern = dt.timezone(dt.timedelta(hours=-5))
    assert rec(time=NOW.astimezone(eastern)).time == NOW


# --- batching, the flusher, shutdown, back-pressure ----------------------------------------


def test_many_records_are_written_in_few_inserts(tmp_path: Path) -> None:
    """Given 12,000 records and batch_size 5,000, when flushed, then they land with three
    INSERT statements in one transaction — not one per request."""

    async def main() -> None:
        log = AuditLog(tmp_path / "audit.duckdb", batch_size=5000)
        for index in range(12_000):
            log.record(rec(index))
        assert log.pending == 12_000
        await log.flush()
        assert (log.pending, log.written, log.inserts, log.flushes) == (0, 12_000, 3, 1)
        log.close()

    trio.run(main)
    assert count_rows(tmp_path / "audit.duckdb") == 12_000


def test_flusher_writes_when_a_batch_is_full_without_waiting_for_the_interval(
    tmp_path: Path,
) -> None:
    async def body(log: AuditLog) -> None:
        for index in range(100):
            log.record(rec(index))
        # The interval is an hour: only the full batch can wake the flusher.
        await eventually(lambda: log.written == 100)
        assert log.inserts == 1

    run(tmp_path / "audit.duckdb", body, batch_size=100, flush_interval=3600)


def test_flusher_writes_a_partial_batch_after_the_interval(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        for index in range(7):
            log.record(rec(index))
        await eventually(lambda: log.written == 7)

    run(tmp_path / "audit.duckdb", body, batch_size=5000, flush_interval=0.05)


def test_cancelling_the_flusher_writes_everything_pending(tmp_path: Path) -> None:
    """Given records that neither a full batch nor the interval would flush yet, when the
    server shuts down (the flusher is cancelled), then every record is on disk."""

    async def body(log: AuditLog) -> None:
        for index in range(1234):
            log.record(rec(index))
        await trio.sleep(0.05)
        assert log.written == 0

    run(tmp_path / "audit.duckdb", body, batch_size=10_000, flush_interval=3600)
    assert count_rows(tmp_path / "audit.duckdb") == 1234


def test_past_max_pending_records_are_dropped_counted_and_warned_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        log = AuditLog(tmp_path / "audit.duckdb", max_pending=100)
        with caplog.at_level(logging.WARNING, logger="zas.audit"):
            for index in range(150):
                log.record(rec(index))
            assert (log.pending, log.dropped) == (100, 50)
            await log.flush()
            for index in range(150, 160):
                log.record(rec(index))
            await log.flush()
        assert (log.written, log.dropped) == (110, 50)
        messages = [r.getMessage() for r in caplog.records]
        assert sum("dropping new records" in m for m in messages) == 1
        assert sum("50 records were dropped" in m for m in messages) == 1
        log.close()

    trio.run(main)


def test_a_record_duckdb_refuses_does_not_block_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Given a batch holding a record of the wrong type and one whose path is not valid
    Unicode (undecodable request bytes), when flushed, then the rest of the batch is written,
    the bad-typed record is dropped and counted, and the other is kept with its text mended."""

    async def main() -> None:
        log = AuditLog(tmp_path / "audit.duckdb", batch_size=64)
        for index in range(100):
            if index == 37:
                log.record(rec(index, status="two hundred"))
            elif index == 70:
                log.record(rec(index, path="/bkt/\udc80key"))
            else:
                log.record(rec(index))
        with caplog.at_level(logging.ERROR, logger="zas.audit"):
            await log.flush()
        assert (log.written, log.dropped, log.pending) == (99, 1, 0)
        assert any("req-000037" in r.getMessage() for r in caplog.records)
        mended = await log.query("SELECT path FROM audit_log WHERE request_id = 'req-000070'")
        [[path]] = mended.rows
        assert path.startswith("/bkt/\ufffd") and path.endswith("key")
        log.close()

    trio.run(main)


def test_records_survive_reopening_and_schema_is_versioned(tmp_path: Path) -> None:
    path = tmp_path / "audit.duckdb"

    async def write() -> None:
        log = AuditLog(path)
        log.record(rec(1))
        await log.flush()
        log.close()

    trio.run(write)
    trio.run(write)
    assert count_rows(path) == 2
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (
            SCHEMA_VERSION,
        )
        con.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION + 1])
    with pytest.raises(RuntimeError, match="newer than this ZAS"):
        AuditLog(path)


# --- search --------------------------------------------------------------------------------


def populate(log: AuditLog) -> list[AuditRecord]:
    """60 records: three principals, two decisions, two buckets, several sharing a second."""
    records = []
    for index in range(60):
        bucket = "logs" if index % 2 else "builds"
        records.append(
            rec(
                index,
                time=NOW + dt.timedelta(seconds=index // 3),  # ties: keyset needs the seq
                principal=("alice", "bob", "anonymous")[index % 3],
                action="s3:PutObject" if index % 5 == 0 else "s3:GetObject",
                decision="deny" if index % 4 == 0 else "allow",
                resource=f"arn:aws:s3:::{bucket}/k{index}",
                bucket=bucket,
            )
        )
    for record in records:
        log.record(record)
    return records


def newest_first(records: list[AuditRecord]) -> list[str]:
    # Same second: later arrival (higher seq) first.
    order = sorted(enumerate(records), key=lambda item: (item[1].time, item[0]), reverse=True)
    return [record.request_id for _, record in order]


def test_search_filters_each_and_combined(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        records = populate(log)  # not flushed: search flushes first

        async def ids(**filters: Any) -> list[str]:
            found, cursor = await log.search(limit=1000, **filters)
            assert cursor is None
            return [r.request_id for r in found]

        def expect(keep: Callable[[AuditRecord], bool]) -> list[str]:
            return newest_first([r for r in records if keep(r)])

        assert await ids() == expect(lambda r: True)
        assert await ids(principal="bob") == expect(lambda r: r.principal == "bob")
        assert await ids(action="s3:PutObject") == expect(lambda r: r.action == "s3:PutObject")
        assert await ids(decision="deny") == expect(lambda r: r.decision == "deny")
        assert await ids(resource_prefix="arn:aws:s3:::logs/") == expect(
            lambda r: r.bucket == "logs"
        )
        since, until = NOW + dt.timedelta(seconds=5), NOW + dt.timedelta(seconds=10)
        assert await ids(since=since, until=until) == expect(lambda r: since <= r.time < until)
        assert await ids(
            principal="alice", decision="deny", resource_prefix="arn:aws:s3:::builds", since=since
        ) == expect(
            lambda r: (
                r.principal == "alice"
                and r.decision == "deny"
                and r.bucket == "builds"
                and r.time >= since
            )
        )
        assert await ids(principal="nobody") == []
        # Values are data, never SQL.
        assert await ids(principal="alice' OR '1'='1") == []
        found, _ = await log.search(limit=1)
        assert found == [records[-1]]

    run(tmp_path / "audit.duckdb", body)


def test_search_pages_have_no_gaps_or_duplicates(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        records = populate(log)
        late = rec(999, time=NOW + dt.timedelta(days=1))
        cases: list[tuple[dict[str, Any], Callable[[AuditRecord], bool]]] = [
            ({}, lambda r: True),
            ({"decision": "allow"}, lambda r: r.decision == "allow"),
        ]
        for filters, keep in cases:
            seen: list[str] = []
            cursor: str | None = None
            pages = 0
            while True:
                page, cursor = await log.search(limit=7, cursor=cursor, **filters)
                pages += 1
                assert len(page) <= 7
                seen += [r.request_id for r in page]
                if cursor is None:
                    break
                if pages == 1 and not filters:
                    log.record(late)  # arriving mid-walk, it does not shift the later pages
            expected = newest_first([r for r in records if keep(r)])
            assert seen == expected
            assert pages == -(-len(expected) // 7)
            if late not in records:
                records.append(late)

    run(tmp_path / "audit.duckdb", body)


def test_search_rejects_a_bad_cursor_and_limit(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        for cursor in ("not-a-cursor", "W10", "WyJ4IiwgMV0"):  # garbage, [], ["x", 1]
            with pytest.raises(InvalidArgument, match="cursor"):
                await log.search(cursor=cursor)
        for limit in (0, 1001):
            with pytest.raises(InvalidArgument, match="limit"):
                await log.search(limit=limit)

    run(tmp_path / "audit.duckdb", body)


# --- analyst queries -----------------------------------------------------------------------


def test_query_sees_its_own_request_and_returns_json(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        log.record(rec(1, decision="deny", status=403, duration_ms=float("nan")))
        result = await log.query(
            "SELECT time, decision, status, duration_ms, INTERVAL 90 MINUTE AS i, "
            "CAST(time AS DATE) AS d, 1.50::DECIMAL(4,2) AS dec FROM audit_log"
        )
        assert result.columns == ["time", "decision", "status", "duration_ms", "i", "d", "dec"]
        assert result.rows == [
            ["2026-11-27T12:00:01+00:00", "deny", 403, None, "P0DT5400S", "2026-11-27", 1.5]
        ]
        assert not result.truncated
        json.dumps(result.rows)

    run(tmp_path / "audit.duckdb", body)


def test_query_row_limit_truncates(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        for index in range(50):
            log.record(rec(index))
        result = await log.query("SELECT request_id FROM audit_log ORDER BY time", max_rows=10)
        assert result.truncated
        assert [row[0] for row in result.rows] == [f"req-{i:06d}" for i in range(10)]
        exact = await log.query("SELECT request_id FROM audit_log", max_rows=50)
        assert len(exact.rows) == 50 and not exact.truncated

    run(tmp_path / "audit.duckdb", body)


def test_a_slow_query_is_interrupted_at_the_timeout(tmp_path: Path) -> None:
    """Given 500 rows, a triple self-join hashing every combination (125 million, ~12 s on
    the 2-core machine), when run with a 0.2 s timeout, then DuckDB is interrupted promptly
    and the log keeps working."""

    async def body(log: AuditLog) -> None:
        for index in range(500):
            log.record(rec(index))
        slow = (
            "SELECT count(*) FROM audit_log a, audit_log b, audit_log c "
            "WHERE hash(a.request_id || b.request_id || c.request_id) = 0"
        )
        started = time.monotonic()
        with pytest.raises(AuditQueryTimeout, match=r"longer than 0\.2 s"):
            await log.query(slow, timeout=0.2)
        assert time.monotonic() - started < 3
        result = await log.query("SELECT count(*) FROM audit_log")
        assert result.rows == [[500]]

    run(tmp_path / "audit.duckdb", body)


def test_query_errors_are_audit_query_errors(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        with pytest.raises(AuditQueryError, match=r"audit query failed: .*no_such_column"):
            await log.query("SELECT no_such_column FROM audit_log")
        with pytest.raises(AuditQueryError, match="not an audit view"):
            await log.query("SELECT * FROM audit_records")

    run(tmp_path / "audit.duckdb", body)


def test_the_database_itself_cannot_reach_files_or_settings(tmp_path: Path) -> None:
    """The second wall behind the guard: even SQL that bypassed it could not read files,
    write outside the export directory, or change the configuration."""

    async def body(log: AuditLog) -> None:
        con = log._connection
        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("SET memory_limit = '8GB'")

    run(tmp_path / "audit.duckdb", body)


# --- export and retention ------------------------------------------------------------------


def test_export_parquet_round_trips(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "audit.parquet"
    dest.parent.mkdir()

    async def body(log: AuditLog) -> None:
        for index in range(30):
            log.record(rec(index, user_agent=None if index == 3 else "curl/8"))
        since, until = NOW + dt.timedelta(seconds=10), NOW + dt.timedelta(seconds=20)
        assert await log.export_parquet(dest, since=since, until=until) == 10
        everything = tmp_path / "out" / "all.parquet"
        assert await log.export_parquet(everything) == 30

    run(tmp_path / "audit.duckdb", body)
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT request_id, time, bytes_out, user_agent FROM read_parquet(?)", [str(dest)]
        ).fetchall()
        columns = [
            d[0] for d in con.execute("SELECT * FROM read_parquet(?)", [str(dest)]).description
        ]
    assert [r[0] for r in rows] == [f"req-{i:06d}" for i in range(10, 20)]
    assert rows[0][1] == (NOW + dt.timedelta(seconds=10)).replace(tzinfo=None)
    assert columns[0] == "time" and "seq" not in columns and len(columns) == 20
    assert list((tmp_path / "audit.duckdb.exports").iterdir()) == []  # nothing staged left


def test_retention_deletes_only_older_rows(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        for index, days in enumerate((40, 31, 29, 1, 0)):
            log.record(rec(index, time=NOW - dt.timedelta(days=days)))
        await log.flush()
        assert await log.delete_older_than(NOW - dt.timedelta(days=30)) == 2
        assert await log.delete_older_than(NOW - dt.timedelta(days=30)) == 0
        found, _ = await log.search()
        assert sorted(r.request_id for r in found) == ["req-000002", "req-000003", "req-000004"]

    run(tmp_path / "audit.duckdb", body)


def test_run_retention_uses_the_clock_and_none_keeps_everything(tmp_path: Path) -> None:
    async def body(log: AuditLog) -> None:
        for index, days in enumerate((10, 5, 1)):
            log.record(rec(index, time=NOW - dt.timedelta(days=days)))
        await log.flush()
        await log.run_retention(None)  # returns at once
        async with trio.open_nursery() as nursery:
            nursery.start_soon(log.run_retention, 3)
            for _ in range(1000):
                if (await log.query("SELECT count(*) FROM audit_log")).rows == [[1]]:
                    break
                await trio.sleep(0.01)
            else:
                raise AssertionError("retention did not run")
            nursery.cancel_scope.cancel()

    run(tmp_path / "audit.duckdb", body, clock=lambda: NOW)
