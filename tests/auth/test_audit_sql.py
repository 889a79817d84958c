"""The analyst-query guard: what it lets through runs over the audit views; what it refuses is
refused with a message naming the thing refused. Decided on DuckDB's parse tree, so these
tables double as a record of DuckDB's parser behaviour we depend on."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
import trio

from zas.auth.audit import AuditLog, AuditRecord
from zas.auth.audit_sql import (
    ALLOWED_FUNCTIONS,
    ALLOWED_TYPES,
    AuditQueryError,
    check_query,
)
from zas.protocol.errors import InvalidRequest

ALLOWED = [
    "SELECT * FROM audit_log",
    "SELECT count(*) FROM AUDIT_LOG",
    "SELECT count(*) FROM audit_log;",
    "SELECT count(*) FROM audit_log -- every row",
    "SELECT 1",
    "SELECT action, decision, count(*), avg(duration_ms) FROM audit_log "
    "WHERE time >= TIMESTAMP '2026-11-27' AND time < TIMESTAMP '2026-11-28' GROUP BY ALL",
    "WITH denied AS (SELECT * FROM audit_log WHERE decision = 'deny') "
    "SELECT principal, count(*) AS n FROM denied GROUP BY principal ORDER BY n DESC",
    "WITH a AS (SELECT principal FROM audit_log), b AS (SELECT * FROM a) SELECT count(*) FROM b",
    "SELECT * FROM (SELECT principal, bytes_out FROM audit_log) AS t WHERE bytes_out > 0",
    "SELECT a.request_id FROM audit_log a JOIN audit_log b ON a.request_id = b.request_id",
    "SELECT principal FROM audit_log WHERE principal IN (SELECT principal FROM audit_log "
    "WHERE decision = 'deny') AND EXISTS (SELECT 1 FROM audit_daily)",
    "SELECT principal, time, row_number() OVER (PARTITION BY principal ORDER BY time DESC) AS rn "
    "FROM audit_log QUALIFY rn = 1",
    "SELECT sum(bytes_out) OVER (ORDER BY time ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), "
    "lag(status) OVER (ORDER BY time) FROM audit_log",
    "SELECT date_trunc('hour', time) AS hour, count(*) FROM audit_log "
    "WHERE time > now() - INTERVAL 7 DAY GROUP BY 1 ORDER BY 1",
    "SELECT day, sum(requests) FROM audit_daily GROUP BY day",
    "SELECT CASE WHEN status >= 500 THEN 'server' ELSE 'ok' END AS kind, "
    "coalesce(error_code, '-'), CAST(status AS VARCHAR), status::BIGINT FROM audit_log "
    "WHERE path LIKE '/bkt/%' OR user_agent ILIKE '%boto%' OR key IS NULL",
    "SELECT principal FROM audit_log UNION SELECT 'nobody' EXCEPT SELECT 'root'",
    "SELECT quantile_cont(duration_ms, 0.99), approx_count_distinct(source_ip) FROM audit_log",
    "SELECT strftime(time, '%Y-%m-%d'), lower(principal), split_part(resource, ':', 6) "
    "FROM audit_log WHERE starts_with(resource, 'arn:aws:s3:::') AND status BETWEEN 200 AND 299",
    "SELECT * FROM (VALUES ('allow'), ('deny')) AS d(decision) "
    "LEFT JOIN audit_log USING (decision)",
    "SELECT principal, count(*) FILTER (WHERE decision = 'deny') AS denied FROM audit_log "
    "GROUP BY ROLLUP (principal) HAVING count(*) > 0 ORDER BY 2 DESC LIMIT 5",
    "FROM audit_log SELECT DISTINCT ON (principal) principal, time ORDER BY principal, time",
]

REFUSED = [
    # other tables, the catalog, qualified names
    ("SELECT * FROM audit_records", "table 'audit_records' is not an audit view"),
    ("SELECT * FROM schema_version", "table 'schema_version' is not an audit view"),
    ("SELECT (SELECT count(*) FROM audit_records)", "'audit_records' is not an audit view"),
    ("SELECT * FROM main.audit_log", "table main.audit_log is not allowed"),
    ("SELECT * FROM information_schema.tables", "information_schema.tables is not allowed"),
    ("SELECT * FROM pragma_database_list", "'pragma_database_list' is not an audit view"),
    ("SELECT * FROM duckdb_settings()", "table function duckdb_settings()"),
    ("SELECT * FROM pragma_table_info('audit_records')", "table function pragma_table_info()"),
    (
        "SELECT * FROM audit_log WHERE principal IN (SELECT table_name FROM duckdb_tables())",
        "table function duckdb_tables()",
    ),
    # files and SQL-running table functions, replacement scans
    ("SELECT * FROM read_csv('/etc/passwd')", "table function read_csv()"),
    ("SELECT * FROM read_parquet('x.parquet')", "table function read_parquet()"),
    ("SELECT * FROM read_json('x.json')", "table function read_json()"),
    ("SELECT * FROM read_text('/etc/passwd')", "table function read_text()"),
    ("SELECT * FROM glob('/*')", "table function glob()"),
    ("SELECT * FROM parquet_scan('x.parquet')", "table function parquet_scan()"),
    ("SELECT * FROM query('SELECT * FROM audit_records')", "table function query()"),
    ("SELECT * FROM query_table('audit_records')", "table function query_table()"),
    ("SELECT * FROM sqlite_scan('x.db', 't')", "table function sqlite_scan()"),
    ("SELECT * FROM range(10)", "table function range()"),
    ("SELECT * FROM '/etc/passwd'", "table '/etc/passwd' is not an audit view"),
    ("SELECT * FROM 'audit.csv'", "table 'audit.csv' is not an audit view"),
    # configuration and environment
    ("SELECT getenv('HOME')", "function getenv() is not allowed"),
    ("SELECT current_setting('memory_limit')", "function current_setting() is not allowed"),
    ("SELECT getvariable('x')", "function getvariable() is not allowed"),
    ("SELECT system.main.getenv('HOME')", "function system.main.getenv() is not allowed"),
    ("SELECT principal.lower() FROM audit_log", "method-call syntax"),
    ("SELECT version()", "function version() is not allowed"),
    # CTE scoping: a CTE name shadows a table only inside its WITH
    (
        "WITH audit_records AS (SELECT * FROM audit_records) SELECT * FROM audit_records",
        "table 'audit_records' is not an audit view",
    ),
    (
        "SELECT * FROM (WITH secrets AS (SELECT 1) SELECT * FROM secrets) JOIN secrets ON true",
        "table 'secrets' is not an audit view",
    ),
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
        "recursive",
    ),
    # other constructs
    ("SELECT ?", "parameters not allowed"),
    ("DESCRIBE audit_log", "DESCRIBE/SUMMARIZE"),
    ("SUMMARIZE audit_log", "DESCRIBE/SUMMARIZE"),
    ("SELECT * FROM audit_log PIVOT (count(*) FOR decision IN ('allow'))", "PIVOT"),
    ("SELECT * FROM audit_log AT (VERSION => 1)", "time travel"),
    ("SELECT 'x'::STRUCT(a INTEGER)", "type STRUCT is not allowed"),
    # not a SELECT, or not one statement
    ("COPY audit_log TO '/tmp/x.csv'", "not COPY"),
    ("ATTACH '/tmp/x.duckdb' AS x", "not ATTACH"),
    ("INSTALL httpfs", "not INSTALL"),
    ("LOAD httpfs", "not LOAD"),
    ("PRAGMA database_list", "not PRAGMA"),
    ("SET memory_limit = '8GB'", "not SET"),
    ("CREATE TABLE t AS SELECT * FROM audit_log", "not CREATE"),
    ("INSERT INTO audit_records SELECT * FROM audit_records", "not INSERT"),
    ("UPDATE audit_records SET principal = 'x'", "not UPDATE"),
    ("DELETE FROM audit_records", "not DELETE"),
    ("DROP VIEW audit_log", "not DROP"),
    ("EXPORT DATABASE '/tmp/x'", "not EXPORT"),
    ("CALL duckdb_settings()", "not CALL"),
    ("EXPLAIN SELECT 1", "not EXPLAIN"),
    ("PIVOT audit_log ON action USING count(*)", "not PIVOT"),
    ("SELECT 1; SELECT 2", "exactly one SELECT statement is allowed, got 2"),
    ("SELECT 1; DROP TABLE audit_records", "exactly one SELECT statement is allowed"),
    ("", "the query is empty"),
    ("   ", "the query is empty"),
    ("SELEC 1", "syntax error"),
    # closing the wrapper's parenthesis does not parse on its own
    ("SELECT 1) UNION ALL (SELECT * FROM audit_records", "syntax error"),
]


@pytest.fixture(scope="module")
def parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@pytest.mark.parametrize("sql", ALLOWED)
def test_given_a_select_over_the_views_when_checked_then_it_passes(
    parser: duckdb.DuckDBPyConnection, sql: str
) -> None:
    check_query(parser, sql)


@pytest.mark.parametrize(("sql", "message"), REFUSED)
def test_given_anything_else_when_checked_then_refused_naming_it(
    parser: duckdb.DuckDBPyConnection, sql: str, message: str
) -> None:
    with pytest.raises(AuditQueryError, match="audit query refused") as info:
        check_query(parser, sql)
    assert message in info.value.message
    assert isinstance(info.value, InvalidRequest) and info.value.http_status == 400


def test_every_allowed_function_and_type_is_a_duckdb_builtin(
    parser: duckdb.DuckDBPyConnection,
) -> None:
    """A misspelt allow-list entry is dead weight that hides what is really allowed; keep the
    list to names DuckDB ships."""
    functions = {
        row[0] for row in parser.execute("SELECT function_name FROM duckdb_functions()").fetchall()
    }
    types = {
        row[0].lower() for row in parser.execute("SELECT type_name FROM duckdb_types()").fetchall()
    }
    assert sorted(ALLOWED_FUNCTIONS - functions) == []
    assert sorted(ALLOWED_TYPES - types) == []


def test_every_allowed_query_runs_against_the_real_views(tmp_path: Path) -> None:
    """Given a log with records, when each allowed query runs through AuditLog.query, then it
    binds and returns JSON-able rows (the allow-list names things that really exist)."""
    now = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)

    async def main() -> None:
        log = AuditLog(tmp_path / "audit.duckdb")
        for index in range(20):
            log.record(
                AuditRecord(
                    now + dt.timedelta(minutes=index),
                    f"req{index}",
                    f"user{index % 3}",
                    "sigv4",
                    "AKIA1",
                    "10.0.0.1",
                    "GET",
                    f"/bkt/k{index}",
                    "s3:GetObject",
                    f"arn:aws:s3:::bkt/k{index}",
                    "bkt",
                    f"k{index}",
                    "deny" if index % 4 == 0 else "allow",
                    None,
                    200 if index % 4 else 403,
                    None,
                    0,
                    100,
                    1.5,
                    "Boto3/1.35",
                )
            )
        try:
            for sql in ALLOWED:
                result = await log.query(sql)
                json.dumps(result.rows)
                assert result.columns
        finally:
            log.close()

    trio.run(main)
