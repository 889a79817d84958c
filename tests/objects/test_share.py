"""Sharing a stored blob (UploadPartCopy of a whole object): the blob is pinned until the new
row is committed, and if the garbage collector took it after its row was read, the copy fails
instead of committing a row that points at nothing."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from zas.meta.store import MetaStore
from zas.objects.ingest import BlobPins, share
from zas.protocol.errors import NoSuchKey
from zas.storage.local import LocalBlobStore


async def _stored(blobs: LocalBlobStore, body: bytes) -> str:
    async with blobs.open_writer([]) as writer:
        await writer.write(body)
        info = await writer.commit()
    return info.sha256


def test_a_blob_deleted_while_the_copy_waited_fails_the_copy(tmp_path: Path) -> None:
    async def main() -> None:
        blobs = LocalBlobStore(tmp_path / "data")
        meta = MetaStore(tmp_path / "m.duckdb")
        pins = BlobPins()
        digest = await _stored(blobs, b"the source's bytes")
        outcome: list[str] = []
        finished = trio.Event()

        async def copy() -> None:
            try:
                async with share(blobs, meta, pins, digest, NoSuchKey(Key="src")):
                    outcome.append("row committed")
            except NoSuchKey:
                outcome.append("NoSuchKey")
            finished.set()

        async with trio.open_nursery() as nursery:
            await nursery.start(meta.run_writer)
            async with pins.claim([digest]) as claimed:  # the collector got there first
                assert claimed == [digest]
                nursery.start_soon(copy)
                await trio.testing.wait_all_tasks_blocked()
                assert outcome == []  # the copy waits for the deletion to finish
                blobs.delete_now(digest)
            with trio.fail_after(10):
                await finished.wait()
            nursery.cancel_scope.cancel()
        meta.close()
        assert outcome == ["NoSuchKey"]
        assert digest not in pins

    trio.run(main)


def test_a_shared_blob_is_pinned_until_the_block_ends(tmp_path: Path) -> None:
    async def main() -> None:
        blobs = LocalBlobStore(tmp_path / "data")
        meta = MetaStore(tmp_path / "m.duckdb")
        pins = BlobPins()
        digest = await _stored(blobs, b"shared")
        async with trio.open_nursery() as nursery:
            await nursery.start(meta.run_writer)
            async with (
                share(blobs, meta, pins, digest, NoSuchKey()),
                pins.claim([digest]) as claimed,
            ):
                assert claimed == []  # the collector must leave it alone
            assert digest not in pins
            nursery.cancel_scope.cancel()
        meta.close()
        assert await blobs.size_of(digest) == len(b"shared")

    trio.run(main)
