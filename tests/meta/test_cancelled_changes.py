"""A change whose caller is cancelled after it reached the metadata writer is still committed,
so the caller waits for it before any clean-up of its own: a PUT keeps its blob pinned until
its row exists, and an access key or signing key taken away stops working at once. (Found by
review: a shutdown's grace period ending, or an admin client leaving a QuartTrio route,
cancels a request while its change waits behind a batch.) And when the writer stops, every
change still waiting gets an answer instead of a caller waiting forever."""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trio
import trio.testing

from zas.auth.iam import IamDirectory
from zas.auth.sealing import MasterKey
from zas.meta.store import MetaStore
from zas.objects.ingest import Expected
from zas.objects.service import ObjectService
from zas.protocol.errors import InternalError
from zas.protocol.operations import ObjectMetadata
from zas.storage.local import LocalBlobStore
from zas.supplychain.service import SupplyChain


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def body_of(data: bytes) -> AsyncIterator[bytes]:
    yield data


class Stack:
    """MetaStore + ObjectService wired like the server, with a gate that can hold the writer in
    a batch's orphan deletion (the server's `on_orphans`) while later changes queue up."""

    def __init__(self, tmp: Path) -> None:
        self.blobs = LocalBlobStore(tmp / "data", fsync=False)
        self.meta = MetaStore(tmp / "meta.duckdb", journal=False)
        self.objects = ObjectService(self.blobs, self.meta, region="r", owner="o")
        self.gate = trio.Event()
        self.gate.set()
        self.meta.on_orphans = self._gated_orphans
        self.answers: dict[str, BaseException | None] = {}  # by `answered`

    async def _gated_orphans(self, digests: list[str]) -> None:
        await self.gate.wait()
        await self.objects.delete_orphans(digests)

    async def put(self, key: str, data: bytes) -> str:
        record = await self.objects.put_object(
            "b", key, body_of(data), Expected(), metadata=ObjectMetadata()
        )
        return record.sha256

    async def answered(self, name: str, change: Callable[[], Awaitable[object]]) -> None:
        """Run `change`, keeping its answer: None, or the InternalError it raised."""
        try:
            await change()
            self.answers[name] = None
        except InternalError as exc:
            self.answers[name] = exc

    async def hold_writer(self, nursery: trio.Nursery) -> None:
        """The writer busy with a batch (a DELETE whose orphan deletion waits at the gate);
        the DELETE's answer goes to `answers["held"]`."""
        await self.put("held", b"bytes whose deletion holds the writer")
        self.gate = trio.Event()
        delete = functools.partial(self.objects.delete_object, "b", "held")
        nursery.start_soon(self.answered, "held", delete)
        await trio.testing.wait_all_tasks_blocked()

    async def cancel_once_queued(self, scope: trio.CancelScope) -> None:
        """Cancel `scope` once its change waits in the writer's queue, then let the writer go."""
        while self.meta.queued() == 0:  # noqa: ASYNC110 - the queue has no event to wait on
            await trio.sleep(0.001)
        await trio.testing.wait_all_tasks_blocked()
        scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
        self.gate.set()


def run_stack(tmp: Path, scenario: Callable[[Stack, trio.Nursery], Awaitable[None]]) -> None:
    async def main() -> None:
        stack = Stack(tmp)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(stack.meta.run_writer)
                await stack.objects.create_bucket("b", now())
                await scenario(stack, nursery)
                nursery.cancel_scope.cancel()
        finally:
            stack.meta.close()
        assert all(answer is None for answer in stack.answers.values()), stack.answers

    trio.run(main)


def test_a_put_cancelled_while_its_row_waits_keeps_its_blob_until_the_row_is_committed(
    tmp_path: Path,
) -> None:
    data = b"the same artifact bytes under two keys"

    async def scenario(stack: Stack, nursery: trio.Nursery) -> None:
        digest = await stack.put("old", data)
        # The old key goes, and with it the last reference to `digest`: the writer holds that
        # batch at the gate, before its orphan deletion.
        stack.gate = trio.Event()
        nursery.start_soon(stack.objects.delete_object, "b", "old")
        await trio.testing.wait_all_tasks_blocked()
        with trio.CancelScope() as scope:
            nursery.start_soon(stack.cancel_once_queued, scope)
            await stack.put("new", data)  # same bytes: pinned while its row waits
        await stack.meta.caught_up()
        assert await stack.meta.get_object("b", "new") is not None, "the row was committed"
        assert await stack.blobs.size_of(digest) == len(data), "and its blob is still there"

    run_stack(tmp_path, scenario)


def test_an_access_key_deleted_by_a_cancelled_request_stops_authenticating(
    tmp_path: Path,
) -> None:
    async def scenario(stack: Stack, nursery: trio.Nursery) -> None:
        iam = IamDirectory(stack.meta, MasterKey(os.urandom(32)), now)
        await iam.reload()
        await iam.create_user("alice")
        key = await iam.create_access_key("alice")
        await stack.hold_writer(nursery)
        with trio.CancelScope() as scope:
            nursery.start_soon(stack.cancel_once_queued, scope)
            await iam.delete_access_key("alice", key.access_key_id)
        assert scope.cancelled_caught
        assert key.access_key_id not in (await stack.meta.load_iam()).keys
        assert iam.secret_for(key.access_key_id) is None, "the deleted key still authenticates"

    run_stack(tmp_path, scenario)


def test_a_signing_key_disabled_by_a_cancelled_request_stops_verifying(tmp_path: Path) -> None:
    async def scenario(stack: Stack, nursery: trio.Nursery) -> None:
        chain = SupplyChain(stack.meta, stack.objects, MasterKey(os.urandom(32)), now)
        await chain.reload()
        key = await chain.create_signing_key("ecdsa-p256")
        assert key.key_id in chain.verification_keys("b", "signature")
        await stack.hold_writer(nursery)
        with trio.CancelScope() as scope:
            nursery.start_soon(stack.cancel_once_queued, scope)
            await chain.set_signing_key_status(key.key_id, "disabled")
        assert scope.cancelled_caught
        assert (await stack.meta.load_evidence()).signing_keys[key.key_id].status == "disabled"
        assert key.key_id not in chain.verification_keys("b", "signature")

    run_stack(tmp_path, scenario)


def test_changes_still_waiting_when_the_writer_stops_are_answered_with_an_error(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        stack = Stack(tmp_path)
        try:
            async with trio.open_nursery() as callers:
                async with trio.open_nursery() as writer:
                    await writer.start(stack.meta.run_writer)
                    await stack.objects.create_bucket("b", now())
                    await stack.hold_writer(callers)
                    for name in ("c", "d"):
                        create = functools.partial(stack.objects.create_bucket, name, now())
                        callers.start_soon(stack.answered, name, create)
                    await trio.testing.wait_all_tasks_blocked()
                    assert stack.meta.queued() == 2
                    writer.cancel_scope.cancel()  # shutdown, with two changes queued
                with trio.fail_after(10):  # every caller gets an answer, none hangs
                    while len(stack.answers) < 3:  # noqa: ASYNC110 - bounded by fail_after
                        await trio.sleep(0.01)
                stack.gate.set()
        finally:
            stack.meta.close()
        for name in ("c", "d"):
            assert isinstance(stack.answers[name], InternalError)
            assert "stopped" in str(stack.answers[name])
        assert stack.meta.bucket("c") is None and stack.meta.bucket("d") is None

    trio.run(main)


@pytest.mark.parametrize("cancel_first", [False, True])
def test_a_change_not_yet_sent_when_cancelled_is_not_applied(
    tmp_path: Path, cancel_first: bool
) -> None:
    """The other side of the rule: a caller cancelled before its change reached the writer
    (the send itself is cancelled) leaves nothing behind, and one not cancelled commits."""

    async def scenario(stack: Stack, nursery: trio.Nursery) -> None:
        with trio.CancelScope() as scope:
            if cancel_first:
                scope.cancel()
            await stack.objects.create_bucket("maybe", now())
        assert scope.cancelled_caught == cancel_first
        assert (stack.meta.bucket("maybe") is None) == cancel_first

    run_stack(tmp_path, scenario)
