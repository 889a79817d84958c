"""`python -m bench.meta_batch`: what one metadata batch costs in DuckDB, by table size.

Runs ZAS's own batch code (`zas.meta.batch.Batch`, the changes the writer applies) on a
DuckDB file holding N objects, in this process with nothing else running: BEGIN, the changes,
COMMIT, for batches of 1 and 16 new keys, batches of 1 and 16 overwrites (each replaces an
object's blob, so the batch asks whether any other row still refers to the old one), plus a
single primary-key lookup. This is the floor under the writer's commit time that
`python -m bench` reports for the write workloads; under load the writer takes longer (GIL
waits, see BENCHMARKS.md). Prints CPU and wall ms medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from zas.meta.batch import Batch, CreateBucketRow, PutObjectRow
from zas.meta.records import BucketRecord, ObjectRecord
from zas.meta.rows import OBJECT_COLUMNS, object_id, objects_insert
from zas.meta.schema import migrate
from zas.meta.store import DUCKDB_SETTINGS
from zas.protocol.operations import ObjectMetadata

NOW = dt.datetime.now(dt.UTC)
BUCKET = BucketRecord("bench", NOW, "us-east-1", "root")


def _record(key: str, version: int = 0) -> ObjectRecord:
    """Every object and every version of it has a blob of its own, as in a real bucket."""
    digest = hashlib.sha256(f"{key}#{version}".encode()).hexdigest()
    return ObjectRecord("bench", key, 4096, "e" * 32, digest, NOW, ObjectMetadata())


def _commit(con: Any, buckets: dict[str, BucketRecord], changes: list[Any]) -> None:
    con.execute("BEGIN TRANSACTION")
    batch = Batch(con, buckets)
    batch.apply(changes)
    batch.outcome()
    con.execute("COMMIT")


def _fill(con: Any, start: int, count: int) -> None:
    """Bulk rows straight into the table (faster than batches; same table and index)."""
    con.execute(*objects_insert([_record(f"fill/{i:09d}") for i in range(start, start + count)]))


def _time(work: Callable[[], None], repeat: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(repeat):
        c, w = time.thread_time(), time.perf_counter()
        work()
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - w)
    return 1000 * statistics.median(cpu), 1000 * statistics.median(wall)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.meta_batch", description=__doc__)
    parser.add_argument("--sizes", default="0,10000,100000", help="objects in the table")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "meta.duckdb"), config=dict(DUCKDB_SETTINGS))
        migrate(con)
        buckets: dict[str, BucketRecord] = {}
        _commit(con, buckets, [CreateBucketRow(BUCKET)])
        filled, serial = 0, 0
        columns = ["new key x1", "new key x16", "overwrite x1", "overwrite x16", "PK lookup"]
        print(f"{'objects':>9}  " + "  ".join(f"{name:>17}" for name in columns))
        for size in (int(s) for s in args.sizes.split(",")):
            while filled < size:
                step = min(50_000, size - filled)
                _fill(con, filled, step)
                filled += step
            con.execute("CHECKPOINT")

            def batch(n: int, *, overwrite: bool, filled: int = filled) -> Callable[[], None]:
                def run() -> None:
                    nonlocal serial
                    # Keys that sort among the existing ones, as in a real bucket: the row
                    # groups' min/max cannot rule any out. An overwrite hits a filled key.
                    spread = [(serial + i) * 7919 % max(filled, 1) for i in range(n)]
                    serial += n
                    if overwrite and filled:
                        records = [_record(f"fill/{i:09d}", serial) for i in spread]
                    else:
                        records = [_record(f"fill/{i:09d}-new{serial}") for i in spread]
                    _commit(con, buckets, [PutObjectRow(record) for record in records])

                return run

            def lookup(key: str = f"fill/{filled // 2:09d}") -> None:
                con.execute(
                    f"SELECT {OBJECT_COLUMNS} FROM objects WHERE id = ?", [object_id("bench", key)]
                ).fetchall()

            cells = [
                _time(batch(n, overwrite=overwrite), args.repeat)
                for overwrite in (False, True)
                for n in (1, 16)
            ]
            cells.append(_time(lookup, args.repeat))
            text = "  ".join(f"{c:6.1f} / {w:6.1f} ms" for c, w in cells)
            print(f"{filled:>9,}  {text}   (CPU / wall)", flush=True)
        con.close()


if __name__ == "__main__":
    main()
