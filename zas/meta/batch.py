"""The changes the metadata writer applies, and how one batch of them becomes one transaction.

Every change is a small value with an `apply(batch)` method that runs in the writer's worker
thread inside the open transaction. Object rows are staged in an overlay and written with
one columnar statement at the end (DuckDB pays ~3 ms per statement, almost nothing per row);
uploads and parts are rarer and written as they come. A change that breaks an S3 rule raises
the S3 error for its own request only; the rest of the batch commits.

The rows a batch touches are taken out of the table when it starts (`DELETE ... RETURNING`:
one statement reads the current rows and clears their place) and written back, changed or
not, by the final INSERT: three statements per batch besides BEGIN/COMMIT became two. A
batch of one key uses the single-row forms of both, which DuckDB runs faster.

Blob bookkeeping: every digest a change stops referring to becomes a candidate; after all
changes, one query keeps the candidates no row refers to any more — the orphans.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import attrs

from zas.meta.records import BucketRecord, ObjectRecord, PartRecord, Tags, UploadRecord
from zas.meta.rows import (
    OBJECT_COLUMNS,
    PART_COLUMNS,
    UPLOAD_COLUMNS,
    object_from_row,
    object_id,
    objects_insert,
    part_from_row,
    part_to_row,
    upload_to_row,
)
from zas.protocol.conditions import Preconditions, check_copy_source, check_write
from zas.protocol.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from zas.protocol.operations import ObjectMetadata

ObjectKey = tuple[str, str]


@attrs.define
class BatchOutcome:
    # (bucket, key) -> row after the batch (None: absent), for the read cache.
    objects: dict[ObjectKey, ObjectRecord | None]
    buckets_created: list[BucketRecord]
    buckets_deleted: list[str]
    orphans: list[str]
    # bucket -> [objects, bytes] change, and the change in open multipart uploads (metrics).
    usage: dict[str, list[int]] = attrs.field(factory=dict)
    uploads: int = 0


class Batch:
    """One transaction's worth of changes (worker thread)."""

    def __init__(self, con: Any, buckets: dict[str, BucketRecord]) -> None:
        self.con = con
        self.buckets = buckets
        # Every key the batch has looked at -> its row as of now (None: no object).
        self.overlay: dict[ObjectKey, ObjectRecord | None] = {}
        # Keys whose table row differs from the overlay until the next flush: taken out of
        # the table by `_take_objects`, or replaced by a change.
        self.pending: set[ObjectKey] = set()
        # Keys an earlier flush of this batch wrote back (the table holds their row again).
        self.written: set[ObjectKey] = set()
        self.candidates: set[str] = set()
        self.created: list[BucketRecord] = []
        self.deleted: list[str] = []
        self.usage: dict[str, list[int]] = {}
        self.uploads = 0

    def apply(self, changes: list[Any]) -> list[tuple[Any, BaseException | None]]:
        self._take_objects([key for change in changes for key in change.object_keys()])
        results: list[tuple[Any, BaseException | None]] = []
        for change in changes:
            try:
                results.append((change.apply(self), None))
            except Exception as exc:  # an S3 rule broken by this change alone
                results.append((None, exc))
        self.flush_objects()
        return results

    def outcome(self) -> BatchOutcome:
        return BatchOutcome(
            dict(self.overlay),
            self.created,
            self.deleted,
            self._orphans(),
            self.usage,
            self.uploads,
        )

    # --- helpers for changes -------------------------------------------------------------

    def require_bucket(self, name: str) -> None:
        if name not in self.buckets:
            raise NoSuchBucket(resource=f"/{name}", BucketName=name)

    def current(self, key: ObjectKey) -> ObjectRecord | None:
        if key not in self.overlay:
            self._take_objects([key])
        return self.overlay[key]

    def replace(self, key: ObjectKey, record: ObjectRecord | None) -> ObjectRecord | None:
        previous = self.current(key)
        usage = self.usage.setdefault(key[0], [0, 0])
        if previous is not None:
            kept = {blob.sha256 for blob in record.blobs} if record is not None else set()
            self.candidates.update(b.sha256 for b in previous.blobs if b.sha256 not in kept)
            usage[0] -= 1
            usage[1] -= previous.size
        if record is not None:
            usage[0] += 1
            usage[1] += record.size
        self.overlay[key] = record
        self.pending.add(key)
        return previous

    def forget_bucket(self, name: str) -> None:
        """The bucket's rows were deleted from the table by SQL: the overlay follows."""
        for key in [k for k in self.overlay if k[0] == name]:
            self.overlay[key] = None
            self.pending.discard(key)
            self.written.discard(key)

    def require_upload(self, upload_id: str, bucket: str, key: str) -> None:
        rows = self.con.execute(
            "SELECT bucket, key FROM uploads WHERE upload_id = ?", [upload_id]
        ).fetchall()
        if not rows or rows[0] != (bucket, key):
            raise NoSuchUpload(resource=f"/{bucket}/{key}", UploadId=upload_id)

    def drop_upload(self, upload_id: str, keep: Collection[str] = ()) -> list[PartRecord]:
        parts = [
            part_from_row(row)
            for row in self.con.execute(
                f"SELECT {PART_COLUMNS} FROM upload_parts WHERE upload_id = ?", [upload_id]
            ).fetchall()
        ]
        self.candidates.update(part.sha256 for part in parts if part.sha256 not in keep)
        self.con.execute("DELETE FROM upload_parts WHERE upload_id = ?", [upload_id])
        self.con.execute("DELETE FROM uploads WHERE upload_id = ?", [upload_id])
        self.uploads -= 1
        return parts

    def flush_objects(self) -> None:
        """Write the pending rows back; after it the table agrees with the overlay (changes
        that read the table with SQL call it first)."""
        if not self.pending:
            return
        pending = sorted(self.pending)
        self.pending.clear()
        # Only a key changed again after an earlier flush still has a row in the table.
        stale = [key for key in pending if key in self.written]
        if stale:
            where, parameters = _ids_match([object_id(*key) for key in stale])
            self.con.execute(f"DELETE FROM objects WHERE {where}", parameters)
        present = [key for key in pending if self.overlay[key] is not None]
        self.written.difference_update(pending)
        self.written.update(present)
        records = [record for key in present if (record := self.overlay[key])]
        if records:
            self.con.execute(*objects_insert(records))

    def _take_objects(self, keys: list[ObjectKey]) -> None:
        """Read the current rows of `keys` and remove them from the table in one statement;
        `flush_objects` writes them back (DuckDB's INSERT OR REPLACE measured slower than a
        delete and a plain insert, and a separate SELECT costs a statement more)."""
        wanted = sorted(set(keys) - set(self.overlay))
        if not wanted:
            return
        where, parameters = _ids_match([object_id(*key) for key in wanted])
        rows = self.con.execute(
            f"DELETE FROM objects WHERE {where} RETURNING {OBJECT_COLUMNS}", parameters
        ).fetchall()
        for key in wanted:
            self.overlay[key] = None
        for row in rows:
            record = object_from_row(row)
            key = (record.bucket, record.key)
            self.overlay[key] = record
            self.pending.add(key)

    def _orphans(self) -> list[str]:
        if not self.candidates:
            return []
        # Multipart objects keep their blobs in a list column; single-blob objects in sha256.
        rows = self.con.execute(
            """
            WITH candidates AS (SELECT unnest(?::VARCHAR[]) AS digest)
            SELECT digest FROM candidates WHERE digest IN (
                SELECT sha256 FROM objects WHERE part_digests IS NULL
                UNION ALL
                SELECT unnest(part_digests) FROM objects WHERE part_digests IS NOT NULL
                UNION ALL
                SELECT sha256 FROM upload_parts
            )
            """,
            [sorted(self.candidates)],
        ).fetchall()
        return sorted(self.candidates - {row[0] for row in rows})


def _ids_match(ids: list[str]) -> tuple[str, list[Any]]:
    """A WHERE clause matching these object ids, and its parameters. One id gets `id = ?`:
    a batch of one change is the common case at low concurrency, and DuckDB runs the plain
    comparison in 2.5 ms where the list form costs 3.7 (BENCHMARKS.md, session 7)."""
    if len(ids) == 1:
        return "id = ?", ids
    return "id IN (SELECT unnest(?::VARCHAR[]))", [ids]


# --- changes ---------------------------------------------------------------------------------


@attrs.frozen
class PutObjectRow:
    record: ObjectRecord
    preconditions: Preconditions = attrs.field(factory=Preconditions)

    def object_keys(self) -> list[ObjectKey]:
        return [(self.record.bucket, self.record.key)]

    def apply(self, batch: Batch) -> ObjectRecord | None:
        batch.require_bucket(self.record.bucket)
        key = (self.record.bucket, self.record.key)
        current = batch.current(key)
        # Decided here, in the one writer, so two conditional PUTs cannot both win.
        check_write(self.preconditions, current.quoted_etag if current else None)
        return batch.replace(key, self.record)


@attrs.frozen
class CopyObjectRow:
    """CopyObject decided in the writer: the source row is read, and its copy-source
    conditions checked, in the transaction that writes the copy. The copy shares the source's
    blobs; had the source been read outside, a delete of the source committed in between
    would have let its blobs be collected while the copy was queued to point at them."""

    source_bucket: str
    source_key: str
    source_preconditions: Preconditions
    bucket: str
    key: str
    last_modified: datetime
    metadata: ObjectMetadata | None  # None: the source's (x-amz-metadata-directive COPY)
    tags: Tags | None  # None: the source's
    preconditions: Preconditions

    def object_keys(self) -> list[ObjectKey]:
        return [(self.source_bucket, self.source_key), (self.bucket, self.key)]

    def apply(self, batch: Batch) -> ObjectRecord:
        batch.require_bucket(self.source_bucket)
        source = batch.current((self.source_bucket, self.source_key))
        if source is None:
            resource = f"/{self.source_bucket}/{self.source_key}"
            raise NoSuchKey(resource=resource, Key=self.source_key)
        check_copy_source(self.source_preconditions, source.quoted_etag, source.last_modified)
        record = attrs.evolve(
            source,
            bucket=self.bucket,
            key=self.key,
            last_modified=self.last_modified,
            metadata=source.metadata if self.metadata is None else self.metadata,
            tags=source.tags if self.tags is None else self.tags,
        )
        PutObjectRow(record, self.preconditions).apply(batch)
        return record


@attrs.frozen
class DeleteObjectRow:
    bucket: str
    key: str

    def object_keys(self) -> list[ObjectKey]:
        return [(self.bucket, self.key)]

    def apply(self, batch: Batch) -> ObjectRecord | None:
        batch.require_bucket(self.bucket)
        if batch.current((self.bucket, self.key)) is None:
            return None
        return batch.replace((self.bucket, self.key), None)


@attrs.frozen
class SetObjectTags:
    bucket: str
    key: str
    tags: Tags

    def object_keys(self) -> list[ObjectKey]:
        return [(self.bucket, self.key)]

    def apply(self, batch: Batch) -> ObjectRecord:
        batch.require_bucket(self.bucket)
        current = batch.current((self.bucket, self.key))
        if current is None:
            raise NoSuchKey(resource=f"/{self.bucket}/{self.key}", Key=self.key)
        updated = attrs.evolve(current, tags=self.tags)
        batch.replace((self.bucket, self.key), updated)
        return updated


@attrs.frozen
class SetObjectSha256:
    """Record the whole-object SHA-256 of a multipart object once it has been computed,
    unless the object was replaced in the meantime (its ETag changed)."""

    bucket: str
    key: str
    etag: str
    sha256: str

    def object_keys(self) -> list[ObjectKey]:
        return [(self.bucket, self.key)]

    def apply(self, batch: Batch) -> bool:
        current = batch.current((self.bucket, self.key))
        if current is None or current.etag != self.etag or current.sha256 is not None:
            return False
        batch.replace((self.bucket, self.key), attrs.evolve(current, sha256=self.sha256))
        return True


@attrs.frozen
class Release:
    """Re-check digests that an abandoned write may have left unreferenced."""

    digests: tuple[str, ...]

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> None:
        batch.candidates.update(self.digests)


@attrs.frozen
class JournalApplied:
    """Records, in the transaction that applies them, that DuckDB holds the metadata
    journal's entries up to `seq` (zas.meta.journal)."""

    seq: int

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> None:
        batch.con.execute("UPDATE journal_state SET applied_seq = ?", [self.seq])


@attrs.frozen
class Barrier:
    """Changes nothing: once it is done, DuckDB holds every change committed before it
    (the writer applies the journaled rows first), so SQL reads see them."""

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> None:
        pass


@attrs.frozen
class CreateBucketRow:
    record: BucketRecord

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> BucketRecord:
        name = self.record.name
        if name in batch.buckets:
            # Single-tenant for now: every bucket belongs to the caller (root).
            raise BucketAlreadyOwnedByYou(resource=f"/{name}", BucketName=name)
        batch.con.execute(
            "INSERT INTO buckets VALUES (?, ?, ?, ?)",
            [name, self.record.created, self.record.region, self.record.owner],
        )
        batch.buckets[name] = self.record
        batch.created.append(self.record)
        return self.record


@attrs.frozen
class DeleteBucketRow:
    name: str
    force: bool

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> None:
        batch.require_bucket(self.name)
        batch.flush_objects()  # the checks below read the table
        con = batch.con
        if self.force:
            for row in con.execute(
                f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?", [self.name]
            ).fetchall():
                record = object_from_row(row)
                batch.candidates.update(blob.sha256 for blob in record.blobs)
            con.execute("DELETE FROM objects WHERE bucket = ?", [self.name])
            batch.forget_bucket(self.name)
            for (upload_id,) in con.execute(
                "SELECT upload_id FROM uploads WHERE bucket = ?", [self.name]
            ).fetchall():
                batch.drop_upload(upload_id)
        elif con.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", [self.name]).fetchall():
            raise BucketNotEmpty(resource=f"/{self.name}", BucketName=self.name)
        else:
            # S3 lets a bucket with only unfinished uploads be deleted; the uploads go too.
            for (upload_id,) in con.execute(
                "SELECT upload_id FROM uploads WHERE bucket = ?", [self.name]
            ).fetchall():
                batch.drop_upload(upload_id)
        con.execute("DELETE FROM buckets WHERE name = ?", [self.name])
        # A bucket created later under the same name must not inherit the old policies, keys
        # or evidence.
        for table in (
            "bucket_policies",
            "verification_policies",
            "trusted_keys",
            "sbom_components",
            "evidence",
        ):
            con.execute(f"DELETE FROM {table} WHERE bucket = ?", [self.name])
        del batch.buckets[self.name]
        batch.deleted.append(self.name)


@attrs.frozen
class CreateUploadRow:
    record: UploadRecord

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> UploadRecord:
        batch.require_bucket(self.record.bucket)
        batch.con.execute(
            f"INSERT INTO uploads ({UPLOAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            upload_to_row(self.record),
        )
        batch.uploads += 1
        return self.record


@attrs.frozen
class PutPartRow:
    bucket: str
    key: str
    part: PartRecord

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> None:
        batch.require_upload(self.part.upload_id, self.bucket, self.key)
        previous = batch.con.execute(
            "SELECT sha256 FROM upload_parts WHERE upload_id = ? AND part_number = ?",
            [self.part.upload_id, self.part.part_number],
        ).fetchall()
        if previous and previous[0][0] != self.part.sha256:
            batch.candidates.add(previous[0][0])
        batch.con.execute(
            f"INSERT OR REPLACE INTO upload_parts ({PART_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            part_to_row(self.part),
        )


@attrs.frozen
class AbortUploadRow:
    bucket: str
    key: str
    upload_id: str

    def object_keys(self) -> list[ObjectKey]:
        return []

    def apply(self, batch: Batch) -> None:
        batch.require_upload(self.upload_id, self.bucket, self.key)
        batch.drop_upload(self.upload_id)


@attrs.frozen
class CompleteUploadRow:
    """The object row replaces the upload atomically: parts it uses become the object's,
    parts it leaves out become orphan candidates."""

    upload_id: str
    record: ObjectRecord
    preconditions: Preconditions = attrs.field(factory=Preconditions)

    def object_keys(self) -> list[ObjectKey]:
        return [(self.record.bucket, self.record.key)]

    def apply(self, batch: Batch) -> ObjectRecord | None:
        batch.require_upload(self.upload_id, self.record.bucket, self.record.key)
        previous = PutObjectRow(self.record, self.preconditions).apply(batch)
        batch.drop_upload(self.upload_id, keep={part.sha256 for part in self.record.parts})
        return previous
