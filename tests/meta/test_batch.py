"""One metadata batch = one DuckDB transaction: the rows a batch touches are taken out of the
table when it starts and written back at its end, so every mix of changes in one batch must
leave exactly the rows the changes decided — including changes that fail, changes that flush
in the middle (they read the table with SQL), and the same key changed twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from zas.meta.batch import (
    Batch,
    BatchOutcome,
    CopyObjectRow,
    CreateBucketRow,
    DeleteBucketRow,
    DeleteObjectRow,
    PutObjectRow,
    SetObjectTags,
)
from zas.meta.evidence import SweepStaleEvidence
from zas.meta.records import BucketRecord, ObjectRecord
from zas.meta.rows import OBJECT_COLUMNS, object_from_row
from zas.meta.schema import migrate
from zas.protocol.conditions import Preconditions
from zas.protocol.errors import NoSuchKey, PreconditionFailed
from zas.protocol.operations import ObjectMetadata

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
BUCKET = BucketRecord("bkt", NOW, "us-east-1", "root")


def record(key: str, etag: str = "e" * 32, digest: str = "a" * 64) -> ObjectRecord:
    return ObjectRecord("bkt", key, 3, etag, digest, NOW, ObjectMetadata())


@pytest.fixture
def con(tmp_path: Path) -> Any:
    connection = duckdb.connect(str(tmp_path / "m.duckdb"))
    migrate(connection)
    commit(connection, {}, [CreateBucketRow(BUCKET)])
    yield connection
    connection.close()


def commit_with_outcome(
    connection: Any, buckets: dict[str, BucketRecord], changes: list[Any]
) -> tuple[list[tuple[Any, BaseException | None]], BatchOutcome]:
    connection.execute("BEGIN TRANSACTION")
    batch = Batch(connection, buckets)
    results = batch.apply(changes)
    outcome = batch.outcome()
    connection.execute("COMMIT")
    return results, outcome


def commit(
    connection: Any, buckets: dict[str, BucketRecord], changes: list[Any]
) -> list[tuple[Any, BaseException | None]]:
    return commit_with_outcome(connection, buckets, changes)[0]


def copy(source: str, destination: str, **conditions: Any) -> CopyObjectRow:
    return CopyObjectRow(
        "bkt",
        source,
        Preconditions(**conditions),
        "bkt",
        destination,
        NOW,
        None,
        None,
        Preconditions(),
    )


def rows(connection: Any) -> dict[str, ObjectRecord]:
    found = [
        object_from_row(row)
        for row in connection.execute(f"SELECT {OBJECT_COLUMNS} FROM objects").fetchall()
    ]
    by_key = {r.key: r for r in found}
    assert len(by_key) == len(found), "one row per key"
    return by_key


def test_a_change_that_fails_leaves_the_row_it_looked_at_in_place(con: Any) -> None:
    commit(con, {"bkt": BUCKET}, [PutObjectRow(record("kept", etag="1" * 32))])

    results = commit(
        con,
        {"bkt": BUCKET},
        [
            PutObjectRow(
                record("kept", etag="2" * 32), Preconditions(if_match=('"' + "9" * 32 + '"',))
            ),
            PutObjectRow(record("new")),
            SetObjectTags("bkt", "missing", (("a", "b"),)),
        ],
    )

    assert isinstance(results[0][1], PreconditionFailed)
    assert results[1][1] is None
    assert isinstance(results[2][1], NoSuchKey)
    assert {k: r.etag for k, r in rows(con).items()} == {"kept": "1" * 32, "new": "e" * 32}


def test_the_same_key_changed_twice_in_one_batch_keeps_the_last_change(con: Any) -> None:
    commit(con, {"bkt": BUCKET}, [PutObjectRow(record("k", etag="1" * 32))])

    commit(
        con,
        {"bkt": BUCKET},
        [
            PutObjectRow(record("k", etag="2" * 32)),
            DeleteObjectRow("bkt", "k"),
            PutObjectRow(record("k", etag="3" * 32)),
            PutObjectRow(record("gone")),
            DeleteObjectRow("bkt", "gone"),
        ],
    )

    assert {k: r.etag for k, r in rows(con).items()} == {"k": "3" * 32}


def test_a_change_that_flushes_midway_sees_the_rows_and_later_changes_still_land(con: Any) -> None:
    commit(con, {"bkt": BUCKET}, [PutObjectRow(record("old", etag="1" * 32))])

    commit(
        con,
        {"bkt": BUCKET},
        [
            PutObjectRow(record("old", etag="2" * 32)),
            PutObjectRow(record("first")),
            SweepStaleEvidence("bkt"),  # flushes: the table must hold "old" and "first" now
            PutObjectRow(record("old", etag="3" * 32)),  # changed again after the flush
            DeleteObjectRow("bkt", "first"),
            PutObjectRow(record("after")),
        ],
    )

    assert {k: r.etag for k, r in rows(con).items()} == {"old": "3" * 32, "after": "e" * 32}


def test_a_forced_bucket_delete_after_puts_in_the_same_batch_leaves_no_rows(con: Any) -> None:
    commit(con, {"bkt": BUCKET}, [PutObjectRow(record("before"))])
    buckets = {"bkt": BUCKET}

    results = commit(
        con,
        buckets,
        [
            PutObjectRow(record("before", etag="2" * 32)),
            PutObjectRow(record("during")),
            DeleteBucketRow("bkt", force=True),
        ],
    )

    assert [error for _, error in results] == [None, None, None]
    assert rows(con) == {}
    assert "bkt" not in buckets


def test_a_copy_behind_the_delete_of_its_source_fails_and_the_blob_is_collected(con: Any) -> None:
    commit(con, {"bkt": BUCKET}, [PutObjectRow(record("src", digest="b" * 64))])

    results, outcome = commit_with_outcome(
        con, {"bkt": BUCKET}, [DeleteObjectRow("bkt", "src"), copy("src", "dst")]
    )

    assert isinstance(results[1][1], NoSuchKey)
    assert outcome.orphans == ["b" * 64]
    assert rows(con) == {}  # no copy pointing at the collected blob


def test_a_copy_ahead_of_the_delete_of_its_source_keeps_the_shared_blob(con: Any) -> None:
    commit(con, {"bkt": BUCKET}, [PutObjectRow(record("src", digest="b" * 64))])

    results, outcome = commit_with_outcome(
        con, {"bkt": BUCKET}, [copy("src", "dst"), DeleteObjectRow("bkt", "src")]
    )

    assert results[0][1] is None
    assert outcome.orphans == []
    assert {k: r.sha256 for k, r in rows(con).items()} == {"dst": "b" * 64}


def test_copy_source_conditions_are_checked_against_the_row_the_writer_sees(con: Any) -> None:
    commit(con, {"bkt": BUCKET}, [PutObjectRow(record("src", etag="1" * 32))])

    results = commit(
        con,
        {"bkt": BUCKET},
        [
            PutObjectRow(record("src", etag="2" * 32)),  # replaced after the client looked
            copy("src", "dst", if_match=("1" * 32,)),
            copy("src", "dst2", if_match=("2" * 32,)),
        ],
    )

    assert isinstance(results[1][1], PreconditionFailed)
    assert results[2][1] is None
    assert {k: r.etag for k, r in rows(con).items()} == {"src": "2" * 32, "dst2": "2" * 32}
