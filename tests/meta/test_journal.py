"""The metadata journal: a plain PUT is durable in the journal before DuckDB holds it, reads see
it at once, every other change waits for DuckDB to receive it, and a restart replays exactly
the entries DuckDB had not applied."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pytest
import trio

from tests.meta.samples import every_column_record
from zas.meta.journal import Journal, JournalEntry, decode, encode
from zas.meta.records import BucketRecord, ObjectRecord
from zas.meta.store import MetaStore
from zas.protocol.conditions import Preconditions
from zas.protocol.errors import PreconditionFailed
from zas.protocol.operations import ListParams, ObjectMetadata

NOW = dt.datetime(2026, 11, 28, 13, 30, 15, 123456, tzinfo=dt.UTC)


def record(key: str, digest: str = "a" * 64, bucket: str = "bkt") -> ObjectRecord:
    return ObjectRecord(bucket, key, 3, "e" * 32, digest, NOW, ObjectMetadata())


def full_record() -> ObjectRecord:
    """Every column set, under a non-ASCII key, so a round trip that drops one shows."""
    return every_column_record("dir/ключ €.tar.gz", NOW)


def journal_path(database: Path) -> Path:
    return database.with_name(database.name + ".journal")


def objects_in_duckdb(store: MetaStore) -> int:
    row = store.connection.cursor().execute("SELECT count(*) FROM objects").fetchone()
    return int(row[0])


async def with_store(path: Path, body, *, journal: bool = True) -> None:  # type: ignore[no-untyped-def]
    store = MetaStore(path, journal=journal)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run_writer)
        if store.bucket("bkt") is None:
            await store.create_bucket(BucketRecord("bkt", NOW, "us-east-1", "root"))
        await body(store)
        nursery.cancel_scope.cancel()
    store.close()


# --- the file format -------------------------------------------------------------------------


def test_an_entry_round_trips_with_every_column() -> None:
    entry = JournalEntry(7, (full_record(), record("plain")))
    entries, end = decode(encode(entry))
    assert entries == [entry]
    assert end == len(encode(entry))


def test_a_frame_cut_anywhere_ends_the_journal_after_the_whole_frames() -> None:
    first, second = encode(JournalEntry(1, (record("a"),))), encode(JournalEntry(2, (record("b"),)))
    for cut in range(len(second)):
        entries, end = decode(first + second[:cut])
        assert [entry.seq for entry in entries] == [1]
        assert end == len(first)


def test_a_corrupted_frame_ends_the_journal() -> None:
    first, second = encode(JournalEntry(1, (record("a"),))), encode(JournalEntry(2, (record("b"),)))
    damaged = bytearray(second)
    damaged[-2] ^= 0x01
    entries, end = decode(first + bytes(damaged) + first)
    assert [entry.seq for entry in entries] == [1]
    assert end == len(first)


def test_reading_cuts_a_torn_tail_so_the_next_append_follows_the_last_whole_frame(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.journal"
    journal = Journal(path)
    journal.append(JournalEntry(1, (record("a"),)))
    journal.close()
    with open(path, "ab") as file:
        file.write(encode(JournalEntry(2, (record("torn"),)))[:-5])
    journal = Journal(path)
    assert [entry.seq for entry in journal.read()] == [1]
    journal.append(JournalEntry(3, (record("c"),)))
    journal.close()
    assert [entry.seq for entry in Journal(path).read()] == [1, 3]


# --- the store -------------------------------------------------------------------------------


def test_a_plain_put_is_read_at_once_but_reaches_duckdb_behind_it(tmp_path: Path) -> None:
    async def body(store: MetaStore) -> None:
        await store.put_object(record("k"))
        assert objects_in_duckdb(store) == 0, "the row went to the journal, not DuckDB"
        assert journal_path(tmp_path / "m.duckdb").stat().st_size > 0
        assert await store.get_object("bkt", "k") == record("k")
        page = await store.list_objects("bkt", ListParams())  # waits for DuckDB
        assert [summary.key for summary in page.contents] == ["k"]
        assert objects_in_duckdb(store) == 1
        assert journal_path(tmp_path / "m.duckdb").stat().st_size == 0

    trio.run(with_store, tmp_path / "m.duckdb", body)


def test_journaled_rows_reach_duckdb_within_the_interval_without_any_read(
    tmp_path: Path,
) -> None:
    async def body(store: MetaStore) -> None:
        await store.put_object(record("k"))
        for _ in range(100):  # the interval is 1 s; allow a loaded machine 5 s
            if objects_in_duckdb(store):
                break
            await trio.sleep(0.05)
        assert objects_in_duckdb(store) == 1

    trio.run(with_store, tmp_path / "m.duckdb", body)


def test_without_the_journal_a_put_is_in_duckdb_when_it_returns(tmp_path: Path) -> None:
    async def body(store: MetaStore) -> None:
        await store.put_object(record("k"))
        assert objects_in_duckdb(store) == 1

    trio.run(functools.partial(with_store, tmp_path / "m.duckdb", body, journal=False))


def test_a_conditional_put_sees_a_journaled_row(tmp_path: Path) -> None:
    async def body(store: MetaStore) -> None:
        await store.put_object(record("k"))
        with pytest.raises(PreconditionFailed):
            await store.put_object(record("k", "b" * 64), Preconditions(if_none_match=("*",)))
        assert (await store.get_object("bkt", "k")) == record("k")

    trio.run(with_store, tmp_path / "m.duckdb", body)


def test_a_delete_after_journaled_puts_wins_and_stays_won_after_a_restart(
    tmp_path: Path,
) -> None:
    async def write(store: MetaStore) -> None:
        await store.put_object(record("k", "1" * 64))
        await store.put_object(record("k", "2" * 64))
        await store.delete_object("bkt", "k")
        assert await store.get_object("bkt", "k") is None

    async def read(store: MetaStore) -> None:
        assert await store.get_object("bkt", "k") is None
        assert (await store.list_objects("bkt", ListParams())).contents == ()

    trio.run(with_store, tmp_path / "m.duckdb", write)
    trio.run(with_store, tmp_path / "m.duckdb", read)


def test_overwritten_journaled_rows_leave_their_blobs_to_garbage_collection(
    tmp_path: Path,
) -> None:
    orphans: list[str] = []

    async def found(digests: list[str]) -> None:
        orphans.extend(digests)

    async def main() -> None:
        store = MetaStore(tmp_path / "m.duckdb", on_orphans=found)
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run_writer)
            await store.create_bucket(BucketRecord("bkt", NOW, "us-east-1", "root"))
            for digest in ("1" * 64, "2" * 64, "3" * 64):  # each one journaled
                await store.put_object(record("k", digest))
            await store.caught_up()
            nursery.cancel_scope.cancel()
        store.close()

    trio.run(main)
    assert sorted(orphans) == ["1" * 64, "2" * 64]


def test_a_restart_applies_the_entries_duckdb_lacks_and_skips_those_it_has(
    tmp_path: Path,
) -> None:
    database = tmp_path / "m.duckdb"

    async def first_run(store: MetaStore) -> None:
        await store.put_object(record("applied", "1" * 64))
        await store.caught_up()  # DuckDB holds seq 1; the journal is emptied

    trio.run(with_store, database, first_run)
    # A crash that lost the truncation leaves seq 1 behind (here with other contents, to see
    # that it is skipped), then come entries DuckDB never received, and a torn frame.
    journal = Journal(journal_path(database))
    journal.append(JournalEntry(1, (record("applied", "f" * 64),)))
    journal.append(JournalEntry(2, (record("replayed", "2" * 64), full_record())))
    journal.close()
    with open(journal_path(database), "ab") as file:
        file.write(encode(JournalEntry(3, (record("torn"),)))[:10])

    async def second_run(store: MetaStore) -> None:
        assert (await store.get_object("bkt", "applied")) == record("applied", "1" * 64)
        assert (await store.get_object("bkt", "replayed")) == record("replayed", "2" * 64)
        assert (await store.get_object("bkt", full_record().key)) == full_record()
        assert await store.get_object("bkt", "torn") is None
        assert objects_in_duckdb(store) == 3
        await store.put_object(record("after", "4" * 64))  # seq continues past 2

    trio.run(with_store, database, second_run)
    assert journal_path(database).stat().st_size == 0  # close() applied "after"

    async def third_run(store: MetaStore) -> None:
        assert (await store.get_object("bkt", "after")) == record("after", "4" * 64)
        assert (await store.get_object("bkt", "applied")) == record("applied", "1" * 64)

    trio.run(with_store, database, third_run)
