"""The local content-addressed store: the shared conformance suite plus its on-disk layout."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import trio

from zas.storage.base import BlobNotFound, StorageError
from zas.storage.conformance import CHECKS, check_blob_store
from zas.storage.local import LocalBlobStore


def test_local_store_passes_the_blob_store_conformance_suite(tmp_path: Path) -> None:
    counter = iter(range(1000))

    async def factory() -> LocalBlobStore:
        return LocalBlobStore(tmp_path / f"store{next(counter)}")

    trio.run(check_blob_store, factory)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_each_conformance_check_holds_without_fsync(tmp_path: Path, check: object) -> None:
    async def run() -> None:
        await check(LocalBlobStore(tmp_path, fsync=False))  # type: ignore[operator]

    trio.run(run)


async def put(store: LocalBlobStore, body: bytes) -> str:
    """Store `body` as one blob; its digest."""
    async with store.open_writer() as writer:
        await writer.write(body)
        return (await writer.commit()).sha256


def bodies_in_fan_out(prefix: str, count: int) -> list[bytes]:
    """`count` distinct bodies whose SHA-256 starts with `prefix` (one fan-out directory)."""
    found = [
        body
        for body in (f"fan-out {n}".encode() for n in range(200_000))
        if hashlib.sha256(body).hexdigest().startswith(prefix)
    ][:count]
    assert len(found) == count
    return found


def test_blob_lives_at_its_sha256_address(tmp_path: Path) -> None:
    digest = trio.run(put, LocalBlobStore(tmp_path), b"addressed by content")
    expected = hashlib.sha256(b"addressed by content").hexdigest()
    assert digest == expected
    path = tmp_path / "blobs" / "sha256" / expected[:2] / expected
    assert path.read_bytes() == b"addressed by content"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_concurrent_first_blobs_of_one_fan_out_directory_all_land(tmp_path: Path) -> None:
    """Writers racing to create the same fan-out directory all land, whoever creates it.
    (A variant that renamed first and created the directory only when the rename failed
    answered 500s under PUT load: its existence check raced with the other creator.)"""
    bodies = bodies_in_fan_out("00", 24)
    digests = sorted(hashlib.sha256(body).hexdigest() for body in bodies)

    async def put_all(store: LocalBlobStore) -> list[str]:
        landed: list[str] = []

        async def one(body: bytes) -> None:
            landed.append(await put(store, body))

        async with trio.open_nursery() as nursery:
            for body in bodies:
                nursery.start_soon(one, body)
        return landed

    for attempt in range(5):  # the race needs two threads in the same few microseconds
        root = tmp_path / f"store{attempt}"
        assert sorted(trio.run(put_all, LocalBlobStore(root))) == digests
        assert sorted(os.listdir(root / "blobs" / "sha256" / "00")) == digests


def test_a_new_fan_out_directory_is_made_durable_in_its_parent(
    tmp_path: Path, fsynced: list[str]
) -> None:
    """A crash must not lose the directory entry that leads to a durable blob: the parent
    is fsynced when a fan-out directory is created, and not for later blobs in it."""
    store = LocalBlobStore(tmp_path)
    first, second = bodies_in_fan_out("ab", 2)

    trio.run(put, store, first)
    parent = str(tmp_path / "blobs" / "sha256")
    fan_out = f"{parent}/ab"
    assert fsynced.count(parent) == 1
    assert fsynced.index(parent) < fsynced.index(fan_out)
    fsynced.clear()
    trio.run(put, store, second)
    assert parent not in fsynced
    assert fan_out in fsynced


def test_leftover_temp_files_are_removed_on_request(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    (tmp_path / "tmp" / "crashed-upload.part").write_bytes(b"partial")
    assert trio.run(store.remove_temporaries) == 1
    assert os.listdir(tmp_path / "tmp") == []


def test_non_digest_names_are_never_paths(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert trio.run(store.size_of, "../../etc/passwd") is None


@pytest.mark.parametrize("inline", [True, False], ids=["page-cache-on-loop", "worker-thread"])
def test_small_reads_give_the_same_bytes_on_either_read_path(tmp_path: Path, inline: bool) -> None:
    store = LocalBlobStore(tmp_path)
    data = bytes(range(256)) * 40  # 10 KiB: small enough for the event-loop path

    async def main() -> None:
        async with store.open_writer() as writer:
            await writer.write(data)
            digest = (await writer.commit()).sha256
        store._inline_reads = inline

        async def read(start: int = 0, end: int | None = None) -> bytes:
            return b"".join([chunk async for chunk in store.read(digest, start, end)])

        assert await read() == data
        assert await read(100, 200) == data[100:200]
        assert await read(len(data) - 1) == data[-1:]
        assert await read(5, 5) == b""

        # A blob shortened behind the store's back is an error on both paths, never a
        # silently short body.
        store.path_of(digest).write_bytes(data[:1000])
        with pytest.raises(StorageError):
            await read(0, len(data))
        with pytest.raises(StorageError):
            await read(2000, 3000)
        assert await read() == data[:1000]  # open-ended reads stop at the end of the file

    trio.run(main)


def test_a_missing_blob_is_not_found_on_the_event_loop_path(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    async def main() -> None:
        with pytest.raises(BlobNotFound):
            async for _ in store.read("0" * 64):
                pass

    trio.run(main)


def test_a_write_cancelled_while_a_buffer_is_in_a_worker_thread_leaves_no_temp_file(
    tmp_path: Path,
) -> None:
    """Cancelled while waiting for the previous buffer's worker thread (an upload still running
    when a shutdown's grace period ends), the writer must still wait for that thread before it
    cleans up: the thread creates and writes the temp file, so a cleanup that ran first would
    leave the file behind (or close a descriptor the thread was writing to)."""
    store = LocalBlobStore(tmp_path, fsync=False)
    megabyte = os.urandom(1024 * 1024)

    async def cancelled_upload() -> None:
        with trio.CancelScope() as scope:
            async with store.open_writer() as writer:
                await writer.write(megabyte)  # a full buffer: handed to a worker thread
                scope.cancel()
                await writer.write(megabyte)  # waits for that thread: cancelled here
        assert scope.cancelled_caught

    async def main() -> None:
        for _ in range(20):
            await cancelled_upload()

    trio.run(main)
    assert list((tmp_path / "tmp").iterdir()) == []
