"""The metadata journal: object rows that are durable before DuckDB holds them.

A plain PUT's row is appended here with one `fdatasync` for the whole group of requests, and
the requests are answered; `zas.meta.store` applies the journaled rows to DuckDB behind them,
a few hundred per transaction. Measured at 32 connections (BENCHMARKS.md, session 8): DuckDB
charges ~10-15 ms of CPU per transaction whatever it holds, and waiting for one per group of
~16 requests had kept small PUTs at ~210/s.

The file is a sequence of frames, `length (4 bytes) crc32 (4)` then a JSON entry
`{"seq": n, "objects": [row, ...]}` (rows as `zas.meta.rows.object_to_row` makes them). An
entry is applied once: DuckDB records the last applied `seq` in the same transaction
(`journal_state`), so entries at or below it are skipped when the journal is replayed at
start-up. A frame cut short or corrupted by a crash is the end of the journal: its requests
were never answered. Only this module knows the file format.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from zas.meta.records import ObjectRecord
from zas.meta.rows import object_from_row, object_to_row

_FRAME = struct.Struct("!II")
_LAST_MODIFIED = 5  # the row's position of `last_modified` (zas.meta.rows.OBJECT_COLUMNS)


@attrs.frozen
class JournalEntry:
    seq: int
    records: tuple[ObjectRecord, ...]


def encode(entry: JournalEntry) -> bytes:
    """One frame holding `entry`."""
    rows = []
    for record in entry.records:
        row = list(object_to_row(record))
        row[_LAST_MODIFIED] = row[_LAST_MODIFIED].isoformat()
        rows.append(row)
    payload = json.dumps({"seq": entry.seq, "objects": rows}, separators=(",", ":")).encode()
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def decode(data: bytes) -> tuple[list[JournalEntry], int]:
    """The entries of a journal's bytes, and where the last whole frame ends."""
    entries: list[JournalEntry] = []
    offset = 0
    while offset + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, offset)
        start, end = offset + _FRAME.size, offset + _FRAME.size + length
        payload = data[start:end]
        if end > len(data) or zlib.crc32(payload) != crc:
            break
        entries.append(_entry(json.loads(payload)))
        offset = end
    return entries, offset


def _entry(document: dict[str, Any]) -> JournalEntry:
    records = []
    for row in document["objects"]:
        row[_LAST_MODIFIED] = datetime.fromisoformat(row[_LAST_MODIFIED])
        records.append(object_from_row(tuple(row)))
    return JournalEntry(int(document["seq"]), tuple(records))


class Journal:
    """The journal file. Its methods do blocking I/O: call them from a worker thread (or
    before the server starts)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        created = not path.exists()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if created:
            _sync_directory(path.parent)
        self._size = os.fstat(self._fd).st_size

    def read(self) -> list[JournalEntry]:
        """Every whole entry; a torn tail is cut off so appends follow the last whole frame."""
        data = os.pread(self._fd, self._size, 0)
        entries, end = decode(data)
        if end < self._size:
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
            self._size = end
        return entries

    def append(self, entry: JournalEntry) -> None:
        """Append `entry` durably. If it fails, the file is cut back to where it was, so a
        later entry never follows a torn one (which replay would stop at)."""
        frame = encode(entry)
        try:
            written = 0
            while written < len(frame):
                written += os.pwrite(self._fd, frame[written:], self._size + written)
            os.fdatasync(self._fd)
        except OSError:
            os.ftruncate(self._fd, self._size)
            raise
        self._size += len(frame)

    def reset(self) -> None:
        """Empty the journal once DuckDB holds all of it. Not synced: if a crash loses the
        truncation, replay skips the entries by their `seq`."""
        os.ftruncate(self._fd, 0)
        self._size = 0

    def close(self) -> None:
        os.close(self._fd)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
