"""One metadata batch = one DuckDB transaction: the rows a batch touches are taken out of the
table when it starts and written back at its end, so every mix of changes in one batch must
leave exactly the rows the changes decided — including changes that fail, changes that flush
in the middle (they read the table with SQL), and the same key changed twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import attrs
import duckdb
import pytest

from tests.meta.samples import every_column_record
from zas.meta.batch import (
    AbortUploadRow,
    Batch,
    BatchOutcome,
    CopyObjectRow,
    CreateBucketRow,
    CreateUploadRow,
    DeleteBucketRow,
    DeleteObjectRow,
    PutObjectRow,
    PutPartRow,
    SetObjectTags,
)
from zas.meta.evidence import SweepStaleEvidence
from zas.meta.records import (
    BlobRef,
    BucketRecord,
    ObjectRecord,
    PartRecord,
    UploadRecord,
)
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


# --- orphans: which blobs no row refers to any more after a batch --------------------------


def _upload(upload_id: str, key: str) -> UploadRecord:
    return UploadRecord(upload_id, "bkt", key, NOW, ObjectMetadata())


def _part(upload_id: str, number: int, digest: str) -> PartRecord:
    return PartRecord(upload_id, number, digest, "e" * 32, 5, NOW)


def test_a_blob_another_object_an_object_part_or_an_upload_part_uses_is_no_orphan(
    con: Any,
) -> None:
    shared_whole, shared_part, in_upload, alone = "1" * 64, "2" * 64, "3" * 64, "4" * 64
    buckets = {"bkt": BUCKET}
    multipart = attrs.evolve(
        record("multi", digest="f" * 64), parts=(BlobRef(shared_part, 5), BlobRef("5" * 64, 5))
    )
    commit(
        con,
        buckets,
        [
            PutObjectRow(record("whole-1", digest=shared_whole)),
            PutObjectRow(record("whole-2", digest=shared_whole)),
            PutObjectRow(record("as-whole", digest=shared_part)),
            PutObjectRow(multipart),
            PutObjectRow(record("like-a-part", digest=in_upload)),
            PutObjectRow(record("alone", digest=alone)),
            CreateUploadRow(_upload("u1", "up")),
        ],
    )
    commit(con, buckets, [PutPartRow("bkt", "up", _part("u1", 1, in_upload))])

    _, outcome = commit_with_outcome(
        con,
        buckets,
        [
            DeleteObjectRow("bkt", "whole-1"),  # whole-2 still has it
            DeleteObjectRow("bkt", "as-whole"),  # the multipart object's first part
            DeleteObjectRow("bkt", "like-a-part"),  # part 1 of the open upload
            DeleteObjectRow("bkt", "alone"),
        ],
    )

    assert outcome.orphans == [alone]
    # Once the last row goes, each of them is found.
    _, outcome = commit_with_outcome(
        con,
        buckets,
        [DeleteObjectRow("bkt", "multi"), DeleteObjectRow("bkt", "whole-2")],
    )
    assert outcome.orphans == [shared_whole, shared_part, "5" * 64]
    _, outcome = commit_with_outcome(con, buckets, [AbortUploadRow("bkt", "up", "u1")])
    assert outcome.orphans == [in_upload]


def test_a_digest_many_objects_share_stays_until_the_last_one_goes(con: Any) -> None:
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    buckets = {"bkt": BUCKET}
    commit(con, buckets, [PutObjectRow(record(f"dir-{i}/", digest=empty)) for i in range(50)])

    _, outcome = commit_with_outcome(
        con, buckets, [DeleteObjectRow("bkt", f"dir-{i}/") for i in range(49)]
    )
    assert outcome.orphans == []

    _, outcome = commit_with_outcome(con, buckets, [DeleteObjectRow("bkt", "dir-49/")])
    assert outcome.orphans == [empty]


def test_every_column_survives_a_batch_of_one_and_a_batch_of_many(con: Any) -> None:
    """A batch of one change writes and reads its row with single-row statements, a larger
    batch with columnar ones: both must give back exactly the record that went in."""
    full = every_column_record("full", NOW)
    commit(con, {"bkt": BUCKET}, [PutObjectRow(full)])
    assert rows(con) == {"full": full}

    again = attrs.evolve(full, etag="1" * 32)
    other = attrs.evolve(full, key="other", parts=(), checksum=None)
    commit(con, {"bkt": BUCKET}, [PutObjectRow(again), PutObjectRow(other)])
    assert rows(con) == {"full": again, "other": other}

    commit(con, {"bkt": BUCKET}, [DeleteObjectRow("bkt", "full")])
    assert rows(con) == {"other": other}
