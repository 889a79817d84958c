"""The audit log: one record per request, written to DuckDB in batches, read back in SQL.

Every request — allowed, denied or failed before a decision — becomes an `AuditRecord`. The
request path only appends it to a list (`AuditLog.record`, O(1), never blocks); a flusher task
writes what accumulated as one columnar INSERT per `batch_size` records, in one transaction per
flush. DESIGN.md's measurements say why: a single-row INSERT costs ~1.5 ms, a 1,000-row columnar
batch ~10 ms, so one INSERT per request would cap the server at a few hundred requests/s.

The log has its own database file (audit.duckdb beside meta.duckdb): audit writes never wait
behind a metadata commit, and a slow analyst query never holds the metadata writer back.
Analysts see the views `audit_log` and `audit_daily`, never the table behind them
(`audit_records`), through the guard in `zas.auth.audit_sql`. As a second wall the database runs
with DuckDB's external access disabled (files outside the database are unreachable, except the
staging directory Parquet exports are written to) and its configuration locked.

`time` is stored as a UTC TIMESTAMP without zone: the DuckDB build we ship has no ICU
extension, without which TIMESTAMPTZ arithmetic and date_trunc are unavailable to analysts.

Every DuckDB call runs in a worker thread. This module knows nothing of HTTP; the server builds
the records and owns the tasks (`run`, `run_retention`) in its nursery.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import decimal
import functools
import json
import logging
import math
import operator
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import duckdb
import trio

from zas.auth.audit_sql import AUDIT_VIEWS, AuditQueryError, AuditQueryTimeout, check_query
from zas.meta import duckdb_support
from zas.meta.duckdb_support import ThreadCursors
from zas.protocol.errors import InvalidArgument
from zas.thread_job import ThreadJob

log = logging.getLogger("zas.audit")

UTC = dt.UTC

# The audit database's own DuckDB settings. Analyst queries share this memory cap (DuckDB's
# limit is per database, not per cursor); large sorts spill to the database's temp directory,
# bounded too. Two threads: the machine has two cores and the server needs one.
DUCKDB_SETTINGS = {"memory_limit": "256MB", "threads": "2", "max_temp_directory_size": "2GB"}
# Longest page `search` returns.
MAX_SEARCH_LIMIT = 1000


def _utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _path_only(value: str) -> str:
    """The path without its query string: presigned URLs carry signatures and credentials."""
    return value.split("?", 1)[0]


@attrs.frozen
class AuditRecord:
    """What happened to one request. `decision` is "allow", "deny" or "error" (the request
    failed before a decision could be made, e.g. a bad signature); `statement` names the
    policy statement that decided, when one did."""

    time: dt.datetime = attrs.field(converter=_utc)
    request_id: str
    principal: str  # "anonymous" when the request carried no identity
    auth_method: str  # "sigv4" | "presigned" | "bearer" | "sts" | "anonymous" | "root" | ...
    access_key_id: str | None
    source_ip: str | None
    method: str
    path: str = attrs.field(converter=_path_only)
    action: str | None  # "s3:GetObject"
    resource: str | None  # ARN
    bucket: str | None
    key: str | None
    decision: str
    statement: str | None
    status: int
    error_code: str | None
    bytes_in: int
    bytes_out: int
    duration_ms: float
    user_agent: str | None


# Column name -> DuckDB type, in AuditRecord field order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("time", "TIMESTAMP"),
    ("request_id", "VARCHAR"),
    ("principal", "VARCHAR"),
    ("auth_method", "VARCHAR"),
    ("access_key_id", "VARCHAR"),
    ("source_ip", "VARCHAR"),
    ("method", "VARCHAR"),
    ("path", "VARCHAR"),
    ("action", "VARCHAR"),
    ("resource", "VARCHAR"),
    ("bucket", "VARCHAR"),
    ("key", "VARCHAR"),
    ("decision", "VARCHAR"),
    ("statement", "VARCHAR"),
    ("status", "INTEGER"),
    ("error_code", "VARCHAR"),
    ("bytes_in", "BIGINT"),
    ("bytes_out", "BIGINT"),
    ("duration_ms", "DOUBLE"),
    ("user_agent", "VARCHAR"),
)
_NAMES = ", ".join(name for name, _ in COLUMNS)
# The batch travels as one JSON document of columns, parsed by DuckDB. Measured on the 2-core
# machine (5,000 records): DuckDB's conversion of Python list parameters costs ~2 us per value
# with the GIL held (~180 ms a batch, all of it stalling the event loop), json.dumps ~0.3 us
# (~40 ms; DuckDB parses the document with the GIL released).
_SHAPE = json.dumps({name: [kind] for name, kind in COLUMNS})
_INSERT = (
    f"INSERT INTO audit_records ({_NAMES}) SELECT "
    + ", ".join(f"unnest(batch.{name})" for name, _ in COLUMNS)
    + f" FROM (SELECT json_transform_strict(?, '{_SHAPE}') AS batch)"
)
# What a record DuckDB cannot store raises: the record's fault, not the database's.
_DATA_ERRORS = (
    duckdb.ConversionException,
    duckdb.ConstraintException,
    duckdb.InvalidInputException,
    duckdb.TypeMismatchException,
    TypeError,
    ValueError,
)
_NOT_NULL = {"time", "request_id", "principal", "auth_method", "method", "path", "decision",
             "status", "bytes_in", "bytes_out", "duration_ms"}  # fmt: skip

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the records, in arrival order (which is time order, so DuckDB's per-row-group min/max
    # on `time` prunes a day's query to that day's row groups); the analyst views.
    (
        # seq orders records that share a timestamp (keyset pagination needs a total order).
        "CREATE SEQUENCE audit_seq",
        "CREATE TABLE audit_records (seq BIGINT NOT NULL DEFAULT nextval('audit_seq'), "
        + ", ".join(
            f"{name} {kind}{' NOT NULL' if name in _NOT_NULL else ''}" for name, kind in COLUMNS
        )
        + ")",
        f"CREATE VIEW audit_log AS SELECT {_NAMES} FROM audit_records",
        """
        CREATE VIEW audit_daily AS
        SELECT CAST(time AS DATE) AS day, principal, action, decision, status,
               count(*) AS requests, sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out,
               avg(duration_ms) AS avg_duration_ms, max(duration_ms) AS max_duration_ms
        FROM audit_records GROUP BY ALL
        """,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: Any) -> int:
    """Bring the audit database to SCHEMA_VERSION; returns the version found."""
    return duckdb_support.migrate(connection, MIGRATIONS, what="audit database")


_FIELDS = operator.attrgetter(*(name for name, _ in COLUMNS[1:]))


def _payload(records: Sequence[AuditRecord]) -> str:
    """The JSON document _INSERT reads: {column: [values...]}."""
    columns: dict[str, list[Any]] = {
        "time": [rec.time.replace(tzinfo=None).isoformat() for rec in records]
    }
    for (name, _), values in zip(
        COLUMNS[1:], zip(*map(_FIELDS, records), strict=True), strict=True
    ):
        columns[name] = list(values)
    # Not ASCII-escaped: a lone surrogate must fail the conversion to UTF-8 (and be mended,
    # see _write) rather than reach DuckDB as "\\udc80", which it silently truncates at.
    return json.dumps(columns, ensure_ascii=False)


def _mended(rec: AuditRecord) -> AuditRecord:
    """`rec` with strings that are not valid Unicode (lone surrogates from undecodable request
    bytes) repaired, so the record is kept with U+FFFD instead of lost. (Not "?": the path
    converter would take it for the start of a query string.)"""
    changes: dict[str, Any] = {
        field.name: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        for field in attrs.fields(AuditRecord)
        if isinstance(value := getattr(rec, field.name), str)
    }
    return attrs.evolve(rec, **changes)


def _from_row(row: Sequence[Any]) -> AuditRecord:
    return AuditRecord(*row)


@attrs.frozen
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]  # JSON-able values
    truncated: bool  # more than max_rows rows matched


def json_value(value: Any) -> Any:
    """A DuckDB result value as JSON: datetimes/dates/times as ISO 8601 (UTC timestamps
    without zone get "+00:00", since that is what we store), intervals as ISO 8601 durations,
    decimals as numbers, NaN/infinity as null, bytes as hex."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return _utc(value).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = value.seconds + value.microseconds / 1e6
        return f"P{value.days}DT{seconds:g}S"
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


def _encode_cursor(time: dt.datetime, seq: int) -> str:
    raw = json.dumps([time.isoformat(), seq]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        time_text, seq = json.loads(raw)
        time = dt.datetime.fromisoformat(time_text)
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("seq")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument("The pagination cursor is not valid.") from exc
    return time, seq


class AuditLog:
    """The audit database: batched writes, search, analyst SQL, Parquet export, retention.

    `record` is called on the trio thread by every request; `run` (the flusher) and
    `run_retention` run in a nursery the server owns; `close` after they have stopped.
    Counters for tests and metrics: `dropped`, `inserts` (INSERT statements), `flushes`
    (committed transactions), `written` (records).
    """

    def __init__(
        self,
        path: Path,
        *,
        batch_size: int = 5000,
        flush_interval: float = 0.5,
        max_pending: int = 200_000,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC),
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.clock = clock
        self.dropped = 0
        self.inserts = 0
        self.flushes = 0
        self.written = 0
        self._pending: list[AuditRecord] = []
        self._dropping = False
        self._burst_dropped = 0
        self._wakeup = trio.Event()
        self._flush_lock = trio.Lock()
        self._exports = path.with_name(path.name + ".exports")
        self._exports.mkdir(parents=True, exist_ok=True)
        self._connection = duckdb.connect(str(path), config=dict(DUCKDB_SETTINGS))
        self._cursors = ThreadCursors(self._connection)
        migrate(self._connection)
        self._lock_down()

    def _lock_down(self) -> None:
        """No file access beyond the database and the export staging directory, and no
        configuration changes, whatever SQL reaches this database."""
        try:
            self._connection.execute(
                "SET allowed_directories = ?", [[str(self._exports.resolve()) + "/"]]
            )
            self._connection.execute("SET enable_external_access = false")
            self._connection.execute("SET lock_configuration = true")
        except duckdb.Error:  # DuckDB before allowed_directories (1.2): the guard alone
            log.warning("audit: this DuckDB cannot restrict file access; relying on the guard")

    # --- writing -------------------------------------------------------------------------

    def memory_bytes(self) -> int:
        """Bytes DuckDB holds for the audit database (worker thread: it runs a query)."""
        return self._cursors.memory_bytes()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, rec: AuditRecord) -> None:
        """Queue one record; call on the trio thread. O(1), never blocks, never raises.

        Past `max_pending` queued records (the database has stalled or cannot keep up), the
        record is dropped and counted in `dropped`, with one warning per burst. The
        alternatives were worse: blocking would make every request wait on the audit disk,
        so an audit stall would become an outage; failing requests closed is a policy some
        deployments want, but it belongs to the caller, who can check `dropped`. Memory stays
        bounded either way.
        """
        try:
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                self._burst_dropped += 1
                if not self._dropping:
                    self._dropping = True
                    log.warning(
                        "audit: %d records waiting to be written; dropping new records "
                        "until the backlog drains",
                        len(self._pending),
                    )
                return
            self._pending.append(rec)
            if len(self._pending) >= self.batch_size:
                self._wakeup.set()
        except Exception:  # the request path must not fail because of the audit log
            self.dropped += 1

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The flusher: writes when `batch_size` records are pending, else every
        `flush_interval` seconds. Cancel it to stop; it writes what is pending first."""
        task_status.started()
        try:
            while True:
                with trio.move_on_after(self.flush_interval):
                    await self._wakeup.wait()
                self._wakeup = trio.Event()
                try:
                    await self.flush()
                except Exception:
                    # Kept pending (see flush); try again after a pause rather than spin.
                    log.exception("audit: writing %d records failed; will retry", self.pending)
                    await trio.sleep(self.flush_interval)
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await self.flush()
                except Exception:
                    log.exception("audit: %d records could not be written at shutdown",
                                  self.pending)  # fmt: skip

    async def flush(self) -> None:
        """Write every record pending now, in one transaction. On failure the records are
        put back (in order) and the error raised; nothing is lost while the process lives."""
        async with self._flush_lock:
            # Taken under the lock: a flush that finds nothing still waits for a write in
            # progress, so after `await flush()` every earlier record is committed.
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                inserts, refused = await trio.to_thread.run_sync(self._write, batch)
            except BaseException:
                self._pending[:0] = batch
                raise
            self.inserts += inserts
            self.flushes += 1
            self.written += len(batch) - refused
            self.dropped += refused
            if self._dropping and len(self._pending) < self.max_pending // 2:
                log.warning("audit: backlog drained; %d records were dropped",
                            self._burst_dropped)  # fmt: skip
                self._dropping = False
                self._burst_dropped = 0

    def _write(self, batch: list[AuditRecord]) -> tuple[int, int]:
        """Worker thread: one INSERT per batch_size records, all in one transaction; returns
        (INSERT statements, records refused).

        A record DuckDB refuses (wrong type, invalid text) would fail its whole batch, and
        retrying would fail it forever; so on such an error the batch is split in halves,
        each written on its own, until only refused records are left (and logged, and
        counted as dropped). Other errors (disk full, I/O) are raised: the records go back
        to the queue and are retried.
        """
        cursor = self._cursor()
        chunks = [batch[i : i + self.batch_size] for i in range(0, len(batch), self.batch_size)]
        cursor.execute("BEGIN TRANSACTION")
        try:
            for chunk in chunks:
                cursor.execute(_INSERT, [_payload(chunk)])
            cursor.execute("COMMIT")
        except _DATA_ERRORS:
            cursor.execute("ROLLBACK")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        else:
            return len(chunks), 0
        inserts = refused = 0
        for chunk in chunks:
            written, lost = self._write_splitting(cursor, chunk)
            inserts += written
            refused += lost
        return inserts, refused

    def _write_splitting(self, cursor: Any, records: list[AuditRecord]) -> tuple[int, int]:
        try:
            cursor.execute(_INSERT, [_payload(records)])
            return 1, 0
        except _DATA_ERRORS as exc:
            if len(records) > 1:
                half = len(records) // 2
                left = self._write_splitting(cursor, records[:half])
                right = self._write_splitting(cursor, records[half:])
                return left[0] + right[0], left[1] + right[1]
            try:
                cursor.execute(_INSERT, [_payload([_mended(records[0])])])
                return 1, 0
            except _DATA_ERRORS:
                log.error("audit: dropping a record DuckDB refuses (%s): %r", exc, records[0])
                return 0, 1

    # --- reading -------------------------------------------------------------------------

    async def search(
        self,
        *,
        principal: str | None = None,
        action: str | None = None,
        resource_prefix: str | None = None,
        decision: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[AuditRecord], str | None]:
        """Records matching every given filter, newest first, `limit` per page; the second
        value is the cursor of the next page (None on the last). `since` is inclusive,
        `until` exclusive. Keyset pagination on (time, seq): pages neither skip nor repeat
        records while new ones arrive."""
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_SEARCH_LIMIT}.")
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("principal", principal), ("action", action),
                              ("decision", decision)):  # fmt: skip
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if resource_prefix is not None:
            clauses.append("starts_with(resource, ?)")
            params.append(resource_prefix)
        if since is not None:
            clauses.append("time >= ?")
            params.append(_utc(since).replace(tzinfo=None))
        if until is not None:
            clauses.append("time < ?")
            params.append(_utc(until).replace(tzinfo=None))
        if cursor is not None:
            after_time, after_seq = _decode_cursor(cursor)
            naive = _utc(after_time).replace(tzinfo=None)
            clauses.append("(time < ? OR (time = ? AND seq < ?))")
            params += [naive, naive, after_seq]
        where = " AND ".join(clauses) or "true"
        sql = (
            f"SELECT seq, {_NAMES} FROM audit_records WHERE {where} "
            "ORDER BY time DESC, seq DESC LIMIT ?"
        )
        await self.flush()
        rows = await trio.to_thread.run_sync(self._query, sql, [*params, limit + 1])
        records = [_from_row(row[1:]) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = _encode_cursor(_utc(last[1]), int(last[0]))
        return records, next_cursor

    async def query(
        self,
        sql: str,
        *,
        max_rows: int = 10_000,
        # Not a trio deadline: cancelling cannot stop a DuckDB thread, interrupt() can.
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> QueryResult:
        """Run an analyst's SELECT over the audit views (see `zas.auth.audit_sql` for what is
        accepted). At most `max_rows` rows come back (`truncated` says whether more matched);
        a query running past `timeout` seconds is interrupted (AuditQueryTimeout). Pending
        records are written first, so a query sees the request that sent it."""
        if max_rows < 0:
            raise InvalidArgument("max_rows must not be negative.")
        await self.flush()
        return await guarded_query(
            self._connection, sql, views=AUDIT_VIEWS, max_rows=max_rows, timeout=timeout
        )

    async def export_parquet(
        self, dest: Path, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> int:
        """Write the `audit_log` rows in [since, until) to `dest` as Parquet (zstd), oldest
        first; returns the number of rows. The file is written in the staging directory (the
        one place the locked-down database may write) and then moved into place, so `dest`
        never holds a partial file."""
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("time >= ?")
            params.append(_utc(since).replace(tzinfo=None))
        if until is not None:
            clauses.append("time < ?")
            params.append(_utc(until).replace(tzinfo=None))
        where = " AND ".join(clauses) or "true"
        staging = self._exports.resolve() / f"{uuid.uuid4().hex}.parquet"
        # The path is ours (a UUID in our directory): safe to inline; COPY takes no parameter.
        sql = (
            f"COPY (SELECT * FROM audit_log WHERE {where} ORDER BY time) "
            f"TO '{staging}' (FORMAT parquet, COMPRESSION zstd)"
        )
        await self.flush()
        try:
            rows = await trio.to_thread.run_sync(self._query, sql, params)
            await trio.to_thread.run_sync(shutil.move, staging, dest)
        finally:
            staging.unlink(missing_ok=True)
        return int(rows[0][0])

    async def delete_older_than(self, cutoff: dt.datetime) -> int:
        """Delete records strictly older than `cutoff`; returns how many."""
        rows = await trio.to_thread.run_sync(
            self._query,
            "DELETE FROM audit_records WHERE time < ?",
            [_utc(cutoff).replace(tzinfo=None)],
        )
        return int(rows[0][0]) if rows else 0

    async def run_retention(self, retention_days: float | None, interval: float = 3600) -> None:
        """Every `interval` seconds, delete records older than `retention_days` days (None:
        keep forever, and return at once). Failures are logged and retried next time."""
        if retention_days is None:
            return
        while True:
            cutoff = self.clock() - dt.timedelta(days=retention_days)
            try:
                deleted = await self.delete_older_than(cutoff)
            except Exception:
                log.exception("audit: retention failed")
            else:
                if deleted:
                    log.info("audit: deleted %d records older than %s", deleted, cutoff)
            await trio.sleep(interval)

    def close(self) -> None:
        self._connection.close()

    # --- worker threads ------------------------------------------------------------------

    def _cursor(self) -> Any:
        return self._cursors.cursor()

    def _query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return self._cursors.query(sql, params)


INTERRUPT_REPEAT = 0.01  # seconds between interrupts of a cancelled analyst query


def _interrupt(cursor: Any) -> None:
    """Ask DuckDB to stop the cursor's query: sets a flag, never blocks, so it may run on the
    event loop. The query may have just finished and closed the cursor."""
    with contextlib.suppress(duckdb.Error):
        cursor.interrupt()


async def guarded_query(
    connection: Any,
    sql: str,
    *,
    views: Iterable[str],
    max_rows: int,
    timeout: float,  # noqa: ASYNC109 - not a trio deadline: interrupt() stops DuckDB
) -> QueryResult:
    """An analyst's SELECT over `views` of `connection`'s database, through the guard
    (`zas.auth.audit_sql`), row-limited, interrupted after `timeout` seconds. Shared by the
    audit log and the SBOM component index."""
    # A cursor of its own: interrupt() stops this query and nothing else. A trio deadline
    # cannot stop DuckDB, so on cancellation (the timeout, a client gone, a shutdown) the
    # query is interrupted instead, and the wait goes on until its thread has finished. The
    # interrupt is repeated: DuckDB ignores one that arrives before the statement runs
    # (while the guard checks it), and a query left running would hold the connection (its
    # close() then fails) and a core.
    cursor = await trio.to_thread.run_sync(connection.cursor)
    job = ThreadJob(functools.partial(_run_analyst_query, cursor, sql, max_rows, tuple(views)))
    with trio.move_on_after(timeout):
        try:
            return await job.wait()
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                while not job.done:
                    _interrupt(cursor)
                    with trio.move_on_after(INTERRUPT_REPEAT):
                        await job.settle()
            raise
    raise AuditQueryTimeout(f"query stopped: it ran longer than {timeout:g} s")


def _run_analyst_query(
    cursor: Any, sql: str, max_rows: int, views: Iterable[str] = AUDIT_VIEWS
) -> QueryResult:
    """Worker thread: guard, run with the row limit, convert; the cursor is closed after."""
    try:
        check_query(cursor, sql, views)
        body = sql.strip().rstrip(";").rstrip()
        # Newlines keep a trailing `-- comment` from swallowing the closing parenthesis; the
        # wrapped text is checked again, so what runs is exactly what passed the guard.
        wrapped = f"SELECT * FROM (\n{body}\n) AS audit_query LIMIT {int(max_rows) + 1}"
        check_query(cursor, wrapped, views)
        try:
            result = cursor.execute(wrapped)
            columns = [str(column[0]) for column in result.description]
            rows = result.fetchall()
        except duckdb.Error as exc:
            raise AuditQueryError(f"audit query failed: {exc}") from exc
    finally:
        cursor.close()
    return QueryResult(
        columns=columns,
        rows=[[json_value(value) for value in row] for row in rows[:max_rows]],
        truncated=len(rows) > max_rows,
    )
