"""The blob process: its request handling in this process, then the real process behind
LocalBlobStore (the conformance suite, a crash, fallback to worker threads)."""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from zas.storage import blob_wire
from zas.storage.base import StorageError
from zas.storage.blob_process import handle
from zas.storage.blob_wire import Reply, ReplyReader
from zas.storage.conformance import check_blob_store
from zas.storage.layout import blob_path
from zas.storage.local import LocalBlobStore


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def bodies_in_fan_out(prefix: str, count: int) -> list[bytes]:
    found = [
        body
        for body in (f"grouped {n}".encode() for n in range(100_000))
        if sha(body).startswith(prefix)
    ][:count]
    assert len(found) == count
    return found


class Dirs:
    def __init__(self, root: Path) -> None:
        self.blob_dir = root / "blobs" / "sha256"
        self.tmp_dir = root / "tmp"
        self.blob_dir.mkdir(parents=True)
        self.tmp_dir.mkdir()

    def handle(self, *frames: bytes, fsync: bool = True) -> list[Reply]:
        requests = blob_wire.RequestReader().feed(b"".join(frames))
        return ReplyReader().feed(handle(requests, str(self.blob_dir), str(self.tmp_dir), fsync))

    def path(self, digest: str) -> Path:
        return Path(blob_path(str(self.blob_dir), digest))


def store(request_id: int, body: bytes) -> bytes:
    return blob_wire.store_request(request_id, sha(body), body)


def test_stores_land_complete_under_their_content_address(tmp_path: Path) -> None:
    dirs = Dirs(tmp_path)
    bodies = [b"one", b"two" * 1000, b""]
    replies = dirs.handle(*(store(n, body) for n, body in enumerate(bodies, 1)))
    assert replies == [Reply(1, None, 0), Reply(2, None, 0), Reply(3, None, 0)]
    for body in bodies:
        assert dirs.path(sha(body)).read_bytes() == body
    assert os.listdir(dirs.tmp_dir) == []


def test_a_group_is_fsynced_file_by_file_and_each_directory_once(
    tmp_path: Path, fsynced: list[str]
) -> None:
    """Durable before the reply: every new file is fsynced before its rename, a new fan-out
    directory's entry in its parent, and the directory holding the group's blobs once."""
    dirs = Dirs(tmp_path)
    bodies = bodies_in_fan_out("cd", 4)
    replies = dirs.handle(*(store(n, body) for n, body in enumerate(bodies)))
    assert [reply.error for reply in replies] == [None] * 4
    temp_files = [path for path in fsynced if path.startswith(str(dirs.tmp_dir))]
    assert len(temp_files) == 4
    assert fsynced.count(str(dirs.blob_dir)) == 1
    assert fsynced.count(str(dirs.blob_dir / "cd")) == 1
    assert fsynced.index(str(dirs.blob_dir)) < fsynced.index(str(dirs.blob_dir / "cd"))


def test_without_fsync_nothing_is_fsynced_and_the_blobs_still_land(
    tmp_path: Path, fsynced: list[str]
) -> None:
    dirs = Dirs(tmp_path)
    assert dirs.handle(store(1, b"unsynced"), fsync=False) == [Reply(1, None, 0)]
    assert dirs.path(sha(b"unsynced")).read_bytes() == b"unsynced"
    assert fsynced == []


def test_identical_content_is_stored_once(tmp_path: Path) -> None:
    dirs = Dirs(tmp_path)
    # Twice in one group, then again in a later one.
    assert dirs.handle(store(1, b"same"), store(2, b"same")) == [
        Reply(1, None, 0),
        Reply(2, None, 0),
    ]
    inode = dirs.path(sha(b"same")).stat().st_ino
    assert dirs.handle(store(3, b"same")) == [Reply(3, None, 0)]
    assert dirs.path(sha(b"same")).stat().st_ino == inode  # kept, not rewritten
    assert os.listdir(dirs.path(sha(b"same")).parent) == [sha(b"same")]
    assert os.listdir(dirs.tmp_dir) == []


def test_deletes_free_bytes_and_report_how_many(tmp_path: Path) -> None:
    dirs = Dirs(tmp_path)
    dirs.handle(store(1, b"a" * 100), store(2, b"b" * 50), store(3, b"kept"))
    digests = [sha(b"a" * 100), sha(b"b" * 50)]
    assert dirs.handle(blob_wire.delete_request(4, digests)) == [Reply(4, None, 150)]
    assert not any(dirs.path(digest).exists() for digest in digests)
    assert dirs.path(sha(b"kept")).exists()
    assert dirs.handle(blob_wire.delete_request(5, digests)) == [Reply(5, None, 0)]


def test_requests_are_answered_in_the_order_asked(tmp_path: Path) -> None:
    """A delete between two stores of the same content sits between them: the second store
    writes the blob again."""
    dirs = Dirs(tmp_path)
    replies = dirs.handle(
        store(1, b"again"),
        blob_wire.delete_request(2, [sha(b"again")]),
        store(3, b"again"),
    )
    assert replies == [Reply(1, None, 0), Reply(2, None, len(b"again")), Reply(3, None, 0)]
    assert dirs.path(sha(b"again")).read_bytes() == b"again"


def test_a_failing_store_reports_an_error_and_leaves_no_file(tmp_path: Path) -> None:
    dirs = Dirs(tmp_path)
    good, bad = b"lands", bodies_in_fan_out("ee", 1)[0]
    # The fan-out directory `ee` cannot be made: a file is in the way. The body is written
    # and fsynced first, so this fails at the rename, after a temp file existed.
    (dirs.blob_dir / "ee").write_bytes(b"not a directory")
    replies = dirs.handle(store(1, bad), store(2, good))
    assert replies[0].request_id == 1 and replies[0].error is not None
    assert "Error" in replies[0].error
    assert replies[1] == Reply(2, None, 0)  # one failure loses only its own blob
    assert dirs.path(sha(good)).read_bytes() == good
    assert os.listdir(dirs.tmp_dir) == []
    assert sorted(os.listdir(dirs.blob_dir)) == sorted([sha(good)[:2], "ee"])


def test_a_store_that_cannot_write_its_temp_file_fails_alone(tmp_path: Path) -> None:
    dirs = Dirs(tmp_path)
    os.rmdir(dirs.tmp_dir)
    (error,) = dirs.handle(store(1, b"nowhere to go"))
    assert error.error is not None and "FileNotFoundError" in error.error
    assert not dirs.path(sha(b"nowhere to go")).exists()


def test_a_malformed_request_is_answered_with_an_error(tmp_path: Path) -> None:
    dirs = Dirs(tmp_path)
    bad = blob_wire._REQUEST.pack(blob_wire.DELETE, 7, 3) + b"abc"
    replies = dirs.handle(bad, store(8, b"fine"))
    assert replies[0].request_id == 7 and replies[0].error is not None
    assert replies[1] == Reply(8, None, 0)


# The real process, behind LocalBlobStore.


@asynccontextmanager
async def running(*roots: Path, fsync: bool = True) -> AsyncIterator[list[LocalBlobStore]]:
    """Stores under `roots`, each with a blob process of its own, stopped on exit."""
    async with trio.open_nursery() as nursery:
        stores = [LocalBlobStore(root, fsync=fsync) for root in roots]
        for each in stores:
            await nursery.start(each.run_blob_process)
        yield stores
        nursery.cancel_scope.cancel()


async def put(store: LocalBlobStore, body: bytes) -> str:
    async with store.open_writer() as writer:
        await writer.write(body)
        return (await writer.commit()).sha256


async def read(store: LocalBlobStore, digest: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(digest)])


def sent(store: LocalBlobStore) -> int:
    assert store.process is not None
    return store.process.requests_sent


@pytest.mark.parametrize("fsync", [True, False], ids=["fsync", "no-fsync"])
def test_the_conformance_suite_passes_with_the_blob_process(tmp_path: Path, fsync: bool) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            stores: list[LocalBlobStore] = []

            async def factory() -> LocalBlobStore:
                store = LocalBlobStore(tmp_path / f"store{len(stores)}", fsync=fsync)
                await nursery.start(store.run_blob_process)
                stores.append(store)
                return store

            await check_blob_store(factory)
            assert all(store.process is not None and store.process.alive for store in stores)
            assert sum(sent(store) for store in stores) > 0, "the process did the work"
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_stored_blob_reads_back_and_deletes_through_the_process(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(tmp_path) as (store,):
            digest = await put(store, b"through the process")
            assert sent(store) == 1
            assert await read(store, digest) == b"through the process"
            assert store.path_of(digest).read_bytes() == b"through the process"
            assert os.listdir(store.tmp_dir) == []
            assert await store.delete([digest]) == len(b"through the process")
            assert sent(store) == 2
            assert await store.size_of(digest) is None

    trio.run(main)


def test_a_store_the_process_cannot_do_fails_with_storage_error(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(tmp_path) as (store,):
            body = bodies_in_fan_out("ee", 1)[0]
            (store.blob_dir / "ee").write_bytes(b"in the way")
            with pytest.raises(StorageError, match="blob process failed"):
                await put(store, body)
            assert store.process is not None and store.process.alive  # one failure, not fatal
            assert await read(store, await put(store, b"next one lands")) == b"next one lands"

    trio.run(main)


def test_large_blobs_do_not_go_through_the_process(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(tmp_path) as (store,):
            body = os.urandom(3 * 1024 * 1024)
            digest = await put(store, body)
            assert sent(store) == 0
            assert await read(store, digest) == body

    trio.run(main)


def test_killed_process_fails_waiting_calls_then_worker_threads_take_over(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with running(tmp_path) as (store,):
            assert store.process is not None and store.process.pid is not None
            pid = store.process.pid
            assert await read(store, await put(store, b"before")) == b"before"
            # Stopped, the process cannot answer: these calls are certainly waiting when it
            # is killed.
            os.kill(pid, signal.SIGSTOP)
            failures: list[BaseException] = []

            async def waiting(body: bytes) -> None:
                try:
                    await put(store, body)
                except StorageError as exc:
                    failures.append(exc)

            async with trio.open_nursery() as nursery:
                for n in range(5):
                    nursery.start_soon(waiting, f"waiting {n}".encode())
                await trio.testing.wait_all_tasks_blocked()  # each sent, awaiting its reply
                assert sent(store) == 6
                os.kill(pid, signal.SIGKILL)
            assert len(failures) == 5
            assert all("exited before it answered" in str(exc) for exc in failures)
            assert not store.process.alive

            # Later commits and deletions fall back to worker threads, and still land.
            digest = await put(store, b"after the crash")
            assert sent(store) == 6
            assert store.path_of(digest).read_bytes() == b"after the crash"
            assert await store.delete([digest]) == len(b"after the crash")
            assert await store.size_of(digest) is None

    trio.run(main)


def test_the_process_exits_when_the_store_stops_using_it(tmp_path: Path) -> None:
    async def main() -> int:
        async with running(tmp_path) as (store,):
            assert store.process is not None and store.process.pid is not None
            await put(store, b"one")
            return store.process.pid

    pid = trio.run(main)
    assert not os.path.exists(f"/proc/{pid}")  # exited and reaped
