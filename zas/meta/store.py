"""DuckDB metadata: buckets and objects, one writer with group commit, hot reads from memory.

Measured on the 2-core machine (DESIGN.md): a DuckDB commit costs several milliseconds
whatever it holds, and a columnar INSERT of 1,000 rows commits in ~15 ms. So every change is
queued to one writer task, which applies everything that queued up while the previous batch
committed as one transaction, and wakes each request only after that commit: durable before
200, yet hundreds of changes per commit under load.

Reads of single objects and buckets come from memory: all buckets, and a bounded cache of
object rows (including "absent") that the writer updates after each commit. Listings are SQL.
No DuckDB call runs on the event loop: the writer and readers use worker threads, each with
its own cursor.

Blob garbage collection is decided here, inside the writer, right after the commit that
dropped the last reference (see `MetaStore.__init__`'s `on_orphans`): deciding in the one
writer means no concurrent metadata change can slip in between "unreferenced" and "deleted".
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import duckdb
import trio

from zas.meta.records import BucketRecord, ObjectRecord
from zas.meta.schema import migrate
from zas.protocol.conditions import Preconditions, check_write
from zas.protocol.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InternalError,
    NoSuchBucket,
    S3Error,
)
from zas.protocol.operations import ListParams, ObjectMetadata
from zas.protocol.xml import ListPage, ObjectSummary

# Largest number of changes committed in one transaction.
MAX_BATCH = 1000
# Object rows (present or absent) kept in memory for HEAD/GET.
OBJECT_CACHE_SIZE = 100_000
_AFTER_ALL = "\U0010ffff"

_OBJECT_COLUMNS = (
    "bucket, key, size, etag, sha256, last_modified, content_type, content_encoding, "
    "content_disposition, content_language, cache_control, expires, user_metadata"
)
_OBJECT_TYPES = (
    "VARCHAR", "VARCHAR", "BIGINT", "VARCHAR", "VARCHAR", "TIMESTAMPTZ", "VARCHAR", "VARCHAR",
    "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
)  # fmt: skip


# --- changes queued to the writer ------------------------------------------------------------


@attrs.frozen
class _PutObject:
    record: ObjectRecord
    preconditions: Preconditions


@attrs.frozen
class _DeleteObject:
    bucket: str
    key: str


@attrs.frozen
class _CreateBucket:
    record: BucketRecord


@attrs.frozen
class _DeleteBucket:
    name: str
    force: bool


@attrs.frozen
class _Release:
    """Re-check digests that an abandoned write may have left unreferenced."""

    digests: tuple[str, ...]


_Change = _PutObject | _DeleteObject | _CreateBucket | _DeleteBucket | _Release


@attrs.define
class _Pending:
    change: _Change
    done: trio.Event = attrs.field(factory=trio.Event)
    result: Any = None
    error: BaseException | None = None


@attrs.define
class _BatchOutcome:
    # (bucket, key) -> row after the batch (None: absent), for the cache.
    objects: dict[tuple[str, str], ObjectRecord | None]
    buckets_created: list[BucketRecord]
    buckets_deleted: list[str]
    orphans: list[str]


class MetaStore:
    def __init__(
        self, path: Path, *, on_orphans: Callable[[list[str]], None] | None = None
    ) -> None:
        """`on_orphans` is called on the event loop, between two batches, with digests that
        no object refers to any more; it may delete them without a checkpoint in between."""
        self._path = path
        self._connection = duckdb.connect(str(path))
        migrate(self._connection)
        self._local = threading.local()
        self.on_orphans = on_orphans or (lambda digests: None)
        self._send, self._receive = trio.open_memory_channel[_Pending](MAX_BATCH * 10)
        self._buckets: dict[str, BucketRecord] = {
            row[0]: BucketRecord(row[0], row[1], row[2], row[3])
            for row in self._connection.execute(
                "SELECT name, created, region, owner FROM buckets"
            ).fetchall()
        }
        self._objects: OrderedDict[tuple[str, str], ObjectRecord | None] = OrderedDict()
        # Bumped after every commit; a read that spans a commit does not fill the cache.
        self._commit_seq = 0
        self._writer_lock = threading.Lock()
        self.batches_committed = 0

    # --- lifecycle -----------------------------------------------------------------------

    async def run_writer(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The single writer. Run it in a nursery the app owns; cancel it to stop."""
        task_status.started()
        async with self._receive:
            while True:
                first = await self._receive.receive()
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                await self._commit_batch(batch)

    def close(self) -> None:
        with self._writer_lock:
            self._connection.close()

    # --- bucket operations ---------------------------------------------------------------

    def bucket(self, name: str) -> BucketRecord | None:
        return self._buckets.get(name)

    def require_bucket(self, name: str) -> BucketRecord:
        record = self._buckets.get(name)
        if record is None:
            raise NoSuchBucket(resource=f"/{name}", BucketName=name)
        return record

    def list_buckets(self) -> list[BucketRecord]:
        return sorted(self._buckets.values(), key=lambda bucket: bucket.name)

    async def create_bucket(self, record: BucketRecord) -> BucketRecord:
        result: BucketRecord = await self._submit(_CreateBucket(record))
        return result

    async def delete_bucket(self, name: str, *, force: bool = False) -> None:
        await self._submit(_DeleteBucket(name, force))

    # --- object operations ---------------------------------------------------------------

    async def put_object(
        self, record: ObjectRecord, preconditions: Preconditions | None = None
    ) -> ObjectRecord | None:
        """Store the object's row (durably); returns the row it replaced, if any."""
        previous: ObjectRecord | None = await self._submit(
            _PutObject(record, preconditions or Preconditions())
        )
        return previous

    async def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        previous: ObjectRecord | None = await self._submit(_DeleteObject(bucket, key))
        return previous

    async def release(self, digests: Iterable[str]) -> None:
        await self._submit(_Release(tuple(digests)))

    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        cache_key = (bucket, key)
        if cache_key in self._objects:
            self._objects.move_to_end(cache_key)
            return self._objects[cache_key]
        seq = self._commit_seq
        row = await trio.to_thread.run_sync(self._read_object, bucket, key)
        if seq == self._commit_seq:
            self._remember(cache_key, row)
        return row

    async def list_objects(self, bucket: str, params: ListParams) -> ListPage:
        return await trio.to_thread.run_sync(self._list_objects, bucket, params)

    async def referenced_digests(self) -> set[str]:
        rows = await trio.to_thread.run_sync(self._query, "SELECT DISTINCT sha256 FROM objects", [])
        return {row[0] for row in rows}

    async def count_objects(self, bucket: str) -> tuple[int, int]:
        rows = await trio.to_thread.run_sync(
            self._query,
            "SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket = ?",
            [bucket],
        )
        return int(rows[0][0]), int(rows[0][1])

    # --- the writer ----------------------------------------------------------------------

    async def _submit(self, change: _Change) -> Any:
        pending = _Pending(change)
        await self._send.send(pending)
        await pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            outcome = await trio.to_thread.run_sync(self._apply_batch, batch)
        except Exception as exc:
            error = InternalError("The metadata store failed to commit the change.")
            error.__cause__ = exc
            for pending in batch:
                if pending.error is None:
                    pending.error = error
        else:
            for record in outcome.buckets_created:
                self._buckets[record.name] = record
            for name in outcome.buckets_deleted:
                self._buckets.pop(name, None)
                for cache_key in [k for k in self._objects if k[0] == name]:
                    del self._objects[cache_key]
            for cache_key, row in outcome.objects.items():
                self._remember(cache_key, row)
            self._commit_seq += 1
            self.batches_committed += 1
            if outcome.orphans:
                self.on_orphans(outcome.orphans)
        for pending in batch:
            pending.done.set()

    def _apply_batch(self, batch: list[_Pending]) -> _BatchOutcome:
        """Runs in a worker thread: apply every change in one transaction."""
        with self._writer_lock:
            con = self._connection
            con.execute("BEGIN TRANSACTION")
            try:
                outcome = _BatchWriter(con, dict(self._buckets)).apply(batch)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return outcome

    # --- reads (worker threads) ----------------------------------------------------------

    def _cursor(self) -> Any:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._connection.cursor()
            self._local.cursor = cursor
        return cursor

    def _query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._cursor().execute(sql, params).fetchall()
        return rows

    def _read_object(self, bucket: str, key: str) -> ObjectRecord | None:
        rows = self._query(
            f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?", [bucket, key]
        )
        return _object_from_row(rows[0]) if rows else None

    def _list_objects(self, bucket: str, params: ListParams) -> ListPage:
        """Keys in UTF-8 byte order (DuckDB's binary VARCHAR order, as S3), rolled up into
        CommonPrefixes at the delimiter. A rolled-up prefix is skipped in SQL, so a prefix
        holding a million keys costs one query, not a million rows."""
        prefix, delimiter, wanted = params.prefix, params.delimiter, params.max_keys
        if wanted == 0:
            return ListPage((), (), False, None)
        cursor = params.after
        if delimiter and _common_prefix(cursor, prefix, delimiter) == cursor:
            cursor += _AFTER_ALL  # resuming after a CommonPrefix: skip everything under it
        contents: list[ObjectSummary] = []
        prefixes: list[str] = []
        last: str | None = None
        while True:
            rows = self._query(
                "SELECT key, last_modified, etag, size FROM objects "
                "WHERE bucket = ? AND starts_with(key, ?) AND key > ? "
                "ORDER BY key LIMIT ?",
                [bucket, prefix, cursor, wanted + 1],
            )
            for key, last_modified, etag, size in rows:
                if len(contents) + len(prefixes) == wanted:
                    return ListPage(tuple(contents), tuple(prefixes), True, last)
                common = _common_prefix(key, prefix, delimiter) if delimiter else None
                if common is not None:
                    prefixes.append(common)
                    last = common
                    cursor = common + _AFTER_ALL
                    break  # the rows after it may lie under the same prefix: query again
                contents.append(ObjectSummary(key, last_modified, f'"{etag}"', size))
                last = cursor = key
            else:
                if len(rows) <= wanted:
                    return ListPage(tuple(contents), tuple(prefixes), False, None)

    def _remember(self, cache_key: tuple[str, str], row: ObjectRecord | None) -> None:
        self._objects[cache_key] = row
        self._objects.move_to_end(cache_key)
        while len(self._objects) > OBJECT_CACHE_SIZE:
            self._objects.popitem(last=False)


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not key.startswith(prefix):
        return None
    index = key.find(delimiter, len(prefix))
    if index < 0:
        return None
    return key[: index + len(delimiter)]


class _BatchWriter:
    """Applies one batch inside an open transaction (worker thread)."""

    def __init__(self, con: Any, buckets: dict[str, BucketRecord]) -> None:
        self.con = con
        self.buckets = buckets
        self.overlay: dict[tuple[str, str], ObjectRecord | None] = {}
        self.dirty: set[tuple[str, str]] = set()
        self.candidates: set[str] = set()
        self.created: list[BucketRecord] = []
        self.deleted: list[str] = []

    def apply(self, batch: list[_Pending]) -> _BatchOutcome:
        self._load_current(
            [
                (p.change.record.bucket, p.change.record.key)
                if isinstance(p.change, _PutObject)
                else (p.change.bucket, p.change.key)
                for p in batch
                if isinstance(p.change, _PutObject | _DeleteObject)
            ]
        )
        for pending in batch:
            try:
                pending.result = self._apply_one(pending.change)
            except S3Error as exc:
                pending.error = exc
        self._flush_objects()
        referenced = set()
        if self.candidates:
            rows = self.con.execute(
                "SELECT DISTINCT sha256 FROM objects WHERE sha256 IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(self.candidates)],
            ).fetchall()
            referenced = {row[0] for row in rows}
        return _BatchOutcome(
            objects=dict(self.overlay),
            buckets_created=self.created,
            buckets_deleted=self.deleted,
            orphans=sorted(self.candidates - referenced),
        )

    def _load_current(self, keys: list[tuple[str, str]]) -> None:
        wanted = sorted(set(keys) - set(self.overlay))
        if not wanted:
            return
        rows = self.con.execute(
            f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE (bucket, key) IN "
            "(SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))",
            [[b for b, _ in wanted], [k for _, k in wanted]],
        ).fetchall()
        for key in wanted:
            self.overlay[key] = None
        for row in rows:
            record = _object_from_row(row)
            self.overlay[(record.bucket, record.key)] = record

    def _apply_one(self, change: _Change) -> Any:
        if isinstance(change, _PutObject):
            record = change.record
            if record.bucket not in self.buckets:
                raise NoSuchBucket(resource=f"/{record.bucket}", BucketName=record.bucket)
            cache_key = (record.bucket, record.key)
            previous = self.overlay[cache_key]
            check_write(change.preconditions, previous.quoted_etag if previous else None)
            self._replace(cache_key, record)
            return previous
        if isinstance(change, _DeleteObject):
            if change.bucket not in self.buckets:
                raise NoSuchBucket(resource=f"/{change.bucket}", BucketName=change.bucket)
            cache_key = (change.bucket, change.key)
            previous = self.overlay[cache_key]
            if previous is not None:
                self._replace(cache_key, None)
            return previous
        if isinstance(change, _Release):
            self.candidates.update(change.digests)
            return None
        # Bucket changes see every earlier object change of the batch in the table.
        self._flush_objects()
        if isinstance(change, _CreateBucket):
            return self._create_bucket(change.record)
        return self._delete_bucket(change.name, change.force)

    def _replace(self, cache_key: tuple[str, str], record: ObjectRecord | None) -> None:
        previous = self.overlay[cache_key]
        if previous is not None and (record is None or previous.sha256 != record.sha256):
            self.candidates.add(previous.sha256)
        self.overlay[cache_key] = record
        self.dirty.add(cache_key)

    def _flush_objects(self) -> None:
        if not self.dirty:
            return
        dirty = sorted(self.dirty)
        self.dirty.clear()
        gone = [key for key in dirty if self.overlay[key] is None]
        rows = [_object_to_row(r) for key in dirty if (r := self.overlay[key]) is not None]
        if gone:
            self.con.execute(
                "DELETE FROM objects WHERE (bucket, key) IN "
                "(SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))",
                [[b for b, _ in gone], [k for _, k in gone]],
            )
        if rows:
            columns = [list(column) for column in zip(*rows, strict=True)]
            selects = ", ".join(f"unnest(?::{kind}[])" for kind in _OBJECT_TYPES)
            self.con.execute(
                f"INSERT OR REPLACE INTO objects ({_OBJECT_COLUMNS}) SELECT {selects}", columns
            )

    def _create_bucket(self, record: BucketRecord) -> BucketRecord:
        existing = self.buckets.get(record.name)
        if existing is not None:
            # Single-tenant for now: every bucket belongs to the caller (root).
            raise BucketAlreadyOwnedByYou(resource=f"/{record.name}", BucketName=record.name)
        self.con.execute(
            "INSERT INTO buckets VALUES (?, ?, ?, ?)",
            [record.name, record.created, record.region, record.owner],
        )
        self.buckets[record.name] = record
        self.created.append(record)
        return record

    def _delete_bucket(self, name: str, force: bool) -> None:
        if name not in self.buckets:
            raise NoSuchBucket(resource=f"/{name}", BucketName=name)
        if force:
            rows = self.con.execute(
                "SELECT DISTINCT sha256 FROM objects WHERE bucket = ?", [name]
            ).fetchall()
            self.candidates.update(row[0] for row in rows)
            self.con.execute("DELETE FROM objects WHERE bucket = ?", [name])
            for cache_key in [k for k in self.overlay if k[0] == name]:
                self.overlay[cache_key] = None
        elif self.con.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", [name]).fetchall():
            raise BucketNotEmpty(resource=f"/{name}", BucketName=name)
        self.con.execute("DELETE FROM buckets WHERE name = ?", [name])
        del self.buckets[name]
        self.deleted.append(name)


def _object_to_row(record: ObjectRecord) -> tuple[Any, ...]:
    meta = record.metadata
    return (
        record.bucket,
        record.key,
        record.size,
        record.etag,
        record.sha256,
        record.last_modified,
        meta.content_type,
        meta.content_encoding,
        meta.content_disposition,
        meta.content_language,
        meta.cache_control,
        meta.expires,
        json.dumps(dict(meta.user)),
    )


def _object_from_row(row: tuple[Any, ...]) -> ObjectRecord:
    bucket, key, size, etag, sha256, last_modified, *headers, user_metadata = row
    content_type, content_encoding, content_disposition, content_language = headers[:4]
    cache_control, expires = headers[4:]
    return ObjectRecord(
        bucket=bucket,
        key=key,
        size=size,
        etag=etag,
        sha256=sha256,
        last_modified=_as_utc(last_modified),
        metadata=ObjectMetadata(
            content_type=content_type,
            content_encoding=content_encoding,
            content_disposition=content_disposition,
            content_language=content_language,
            cache_control=cache_control,
            expires=expires,
            user=tuple(sorted(json.loads(user_metadata).items())),
        ),
    )


def _as_utc(moment: datetime) -> datetime:
    # DuckDB hands TIMESTAMPTZ back in the session's zone; S3 speaks UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
