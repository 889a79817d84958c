"""BlobPins: the garbage collector deletes only unpinned blobs, and an upload that pins a digest
while its file is being deleted waits for the deletion before it looks for the file."""

from __future__ import annotations

import trio
import trio.testing

from zas.objects.ingest import BlobPins


def test_claim_leaves_out_pinned_and_already_claimed_digests() -> None:
    async def main() -> None:
        pins = BlobPins()
        pins.add("b")
        async with pins.claim(["c", "a", "b", "a"]) as first:
            assert first == ["a", "c"]
            async with pins.claim(["a", "d"]) as second:
                assert second == ["d"]
        async with pins.claim(["a", "b", "c"]) as again:
            assert again == ["a", "c"]  # claims end with their block; the pin stays

    trio.run(main)


def test_an_upload_pinning_a_digest_under_deletion_waits_until_the_deletion_ends() -> None:
    async def main() -> None:
        pins = BlobPins()
        events: list[str] = []
        deleting = trio.Event()
        finish = trio.Event()

        async def collector() -> None:
            async with pins.claim(["d"]) as claimed:
                assert claimed == ["d"]
                deleting.set()
                await finish.wait()
                events.append("deleted")

        async def upload() -> None:
            await deleting.wait()
            pins.add("d")
            await pins.settled("d")
            events.append("upload looks for the file")
            pins.remove("d")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(collector)
            nursery.start_soon(upload)
            await trio.testing.wait_all_tasks_blocked()
            assert events == []  # the upload is still waiting
            finish.set()
        assert events == ["deleted", "upload looks for the file"]

    trio.run(main)


def test_settled_returns_at_once_when_nothing_is_being_deleted() -> None:
    async def main() -> None:
        pins = BlobPins()
        pins.add("d")
        with trio.fail_after(1):
            await pins.settled("d")
        async with pins.claim(["d"]) as claimed:
            assert claimed == []  # pinned: never claimed, so never waited for

    trio.run(main)
