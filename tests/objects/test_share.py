"""Sharing a stored blob (UploadPartCopy of a whole object): the blob is pinned until the new
row is committed, and if the garbage collector took it after its row was read, the copy fails
instead of committing a row that points at nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import trio
import trio.testing

from zas.meta.store import MetaStore
from zas.objects.ingest import BlobPins, share
from zas.protocol.errors import NoSuchKey
from zas.storage.local import LocalBlobStore


@attrs.frozen
class Parts:
    blobs: LocalBlobStore
    meta: MetaStore
    pins: BlobPins
    digest: str  # a stored blob, as a row about to be copied would name it


@asynccontextmanager
async def stored_blob(tmp_path: Path, body: bytes) -> AsyncIterator[Parts]:
    """A blob store holding `body`, and a metadata store whose writer runs for the block."""
    blobs = LocalBlobStore(tmp_path / "data")
    async with blobs.open_writer([]) as writer:
        await writer.write(body)
        info = await writer.commit()
    meta = MetaStore(tmp_path / "m.duckdb")
    async with trio.open_nursery() as nursery:
        await nursery.start(meta.run_writer)
        yield Parts(blobs, meta, BlobPins(), info.sha256)
        nursery.cancel_scope.cancel()
    meta.close()


def test_a_blob_deleted_while_the_copy_waited_fails_the_copy(tmp_path: Path) -> None:
    async def main() -> None:
        outcome: list[str] = []
        finished = trio.Event()
        async with (
            stored_blob(tmp_path, b"the source's bytes") as parts,
            trio.open_nursery() as nursery,
        ):
            pins, digest = parts.pins, parts.digest

            async def copy() -> None:
                try:
                    async with share(parts.blobs, parts.meta, pins, digest, NoSuchKey(Key="src")):
                        outcome.append("row committed")
                except NoSuchKey:
                    outcome.append("NoSuchKey")
                finished.set()

            async with pins.claim([digest]) as claimed:  # the collector got there first
                assert claimed == [digest]
                nursery.start_soon(copy)
                await trio.testing.wait_all_tasks_blocked()
                assert outcome == []  # the copy waits for the deletion to finish
                parts.blobs.delete_now(digest)
            with trio.fail_after(10):
                await finished.wait()
        assert outcome == ["NoSuchKey"]
        assert digest not in pins

    trio.run(main)


def test_a_shared_blob_is_pinned_until_the_block_ends(tmp_path: Path) -> None:
    async def main() -> None:
        async with stored_blob(tmp_path, b"shared") as parts:
            async with (
                share(parts.blobs, parts.meta, parts.pins, parts.digest, NoSuchKey()),
                parts.pins.claim([parts.digest]) as claimed,
            ):
                assert claimed == []  # the collector must leave it alone
            assert parts.digest not in parts.pins
            assert await parts.blobs.size_of(parts.digest) == len(b"shared")

    trio.run(main)
