"""Audit log at scale: write N realistic records through the real batch path (`record()` +
`flush()`, the same columnar INSERTs the server uses), then time a one-day GROUP BY through
`AuditLog.query` (guard, worker thread, row-limit wrapper, JSON conversion included) against
the same SQL on a plain DuckDB connection, plus a search page and the 30-day aggregate.

    .venv/bin/python -m bench.audit_query [--rows 1000000] [--days 30] [--runs 7] [--dir DIR]

Issue target: the one-day GROUP BY over 1,000,000 rows answers in < 200 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import duckdb
import trio

from zas.auth.audit import AuditLog, AuditRecord

START = dt.datetime(2026, 10, 28, tzinfo=dt.UTC)
CHUNK = 50_000

ACTIONS = [  # (action, method, weight)
    ("s3:GetObject", "GET", 55),
    ("s3:PutObject", "PUT", 20),
    ("s3:ListBucket", "GET", 10),
    ("s3:HeadObject", "HEAD", 8),
    ("s3:DeleteObject", "DELETE", 4),
    ("s3:CreateMultipartUpload", "POST", 3),
]
AGENTS = ["Boto3/1.35.0", "aws-cli/1.33.0", "rclone/v1.68", "curl/8.5.0", "s3cmd/2.4.0"]


def make_records(
    start: int, count: int, total: int, days: int, rng: random.Random
) -> list[AuditRecord]:
    """Records `start`..`start+count` of `total`, evenly spread over `days` days in time
    order (the order the server writes them in)."""
    span = days * 86_400
    actions = [a for a, _, w in ACTIONS for _ in range(w)]
    methods = {a: m for a, m, _ in ACTIONS}
    records = []
    for index in range(start, start + count):
        action = rng.choice(actions)
        roll = rng.random()
        decision = "allow" if roll < 0.92 else "deny" if roll < 0.98 else "error"
        status = {"allow": 200, "deny": 403, "error": 403}[decision]
        user = rng.randrange(60)
        principal = "anonymous" if user == 0 else f"user{user:02d}"
        bucket = f"builds-{rng.randrange(20):02d}"
        key = f"artifacts/{rng.randrange(5000):05d}/app.tar.gz"
        records.append(
            AuditRecord(
                time=START + dt.timedelta(seconds=span * index / total),
                request_id=f"{index:016X}",
                principal=principal,
                auth_method="anonymous" if user == 0 else rng.choice(["sigv4", "bearer"]),
                access_key_id=None if user == 0 else f"AKIA{user:016d}",
                source_ip=f"10.{user}.{rng.randrange(256)}.{rng.randrange(256)}",
                method=methods[action],
                path=f"/{bucket}/{key}",
                action=action,
                resource=f"arn:aws:s3:::{bucket}/{key}",
                bucket=bucket,
                key=key,
                decision=decision,
                statement=f"policy/{principal}#0" if decision != "error" else None,
                status=status,
                error_code=None if decision == "allow" else "AccessDenied",
                bytes_in=rng.randrange(1 << 20) if action == "s3:PutObject" else 0,
                bytes_out=rng.randrange(1 << 20) if action == "s3:GetObject" else 0,
                duration_ms=rng.lognormvariate(1.5, 0.8),
                user_agent=rng.choice(AGENTS),
            )
        )
    return records


def day_sql(days: int) -> str:
    """The one-day GROUP BY, over the middle day of the data."""
    start = (START + dt.timedelta(days=days // 2)).replace(tzinfo=None)
    end = start + dt.timedelta(days=1)
    return (
        "SELECT action, decision, count(*), avg(duration_ms) FROM audit_log "
        f"WHERE time >= TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' "
        f"AND time < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' GROUP BY ALL"
    )


ALL_SQL = "SELECT action, decision, count(*), avg(duration_ms) FROM audit_log GROUP BY ALL"


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    """Milliseconds per call, after one untimed warm-up call (both sides get one)."""
    await call()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        times.append((time.perf_counter() - began) * 1000)
    return times


def plain(runs: int, con: duckdb.DuckDBPyConnection, sql: str) -> list[float]:
    con.execute(sql).fetchall()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        con.execute(sql).fetchall()
        times.append((time.perf_counter() - began) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(times):.1f} | {min(times):.1f} | {max(times):.1f} "
        f"| {len(times)} |"
    )


async def bench(path: Path, rows: int, days: int, runs: int) -> dict[str, list[float]]:
    """Write the records, then time the AuditLog side; returns {measurement: ms per run}."""
    rng = random.Random(42)
    log = AuditLog(path)
    record_s = flush_s = 0.0
    for start in range(0, rows, CHUNK):
        chunk = make_records(start, min(CHUNK, rows - start), rows, days, rng)
        began = time.perf_counter()
        for record in chunk:
            log.record(record)
        recorded = time.perf_counter()
        await log.flush()
        record_s += recorded - began
        flush_s += time.perf_counter() - recorded
    write = rows / (record_s + flush_s)
    print(f"wrote {log.written:,} records in {log.inserts} INSERTs / {log.flushes} transactions")
    print(f"record(): {record_s / rows * 1e9:.0f} ns each; record()+flush: {write:,.0f} records/s")
    print(f"flush(): {flush_s / rows * 1e6:.1f} us per record")

    sql = day_sql(days)
    result = await log.query(sql)
    print(
        f"\n{sql}\n-> {len(result.rows)} groups over {sum(int(r[2]) for r in result.rows):,} rows\n"
    )
    try:
        return {
            "one-day GROUP BY via AuditLog.query": await timed(runs, lambda: log.query(sql)),
            f"{days}-day GROUP BY via AuditLog.query": await timed(
                runs, lambda: log.query(ALL_SQL)
            ),
            "search(limit=100), no filter": await timed(runs, lambda: log.search(limit=100)),
            "search(principal, decision)": await timed(
                runs, lambda: log.search(principal="user07", decision="deny")
            ),
        }
    finally:
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="where audit.duckdb goes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch)
        path = directory / "audit.duckdb"
        if path.exists():
            raise SystemExit(f"{path} exists; give an empty --dir")
        timings = trio.run(bench, path, args.rows, args.days, args.runs)
        # The baseline: a plain read-only connection, no guard, no thread, no wrapper.
        with duckdb.connect(str(path), read_only=True) as con:
            timings["one-day GROUP BY, plain DuckDB"] = plain(args.runs, con, day_sql(args.days))
            timings[f"{args.days}-day GROUP BY, plain DuckDB"] = plain(args.runs, con, ALL_SQL)
        size = path.stat().st_size
    print("| measurement (ms) | median | min | max | runs |")
    print("|---|---|---|---|---|")
    for name in sorted(timings, key=lambda n: (n.split(",")[0].split(" via")[0], n)):
        print(row(name, timings[name]))
    print(f"\naudit.duckdb: {size / 1e6:.0f} MB for {args.rows:,} rows")
    day = statistics.median(timings["one-day GROUP BY via AuditLog.query"])
    print(f"target < 200 ms for the one-day GROUP BY: {'meets' if day < 200 else 'MISSES'}")


if __name__ == "__main__":
    main()
