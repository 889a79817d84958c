"""DuckDB metadata: buckets and objects, one writer with group commit, hot reads from memory.

Measured on the 2-core machine (DESIGN.md): a DuckDB commit costs several milliseconds
whatever it holds, and a columnar INSERT of 1,000 rows commits in ~15 ms. So every change is
queued to one writer task, which applies everything that queued up while the previous batch
committed as one transaction, and wakes each request only after that commit: durable before
200, yet hundreds of changes per commit under load. A plain PUT (no preconditions) is
durable sooner: its row goes to the journal (`zas.meta.journal`, one append and fdatasync per
group), and DuckDB receives the journaled rows behind the requests, every
JOURNAL_APPLY_INTERVAL, and before any other change or SQL read, so those see them.

Reads of single objects and buckets come from memory: all buckets, and a bounded cache of
object rows (including "absent") that the writer updates after each commit. Listings are SQL.
No DuckDB call runs on the event loop: the writer and readers use worker threads, each with
its own cursor.

Blob garbage collection is decided here, inside the writer, right after the commit that
dropped the last reference (see `MetaStore.__init__`'s `on_orphans`): deciding in the one
writer means no concurrent metadata change can slip in between "unreferenced" and "deleted".
The files are deleted by the blob store (its helper process, or a worker thread); pins keep an
upload of the same bytes safe meanwhile.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import duckdb
import trio

from zas.meta import batch as changes
from zas.meta import evidence
from zas.meta.duckdb_support import ThreadCursors
from zas.meta.iam import IamSnapshot, load_snapshot
from zas.meta.journal import Journal, JournalEntry
from zas.meta.records import BucketRecord, ObjectRecord, PartRecord, Tags, UploadRecord
from zas.meta.rows import (
    OBJECT_COLUMNS,
    PART_COLUMNS,
    UPLOAD_COLUMNS,
    object_from_row,
    object_id,
    part_from_row,
    upload_from_row,
)
from zas.meta.schema import migrate
from zas.observability.tracing import tracer
from zas.protocol.conditions import Preconditions
from zas.protocol.errors import InternalError, NoSuchBucket
from zas.protocol.operations import ListParams
from zas.protocol.xml import ListPage, ObjectSummary

log = logging.getLogger("zas.meta")

# Largest number of changes committed in one transaction.
MAX_BATCH = 1000
# Journaled PUT rows (zas.meta.journal) are applied to DuckDB this many seconds after the
# first of them, or once this many are waiting: one transaction per second under load
# instead of one per group of requests. With 100,000 objects an apply of 300 rows costs
# ~50 ms of DuckDB (BENCHMARKS.md, session 9), and 1 s measured 1.12x the PUT rate of
# 0.25 s after the fill (session 8).
JOURNAL_APPLY_INTERVAL = 1.0
JOURNAL_APPLY_ROWS = MAX_BATCH
NO_PRECONDITIONS = Preconditions()
# Object rows (present or absent) kept in memory for HEAD/GET.
# A cached row costs ~1 KB of Python objects: 20,000 rows keep the hot set in ~20 MB, inside
# the server's memory budget (BENCHMARKS.md: 100,000 pushed RSS past 250 MB).
OBJECT_CACHE_SIZE = 20_000
# DuckDB's buffer pool defaults to 80% of RAM; metadata needs little, and the server's RSS
# budget is 150 MB during large transfers.
DUCKDB_SETTINGS = {"memory_limit": "96MB", "threads": "2"}
# Sorts after every key that starts with a given prefix: resuming past a CommonPrefix.
AFTER_ALL = "\U0010ffff"


@attrs.define
class _Pending:
    change: Any
    done: trio.Event = attrs.field(factory=trio.Event)
    result: Any = None
    error: BaseException | None = None


async def _ignore_orphans(digests: list[str]) -> None:
    pass


class MetaStore:
    def __init__(
        self,
        path: Path,
        *,
        on_orphans: Callable[[list[str]], Awaitable[None]] | None = None,
        journal: bool = True,
    ) -> None:
        """`on_orphans` is awaited by the writer after a commit, before the batch's requests
        are answered and before the next batch, with digests that no object refers to any
        more. Uploads may pin a digest while it runs (see `zas.objects.ingest.BlobPins`).

        With `journal`, a PUT without preconditions is durable once its row is in the
        journal (`zas.meta.journal`, beside the database), and DuckDB receives it within
        JOURNAL_APPLY_INTERVAL. Whatever the setting, a journal left by an earlier run is
        applied here, before anything else can read the database."""
        self._path = path
        self._connection = duckdb.connect(str(path), config=dict(DUCKDB_SETTINGS))
        migrate(self._connection)
        self._cursors = ThreadCursors(self._connection)
        self.on_orphans = on_orphans or _ignore_orphans
        self._send, self._receive = trio.open_memory_channel[_Pending](MAX_BATCH * 10)
        self._buckets: dict[str, BucketRecord] = {
            row[0]: BucketRecord(row[0], row[1], row[2], row[3])
            for row in self._connection.execute(
                "SELECT name, created, region, owner FROM buckets"
            ).fetchall()
        }
        self._objects: OrderedDict[tuple[str, str], ObjectRecord | None] = OrderedDict()
        self._writer_lock = threading.Lock()
        # Journaled rows DuckDB does not hold yet, in order, and the latest per key (reads
        # see these first: the cache may drop a row before DuckDB has it).
        self._journal_puts = journal
        self._journal = Journal(path.with_name(path.name + ".journal"))
        self._journal_rows: list[ObjectRecord] = []
        self._journaled: dict[tuple[str, str], ObjectRecord] = {}
        self._journal_seq = 0
        self._journal_due = math.inf  # trio clock: when the journaled rows go to DuckDB
        self._replay_journal()
        # For /metrics, kept in step with each commit: bucket -> [objects, bytes], open uploads.
        self._usage: dict[str, list[int]] = {name: [0, 0] for name in self._buckets}
        for name, count, size in self._connection.execute(
            "SELECT bucket, count(*), coalesce(sum(size), 0) FROM objects GROUP BY bucket"
        ).fetchall():
            self._usage[name] = [int(count), int(size)]
        row = self._connection.execute("SELECT count(*) FROM uploads").fetchone()
        self.open_uploads = int(row[0]) if row else 0
        # Called after each commit with (seconds, changes) (metrics).
        self.on_commit: Callable[[float, int], None] = lambda seconds, size: None
        # Bumped after every commit; a read that spans a commit does not fill the cache.
        self._commit_seq = 0
        self.batches_committed = 0
        self._in_hand: list[_Pending] = []  # the writer's current batch

    # --- lifecycle -----------------------------------------------------------------------

    async def run_writer(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The single writer. Run it in a nursery the app owns; cancel it to stop."""
        task_status.started()
        async with self._receive:
            try:
                await self._write()
            finally:
                # Stopped: callers wait for a sent change even when cancelled (`_submit`), so
                # every change in hand or still queued gets its answer.
                self._answer_left("The metadata store stopped before it confirmed the change.")

    def _answer_left(self, message: str) -> None:
        left = [pending for pending in self._in_hand if not pending.done.is_set()]
        while True:
            try:
                left.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        _fail(left, message)
        for pending in left:
            pending.done.set()

    async def _write(self) -> None:
        while True:
            batch = self._in_hand = await self._next_batch()
            if batch and all(self._journalable(item.change) for item in batch):
                await self._journal_batch(batch)
            elif batch:
                # Everything else reads or changes what the journaled rows may touch:
                # DuckDB gets them first, so the changes apply in the order they came.
                if await self._apply_journal():
                    work = [p for p in batch if not isinstance(p.change, changes.Barrier)]
                    if work:
                        await self._commit_batch(work)
                else:
                    _fail(batch, "The metadata store could not apply its journal.")
                for pending in batch:
                    pending.done.set()
            if len(self._journal_rows) >= JOURNAL_APPLY_ROWS or (
                trio.current_time() >= self._journal_due
            ):
                await self._apply_journal()

    async def _next_batch(self) -> list[_Pending]:
        """The changes queued up, waiting no later than the journal's due time ([] then)."""
        with trio.move_on_at(self._journal_due):
            first = await self._receive.receive()
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._receive.receive_nowait())
                except trio.WouldBlock:
                    break
            return batch
        return []

    def close(self) -> None:
        """Apply what is journaled (else the next start does) and close the database."""
        if self._journal_rows:
            try:
                self._apply_batch(self._journal_changes())
                self._journal.reset()
            except Exception:
                log.exception("journaled rows are left for the next start to apply")
        with self._writer_lock:
            self._connection.close()
        self._journal.close()

    # --- buckets -------------------------------------------------------------------------

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
        result: BucketRecord = await self._submit(changes.CreateBucketRow(record))
        return result

    async def delete_bucket(self, name: str, *, force: bool = False) -> None:
        await self._submit(changes.DeleteBucketRow(name, force))

    # --- objects -------------------------------------------------------------------------

    async def put_object(
        self, record: ObjectRecord, preconditions: Preconditions | None = None
    ) -> ObjectRecord | None:
        """Store the object's row (durably); returns the row it replaced, if any."""
        previous: ObjectRecord | None = await self._submit(
            changes.PutObjectRow(record, preconditions or Preconditions())
        )
        return previous

    async def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        previous: ObjectRecord | None = await self._submit(changes.DeleteObjectRow(bucket, key))
        return previous

    async def set_object_tags(self, bucket: str, key: str, tags: Tags) -> ObjectRecord:
        updated: ObjectRecord = await self._submit(changes.SetObjectTags(bucket, key, tags))
        return updated

    async def set_object_sha256(self, bucket: str, key: str, etag: str, sha256: str) -> bool:
        applied: bool = await self._submit(changes.SetObjectSha256(bucket, key, etag, sha256))
        return applied

    async def release(self, digests: Iterable[str]) -> None:
        await self._submit(changes.Release(tuple(digests)))

    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        cache_key = (bucket, key)
        journaled = self._journaled.get(cache_key)
        if journaled is not None:
            return journaled
        if cache_key in self._objects:
            self._objects.move_to_end(cache_key)
            return self._objects[cache_key]
        seq = self._commit_seq
        row = await trio.to_thread.run_sync(self._read_object, bucket, key)
        if seq == self._commit_seq:
            self._remember(cache_key, row)
        return row

    async def list_objects(self, bucket: str, params: ListParams) -> ListPage:
        await self.caught_up()
        return await trio.to_thread.run_sync(self._list_objects, bucket, params)

    async def objects_missing_sha256(self) -> list[ObjectRecord]:
        """Multipart objects whose whole-object hash has not been computed yet."""
        rows = await trio.to_thread.run_sync(
            self._query, f"SELECT {OBJECT_COLUMNS} FROM objects WHERE sha256 IS NULL", []
        )
        return [object_from_row(row) for row in rows]

    async def referenced_digests(self) -> set[str]:
        await self.caught_up()
        rows = await trio.to_thread.run_sync(
            self._query,
            "SELECT sha256 FROM objects WHERE part_digests IS NULL "
            "UNION SELECT unnest(part_digests) FROM objects WHERE part_digests IS NOT NULL "
            "UNION SELECT sha256 FROM upload_parts",
            [],
        )
        return {row[0] for row in rows}

    async def count_objects(self, bucket: str) -> tuple[int, int]:
        await self.caught_up()
        rows = await trio.to_thread.run_sync(
            self._query,
            "SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket = ?",
            [bucket],
        )
        return int(rows[0][0]), int(rows[0][1])

    # --- multipart uploads ---------------------------------------------------------------

    async def create_upload(self, record: UploadRecord) -> UploadRecord:
        created: UploadRecord = await self._submit(changes.CreateUploadRow(record))
        return created

    async def put_part(self, bucket: str, key: str, part: PartRecord) -> None:
        await self._submit(changes.PutPartRow(bucket, key, part))

    async def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        await self._submit(changes.AbortUploadRow(bucket, key, upload_id))

    async def complete_upload(
        self, upload_id: str, record: ObjectRecord, preconditions: Preconditions | None = None
    ) -> ObjectRecord | None:
        previous: ObjectRecord | None = await self._submit(
            changes.CompleteUploadRow(upload_id, record, preconditions or Preconditions())
        )
        return previous

    async def get_upload(self, upload_id: str) -> UploadRecord | None:
        rows = await trio.to_thread.run_sync(
            self._query, f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", [upload_id]
        )
        return upload_from_row(rows[0]) if rows else None

    async def list_parts(
        self, upload_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[PartRecord]:
        sql = (
            f"SELECT {PART_COLUMNS} FROM upload_parts WHERE upload_id = ? AND part_number > ? "
            "ORDER BY part_number"
        )
        params: list[Any] = [upload_id, after]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = await trio.to_thread.run_sync(self._query, sql, params)
        return [part_from_row(row) for row in rows]

    async def list_uploads(
        self, bucket: str, *, prefix: str = "", key_marker: str = "", upload_id_marker: str = "",
        limit: int = 1000,
    ) -> list[UploadRecord]:  # fmt: skip
        """Uploads in (key, initiated, upload id) order, after the markers (S3 semantics:
        with an upload-id marker, uploads of the marker key after that id; else keys after
        the key marker)."""
        rows = await trio.to_thread.run_sync(
            self._query,
            f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE bucket = ? AND starts_with(key, ?) "
            "AND (key > ? OR (key = ? AND ? <> '' AND upload_id > ?)) "
            "ORDER BY key, upload_id LIMIT ?",
            [bucket, prefix, key_marker, key_marker, upload_id_marker, upload_id_marker, limit],
        )
        return [upload_from_row(row) for row in rows]

    async def uploads_initiated_before(self, moment: datetime) -> list[UploadRecord]:
        rows = await trio.to_thread.run_sync(
            self._query, f"SELECT {UPLOAD_COLUMNS} FROM uploads WHERE initiated < ?", [moment]
        )
        return [upload_from_row(row) for row in rows]

    # --- identities (zas.meta.iam) ------------------------------------------------------

    async def change(self, change: Any) -> Any:
        """Apply one change (`zas.meta.iam`, `zas.meta.evidence`, or a `zas.meta.batch` change
        built by its caller, such as `CopyObjectRow`) durably; returns what the change's
        `apply` returns."""
        return await self._submit(change)

    async def load_iam(self) -> IamSnapshot:
        return await trio.to_thread.run_sync(lambda: load_snapshot(self._cursor()))

    async def caught_up(self) -> None:
        """Return once DuckDB holds every change committed so far (journaled rows are
        applied on demand): call it before reading objects with SQL."""
        if self._journal_rows:
            await self._submit(changes.Barrier())

    @property
    def connection(self) -> Any:
        """For guarded analyst queries (zas.auth.audit.guarded_query), which open their own
        cursor (after `caught_up`); everything else goes through the writer or the methods
        here."""
        return self._connection

    async def load_evidence(self) -> evidence.EvidenceSnapshot:
        return await trio.to_thread.run_sync(lambda: evidence.load_snapshot(self._cursor()))

    async def evidence_document(self, evidence_id: str) -> evidence.EvidenceRecord | None:
        return await trio.to_thread.run_sync(
            lambda: evidence.load_document(self._cursor(), evidence_id)
        )

    # --- the writer ----------------------------------------------------------------------

    async def _submit(self, change: Any) -> Any:
        pending = _Pending(change)
        with tracer().span("metadata.commit"):
            await self._send.send(pending)
            # Once sent, the writer applies the change whatever happens to this task, so wait
            # for its outcome even when cancelled: a caller's cleanup (a blob pin released, an
            # in-memory view reloaded) must not run while its change is still to be committed.
            with trio.CancelScope(shield=True):
                await pending.done.wait()
        await trio.lowlevel.checkpoint_if_cancelled()  # now the cancellation may land
        if pending.error is not None:
            raise pending.error
        return pending.result

    def queued(self) -> int:
        """Changes sent to the writer that it has not taken yet."""
        return self._send.statistics().current_buffer_used

    def memory_bytes(self) -> int:
        """Bytes DuckDB holds for the metadata database (worker thread: it runs a query)."""
        return self._cursors.memory_bytes()

    def usage(self) -> dict[str, tuple[int, int]]:
        """Objects and bytes per bucket, from memory."""
        return {name: (counts[0], counts[1]) for name, counts in self._usage.items()}

    async def _commit_batch(self, batch: list[_Pending]) -> bool:
        """Apply `batch` in one transaction and answer its requests; False if it failed."""
        started = time.perf_counter()
        try:
            outcome = await trio.to_thread.run_sync(self._apply_batch, batch)
        except Exception as exc:
            log.exception("a metadata transaction failed")
            _fail(batch, "The metadata store failed to commit the change.", exc)
            committed = False
        else:
            committed = True
            for record in outcome.buckets_created:
                self._buckets[record.name] = record
                self._usage.setdefault(record.name, [0, 0])
            for name, (objects, size) in outcome.usage.items():
                counts = self._usage.setdefault(name, [0, 0])
                counts[0] += objects
                counts[1] += size
            self.open_uploads += outcome.uploads
            for name in outcome.buckets_deleted:
                self._buckets.pop(name, None)
                self._usage.pop(name, None)
                for cache_key in [k for k in self._objects if k[0] == name]:
                    del self._objects[cache_key]
            for cache_key, row in outcome.objects.items():
                self._remember(cache_key, row)
            self._commit_seq += 1
            self.batches_committed += 1
            self.on_commit(time.perf_counter() - started, len(batch))
            if outcome.orphans:
                await self.on_orphans(outcome.orphans)
        for pending in batch:
            pending.done.set()
        return committed

    # --- the journal ---------------------------------------------------------------------

    def _journalable(self, change: Any) -> bool:
        """A PUT without preconditions into an existing bucket: its outcome does not depend
        on the current row, so it can be answered before DuckDB has it. Not while DuckDB
        has JOURNAL_APPLY_ROWS waiting (it failed to take them): PUTs then wait for DuckDB,
        and fail if it still fails, instead of piling up in memory."""
        return (
            self._journal_puts
            and len(self._journal_rows) < JOURNAL_APPLY_ROWS
            and type(change) is changes.PutObjectRow
            and change.preconditions == NO_PRECONDITIONS
            and change.record.bucket in self._buckets
        )

    async def _journal_batch(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        records = [pending.change.record for pending in batch]
        self._journal_seq += 1
        entry = JournalEntry(self._journal_seq, tuple(records))
        try:
            await trio.to_thread.run_sync(self._journal.append, entry)
        except OSError as exc:
            log.exception("the metadata journal could not be written")
            _fail(batch, "The metadata store failed to commit the change.", exc)
        else:
            if not self._journal_rows:
                self._journal_due = trio.current_time() + JOURNAL_APPLY_INTERVAL
            self._journal_rows.extend(records)
            for record in records:
                cache_key = (record.bucket, record.key)
                self._journaled[cache_key] = record
                self._remember(cache_key, record)
            self._commit_seq += 1
            self.on_commit(time.perf_counter() - started, len(batch))
        for pending in batch:
            pending.done.set()

    async def _apply_journal(self) -> bool:
        """Give DuckDB the journaled rows; False if that failed (they stay journaled and
        are tried again at the next due time)."""
        if not self._journal_rows:
            return True
        batch = self._journal_changes()
        if not await self._commit_batch(batch):
            self._journal_due = trio.current_time() + JOURNAL_APPLY_INTERVAL
            return False
        for pending in batch:
            if pending.error is not None:  # an S3 rule broken after the 200 (not expected)
                log.error("a journaled row was not applied: %s", pending.error)
        self._journal_rows.clear()
        self._journaled.clear()
        self._journal_due = math.inf
        try:
            await trio.to_thread.run_sync(self._journal.reset)
        except OSError:
            log.exception("the metadata journal could not be emptied (replay skips it)")
        return True

    def _journal_changes(self) -> list[_Pending]:
        puts = [_Pending(changes.PutObjectRow(record)) for record in self._journal_rows]
        return [*puts, _Pending(changes.JournalApplied(self._journal_seq))]

    def _replay_journal(self) -> None:
        """Apply the entries an earlier run journaled but DuckDB did not receive."""
        row = self._connection.execute("SELECT applied_seq FROM journal_state").fetchone()
        applied = int(row[0]) if row else 0
        entries = self._journal.read()
        self._journal_seq = max([applied, *(entry.seq for entry in entries)])
        missing = [record for entry in entries if entry.seq > applied for record in entry.records]
        if missing:
            log.info("applying %d object row(s) journaled before a restart", len(missing))
            self._journal_rows = missing
            self._apply_batch(self._journal_changes())
            self._journal_rows = []
        self._journal.reset()

    def _apply_batch(self, pending: list[_Pending]) -> changes.BatchOutcome:
        """Runs in a worker thread: apply every change in one transaction."""
        with self._writer_lock:
            con = self._connection
            con.execute("BEGIN TRANSACTION")
            try:
                batch = changes.Batch(con, dict(self._buckets))
                results = batch.apply([p.change for p in pending])
                outcome = batch.outcome()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        for item, (result, error) in zip(pending, results, strict=True):
            item.result, item.error = result, error
        return outcome

    # --- reads (worker threads) ----------------------------------------------------------

    def _cursor(self) -> Any:
        return self._cursors.cursor()

    def _query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return self._cursors.query(sql, params)

    def _read_object(self, bucket: str, key: str) -> ObjectRecord | None:
        rows = self._query(
            f"SELECT {OBJECT_COLUMNS} FROM objects WHERE id = ?", [object_id(bucket, key)]
        )
        return object_from_row(rows[0]) if rows else None

    def _list_objects(self, bucket: str, params: ListParams) -> ListPage:
        """Keys in UTF-8 byte order (DuckDB's binary VARCHAR order, as S3), rolled up into
        CommonPrefixes at the delimiter. A rolled-up prefix is skipped in SQL, so a prefix
        holding a million keys costs one query, not a million rows."""
        prefix, delimiter, wanted = params.prefix, params.delimiter, params.max_keys
        if wanted == 0:
            return ListPage((), (), False, None)
        cursor = params.after
        if delimiter and common_prefix(cursor, prefix, delimiter) == cursor:
            cursor += AFTER_ALL  # resuming after a CommonPrefix: skip everything under it
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
                common = common_prefix(key, prefix, delimiter) if delimiter else None
                if common is not None:
                    prefixes.append(common)
                    last = common
                    cursor = common + AFTER_ALL
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


def _fail(batch: list[_Pending], message: str, cause: BaseException | None = None) -> None:
    error = InternalError(message)
    error.__cause__ = cause
    for pending in batch:
        if pending.error is None:
            pending.error = error


def common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    """The CommonPrefix `key` rolls up into under `prefix` and `delimiter`, if any."""
    if not key.startswith(prefix):
        return None
    index = key.find(delimiter, len(prefix))
    if index < 0:
        return None
    return key[: index + len(delimiter)]
