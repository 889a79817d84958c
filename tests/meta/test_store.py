"""The DuckDB metadata store on a real database file: group commit, conditional writes decided
in the writer, the hot-read cache, listings, orphan detection and migrations."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import duckdb
import pytest
import trio

from zas.meta import duckdb_support
from zas.meta.records import BlobRef, BucketRecord, ChecksumValue, ObjectRecord
from zas.meta.rows import OBJECT_COLUMNS, object_to_row
from zas.meta.schema import MIGRATIONS, SCHEMA_VERSION
from zas.meta.store import MetaStore
from zas.protocol.conditions import Preconditions
from zas.protocol.errors import BucketNotEmpty, NoSuchBucket, NoSuchKey, PreconditionFailed
from zas.protocol.operations import ListParams, ObjectMetadata

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def record(key: str, digest: str = "a" * 64, bucket: str = "bkt") -> ObjectRecord:
    return ObjectRecord(bucket, key, 3, "e" * 32, digest, NOW, ObjectMetadata(user=(("k", "v"),)))


@asynccontextmanager
async def open_store(path: Path, orphans: list[str] | None = None) -> AsyncIterator[MetaStore]:
    async def found(digests: list[str]) -> None:
        if orphans is not None:
            orphans.extend(digests)

    store = MetaStore(path, on_orphans=found)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run_writer)
        yield store
        nursery.cancel_scope.cancel()
    store.close()


def run(
    path: Path, body: Callable[[MetaStore], Awaitable[None]], orphans: list[str] | None = None
) -> None:
    async def main() -> None:
        async with open_store(path, orphans) as store:
            if store.bucket("bkt") is None:
                await store.create_bucket(BucketRecord("bkt", NOW, "us-east-1", "root"))
            await body(store)

    trio.run(main)


def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    async def body(store: MetaStore) -> None:
        before = store.batches_committed
        async with trio.open_nursery() as nursery:
            for index in range(300):
                nursery.start_soon(store.put_object, record(f"k{index:03d}"))
        assert store.batches_committed - before < 300 / 4, "puts were grouped into batches"
        page = await store.list_objects("bkt", ListParams())
        assert len(page.contents) == 300
        assert [o.key for o in page.contents][:3] == ["k000", "k001", "k002"]
        assert (await store.count_objects("bkt"))[0] == 300

    run(tmp_path / "m.duckdb", body)


def test_rows_persist_across_reopen_and_hot_reads_match_the_database(tmp_path: Path) -> None:
    async def write(store: MetaStore) -> None:
        await store.put_object(record("kept"))
        await store.put_object(record("gone"))
        await store.delete_object("bkt", "gone")

    async def read(store: MetaStore) -> None:
        kept = await store.get_object("bkt", "kept")
        assert kept == record("kept")
        assert await store.get_object("bkt", "gone") is None
        assert store.list_buckets()[0].name == "bkt"

    run(tmp_path / "m.duckdb", write)
    run(tmp_path / "m.duckdb", read)


def test_cache_follows_committed_writes(tmp_path: Path) -> None:
    async def body(store: MetaStore) -> None:
        assert await store.get_object("bkt", "k") is None  # caches "absent"
        await store.put_object(record("k", "b" * 64))
        assert (await store.get_object("bkt", "k")).sha256 == "b" * 64  # type: ignore[union-attr]
        await store.put_object(record("k", "c" * 64))
        assert (await store.get_object("bkt", "k")).sha256 == "c" * 64  # type: ignore[union-attr]
        await store.delete_object("bkt", "k")
        assert await store.get_object("bkt", "k") is None

    run(tmp_path / "m.duckdb", body)


def test_conditional_writes_are_decided_by_the_writer_one_winner(tmp_path: Path) -> None:
    async def body(store: MetaStore) -> None:
        outcomes: list[str] = []

        async def attempt(index: int) -> None:
            try:
                await store.put_object(
                    record("race", f"{index:064x}"), Preconditions(if_none_match=("*",))
                )
                outcomes.append("won")
            except PreconditionFailed:
                outcomes.append("lost")

        async with trio.open_nursery() as nursery:
            for index in range(20):
                nursery.start_soon(attempt, index)
        assert sorted(outcomes) == ["lost"] * 19 + ["won"]
        with pytest.raises(NoSuchKey):
            await store.put_object(record("absent"), Preconditions(if_match=("abc",)))

    run(tmp_path / "m.duckdb", body)


def test_unreferenced_digests_are_reported_once_nothing_points_to_them(tmp_path: Path) -> None:
    orphans: list[str] = []

    async def body(store: MetaStore) -> None:
        shared, single = "1" * 64, "2" * 64
        await store.put_object(record("a", shared))
        await store.put_object(record("b", shared))
        await store.put_object(record("c", single))
        await store.delete_object("bkt", "a")
        assert orphans == []
        await store.put_object(record("c", shared))  # overwrite drops `single`
        await store.caught_up()  # a journaled PUT's orphans are found once DuckDB has it
        assert orphans == [single]
        await store.delete_object("bkt", "b")
        await store.delete_object("bkt", "c")
        assert orphans == [single, shared]

    run(tmp_path / "m.duckdb", body, orphans)


def test_bucket_rules_in_the_writer(tmp_path: Path) -> None:
    async def body(store: MetaStore) -> None:
        await store.put_object(record("k"))
        with pytest.raises(BucketNotEmpty):
            await store.delete_bucket("bkt")
        with pytest.raises(NoSuchBucket):
            await store.put_object(record("k", bucket="nope"))
        await store.delete_bucket("bkt", force=True)
        assert store.bucket("bkt") is None
        assert await store.get_object("bkt", "k") is None

    run(tmp_path / "m.duckdb", body)


def test_listing_rolls_up_prefixes_and_resumes_after_them(tmp_path: Path) -> None:
    keys = ["a/1", "a/2", "a/3", "b", "c/1", "c/2", "d"]

    async def body(store: MetaStore) -> None:
        for key in keys:
            await store.put_object(record(key))
        seen: list[str] = []
        after = ""
        while True:
            page = await store.list_objects(
                "bkt", ListParams(delimiter="/", max_keys=1, after=after)
            )
            seen.extend(o.key for o in page.contents)
            seen.extend(page.common_prefixes)
            if not page.is_truncated:
                break
            assert page.next_after is not None
            after = page.next_after
        assert seen == ["a/", "b", "c/", "d"]
        page = await store.list_objects("bkt", ListParams(prefix="c/", max_keys=10))
        assert [o.key for o in page.contents] == ["c/1", "c/2"]
        assert not page.is_truncated

    run(tmp_path / "m.duckdb", body)


def test_schema_version_is_recorded_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"

    async def nothing(store: MetaStore) -> None:
        assert store.bucket("bkt") is not None

    run(path, nothing)
    connection = duckdb.connect(str(path))
    assert connection.execute("SELECT max(version) FROM schema_version").fetchone() == (
        SCHEMA_VERSION,
    )
    connection.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION + 1])
    connection.close()
    with pytest.raises(RuntimeError, match="newer"):
        MetaStore(path)


def test_objects_of_a_version_4_database_survive_the_move_to_the_one_column_key(
    tmp_path: Path,
) -> None:
    """Migration 5 rebuilds the objects table keyed by id; every row and column must come
    through, and the new key must still allow one row per (bucket, key)."""
    path = tmp_path / "m.duckdb"
    connection = duckdb.connect(str(path))
    duckdb_support.migrate(connection, MIGRATIONS[:4], what="test database")
    connection.execute("INSERT INTO buckets VALUES ('bkt', ?, 'us-east-1', 'root')", [NOW])
    tagged = attrs.evolve(record("a/1"), tags=(("team", "x"),))
    multipart = attrs.evolve(
        record("b/2", digest="c" * 64),
        parts=(BlobRef("d" * 64, 5), BlobRef("f" * 64, 7)),
        checksum=ChecksumValue("CRC32", "AAAAAA==", "COMPOSITE"),
    )
    for row in (object_to_row(tagged), object_to_row(multipart)):
        connection.execute(
            f"INSERT INTO objects ({OBJECT_COLUMNS}) VALUES ({', '.join('?' * 19)})", row
        )
    connection.close()

    async def body(store: MetaStore) -> None:
        assert await store.get_object("bkt", "a/1") == tagged
        assert await store.get_object("bkt", "b/2") == multipart
        await store.put_object(record("a/1", digest="9" * 64))
        page = await store.list_objects("bkt", ListParams())
        assert [(o.key, o.etag) for o in page.contents] == [
            ("a/1", f'"{"e" * 32}"'),
            ("b/2", f'"{"e" * 32}"'),
        ]
        assert (await store.get_object("bkt", "a/1")).sha256 == "9" * 64

    run(path, body)
    connection = duckdb.connect(str(path))
    assert connection.execute("SELECT id FROM objects ORDER BY id").fetchall() == [
        ("bkt/a/1",),
        ("bkt/b/2",),
    ]
    with pytest.raises(duckdb.ConstraintException):
        connection.execute(
            f"INSERT INTO objects (id, {OBJECT_COLUMNS}) VALUES ({', '.join('?' * 20)})",
            ["bkt/b/2", *object_to_row(multipart)],
        )
    connection.close()
