"""Local content-addressed blob store: `blobs/sha256/<2 hex>/<64 hex>` under a root folder.

A write streams into `tmp/` on the same filesystem while MD5 (the S3 ETag) and SHA-256 (the
address) are computed, then fsync, rename into place, fsync the directory: a blob is either
absent or complete, even across a crash. Identical content is stored once.

Hashing and file writes run in worker threads, a megabyte at a time, with one buffer in flight
while the next is received: hashlib and os.write release the GIL, so the event loop keeps
answering other requests during a large upload (DESIGN.md: MD5 ~620 MB/s per core). Writeback
to disk is started as each buffer is written (sync_file_range), so the final fsync is short.
Small bodies take a shorter way: hashed on the event loop, then written, fsynced and moved into
place by the blob process (`zas.storage.blob_process`) when the server runs one, else in one
worker-thread hop. Deletions go the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO

import trio

from zas.storage import layout
from zas.storage.base import BlobInfo, BlobNotFound, StorageError
from zas.storage.blob_client import BlobProcessClient
from zas.storage.checksums import Checksummer
from zas.thread_job import ThreadJob

WRITE_BUFFER = 1024 * 1024
READ_CHUNK = 1024 * 1024
# Reads up to this size are tried on the event loop first, from the page cache only.
INLINE_READ = 128 * 1024
# A blob whose whole body arrived in one buffer of at most this size is hashed on the event
# loop (4 KiB: ~15 us; 64 KiB: ~0.15 ms, the longest the loop stalls for it) and written,
# fsynced and moved into place in one worker-thread hop.
INLINE_HASH = 64 * 1024


class LocalBlobStore:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.blob_dir = root / "blobs" / "sha256"
        self.tmp_dir = root / "tmp"
        self.fsync = fsync
        # Cleared if the kernel or filesystem refuses RWF_NOWAIT reads.
        self._inline_reads = hasattr(os, "preadv") and hasattr(os, "RWF_NOWAIT")
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        # Set by `run_blob_process`: small commits and deletions go there while it is alive.
        self.process: BlobProcessClient | None = None

    async def run_blob_process(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Start a blob process for this store (`zas.storage.blob_process`) and use it until it
        exits or this is cancelled; run it in a nursery with `nursery.start`. After it has
        exited, `process` stays set (not alive), and worker threads do its work."""
        process = self.process = BlobProcessClient(
            str(self.blob_dir), str(self.tmp_dir), fsync=self.fsync
        )
        await process.run(task_status=task_status)

    def _process(self) -> BlobProcessClient | None:
        process = self.process
        return process if process is not None and process.alive else None

    def path_of(self, sha256: str) -> Path:
        if not layout.is_digest(sha256):
            raise BlobNotFound(f"not a SHA-256 digest: {sha256[:80]!r}")
        return self.blob_dir / sha256[:2] / sha256

    @asynccontextmanager
    async def open_writer(self, checksums: Collection[str] = ()) -> AsyncIterator[LocalBlobWriter]:
        path = self.tmp_dir / f"{uuid.uuid4().hex}.part"
        writer = LocalBlobWriter(self, path, Checksummer.for_algorithms(checksums))
        try:
            yield writer
        finally:
            with trio.CancelScope(shield=True):
                # A buffer may still be in a worker thread; let it finish before the fd closes.
                with contextlib.suppress(Exception):
                    await writer.wait_pending()
                if writer.needs_cleanup():
                    await trio.to_thread.run_sync(writer.cleanup)

    async def read(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self.path_of(sha256)
        if self._inline_reads and end is not None and end - start <= INLINE_READ:
            cached = self._read_if_cached(path, sha256, start, end)
            if cached is not None:
                if cached:
                    yield cached
                return
        first_size = READ_CHUNK if end is None else min(READ_CHUNK, end - start)

        def open_and_read() -> tuple[BinaryIO, bytes]:
            # Opening and the first read share one worker-thread hop: a small object is
            # then served with a single one.
            handle = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the generator
            if start:
                handle.seek(start)
            return handle, handle.read(first_size)

        try:
            handle, first = await trio.to_thread.run_sync(open_and_read)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        # The next chunk is read in a worker thread while the caller sends this one: a large
        # GET then costs max(read, send) per MiB instead of their sum.
        ahead: ThreadJob[bytes] | None = None
        try:
            chunk, asked = first, first_size
            remaining = None if end is None else end - start
            while True:
                if remaining is not None:
                    remaining -= len(chunk)
                at_end = len(chunk) < asked  # a short read of a regular file: end of file
                more = not at_end and (remaining is None or remaining > 0)
                if more:
                    asked = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                    ahead = ThreadJob(functools.partial(handle.read, asked))
                if chunk:
                    yield chunk
                if not more:
                    if remaining:  # the file ended before the range did
                        raise StorageError(f"blob {sha256} is shorter than expected")
                    return
                assert ahead is not None
                chunk = await ahead.wait()  # if cancelled, still `ahead` for the `finally`
                ahead = None
        finally:
            if ahead is not None:  # abandoned mid-stream: the read must end before the close
                with trio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await ahead.wait()
            handle.close()

    def _read_if_cached(self, path: Path, sha256: str, start: int, end: int) -> bytes | None:
        """A small range served on the event loop when the page cache holds every byte of it
        (preadv2 with RWF_NOWAIT fails rather than wait for the disk): a GET of a small,
        recently used object then costs no worker-thread round trip, which measured as a
        large share of a small GET. None: not all cached, or the blob is shorter than the
        range; the worker-thread path decides."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        try:
            if os.fstat(fd).st_size < end:
                return None
            if end <= start:
                return b""
            buffer = bytearray(end - start)
            try:
                count = os.preadv(fd, [buffer], start, os.RWF_NOWAIT)
            except BlockingIOError:
                return None
            except OSError:  # EOPNOTSUPP & co: this kernel or filesystem can't; stop trying
                self._inline_reads = False
                return None
            return bytes(buffer) if count == len(buffer) else None  # else partly cached
        finally:
            os.close(fd)

    async def size_of(self, sha256: str) -> int | None:
        try:
            stat = await trio.to_thread.run_sync(os.stat, self.path_of(sha256))
        except (FileNotFoundError, BlobNotFound):
            return None
        return stat.st_size

    def delete_now(self, sha256: str) -> int:
        return layout.delete_blob(str(self.path_of(sha256)))

    async def delete(self, digests: Sequence[str]) -> int:
        """Delete blobs, off the event loop; the bytes freed."""
        for digest in digests:
            self.path_of(digest)  # not a digest: BlobNotFound before anything is deleted
        process = self._process()
        if process is not None:
            try:
                return await process.delete(digests)
            except StorageError:
                pass  # deleting is idempotent: a worker thread finishes the job
        return await trio.to_thread.run_sync(lambda: sum(self.delete_now(d) for d in digests))

    async def list_digests(self) -> list[str]:
        def scan() -> list[str]:
            found: list[str] = []
            for fan_out in os.scandir(self.blob_dir):
                if fan_out.is_dir():
                    found.extend(entry.name for entry in os.scandir(fan_out.path))
            return found

        return await trio.to_thread.run_sync(scan)

    async def remove_temporaries(self) -> int:
        def remove() -> int:
            count = 0
            for entry in os.scandir(self.tmp_dir):
                os.unlink(entry.path)
                count += 1
            return count

        return await trio.to_thread.run_sync(remove)

    def _sync_dir(self, directory: Path) -> None:
        if self.fsync:
            layout.sync_dir(str(directory))


def _load_sync_file_range() -> Callable[[int, int, int], None]:
    """Linux sync_file_range(SYNC_FILE_RANGE_WRITE): start writeback without waiting for it.
    Elsewhere (or if libc lacks it) a no-op: the final fsync still makes the blob durable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return lambda fd, offset, length: None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    sync_file_range_write = 2

    def start(fd: int, offset: int, length: int) -> None:
        function(fd, offset, length, sync_file_range_write)

    return start


start_writeback = _load_sync_file_range()


class LocalBlobWriter:
    """One blob being written. Created by `LocalBlobStore.open_writer`."""

    def __init__(self, store: LocalBlobStore, path: Path, extra: Checksummer | None = None) -> None:
        self._store = store
        self._extra = extra
        self._path = path
        # Opened by the first write, in its worker thread (one hop fewer for small blobs).
        self._fd: int | None = None
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._size = 0  # bytes hashed
        self._written = 0  # bytes in the temp file
        self._buffer = bytearray()
        self._pending: ThreadJob[None] | None = None
        self._info: BlobInfo | None = None
        self._committed = False
        # Set once a temp file may exist (opened by a worker thread).
        self._touched = False
        # A small body hashed on the event loop, not yet on disk (see INLINE_HASH).
        self._small: bytearray | None = None

    def _absorb(self, buffer: bytearray) -> None:
        # Runs in a worker thread: hashing and write release the GIL on large buffers.
        self._hash(buffer)
        self._write(buffer)

    def _hash(self, buffer: bytearray) -> None:
        self._md5.update(buffer)
        self._sha256.update(buffer)
        if self._extra is not None:
            self._extra.update(buffer)
        self._size += len(buffer)

    def _write(self, buffer: bytearray) -> None:
        view = memoryview(buffer)
        if self._fd is None:
            self._touched = True
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self._store.fsync:
            # Start writing these pages to disk now, so the final fsync has little left to do
            # and the disk works while the network delivers the rest.
            start_writeback(self._fd, self._written, len(buffer))
        self._written += len(buffer)

    async def write(self, data: bytes) -> None:
        if self._info is not None:
            raise StorageError("write after finish")
        self._buffer += data
        if len(self._buffer) >= WRITE_BUFFER:
            await self._hand_off()

    async def _hand_off(self) -> None:
        """Give the buffer to a worker thread and return at once: the next megabyte is
        received while this one is hashed and written (one buffer in flight at most; hashing
        and writing in two threads of their own measured no faster). The buffer itself is
        handed over: copying it to bytes cost ~7% of the event loop's time in a large PUT."""
        await self.wait_pending()
        buffer, self._buffer = self._buffer, bytearray()
        self._pending = ThreadJob(functools.partial(self._absorb, buffer))

    async def wait_pending(self) -> None:
        """Wait for the buffer in the worker thread; raise what the thread raised. The job is
        forgotten only once it has succeeded: a cancelled wait leaves it pending, so that
        `open_writer`'s cleanup waits for the thread before it closes and deletes the file
        the thread writes to."""
        if self._pending is not None:
            await self._pending.wait()
            self._pending = None

    async def finish(self) -> BlobInfo:
        if self._info is not None:
            return self._info
        await self.wait_pending()
        buffer, self._buffer = self._buffer, bytearray()  # handed over, not copied
        if self._fd is None and not self._touched and len(buffer) <= INLINE_HASH:
            # The whole body is here and small: hash it now, write it in `commit`'s hop.
            self._hash(buffer)
            self._small = buffer
        else:
            # The last buffer and the fsync share one worker-thread hop.
            await trio.to_thread.run_sync(self._absorb_and_sync, buffer)
        self._info = BlobInfo(
            self._sha256.hexdigest(),
            self._md5.hexdigest(),
            self._size,
            self._extra.digests() if self._extra is not None else (),
        )
        return self._info

    async def commit(self) -> BlobInfo:
        info = await self.finish()
        small, self._small = self._small, None
        process = self._store._process()
        if small is not None and process is not None:
            await process.store(info.sha256, small)
        else:
            await trio.to_thread.run_sync(self._store_or_place, small, info.sha256)
        self._committed = True
        return info

    def _store_or_place(self, small: bytearray | None, sha256: str) -> None:
        """Worker thread: a small body held in memory is stored like the blob process would
        (not written if its content is stored already); a finished temp file is moved into
        place."""
        store = self._store
        if small is not None:
            (error,) = layout.store_small(
                str(store.blob_dir), str(store.tmp_dir), [(sha256, small)], store.fsync
            )
            if error is not None:
                raise error
            return
        self._close_fd()
        directory = layout.place(
            str(self._path), str(store.path_of(sha256)), str(store.blob_dir), store.fsync
        )
        if directory is not None and store.fsync:
            layout.sync_dir(directory)

    def _absorb_and_sync(self, buffer: bytearray) -> None:
        if buffer or self._fd is None:  # an empty blob still needs its (empty) file
            self._absorb(buffer)
        if self._store.fsync:
            assert self._fd is not None
            os.fsync(self._fd)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def needs_cleanup(self) -> bool:
        """Whether `cleanup` has anything to do (it costs a worker-thread hop)."""
        return self._fd is not None or (self._touched and not self._committed)

    def cleanup(self) -> None:
        self._close_fd()
        if not self._committed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
