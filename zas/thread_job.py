"""A function running in a worker thread, started now and awaited later.

trio.to_thread.run_sync makes the caller wait at once, and with `abandon_on_cancel` a
cancelled caller loses track of the thread. A ThreadJob is started at once and always runs to
the end; its owner awaits it when it needs the result, and can still wait for it after a
cancellation (shielded) before releasing what the thread uses: a blob writer keeps receiving
while its previous buffer is hashed and written, a reader sends while the next chunk is read,
and an analyst query is interrupted until its thread has stopped. No task or nursery of its
own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import outcome
import trio

T = TypeVar("T")


class ThreadJob(Generic[T]):
    def __init__(self, work: Callable[[], T]) -> None:
        self._done = trio.Event()
        self._outcome: outcome.Outcome[T] | None = None
        token = trio.lowlevel.current_trio_token()

        def deliver(result: outcome.Outcome[T]) -> None:
            token.run_sync_soon(self._finish, result)

        trio.lowlevel.start_thread_soon(work, deliver)

    def _finish(self, result: outcome.Outcome[T]) -> None:
        self._outcome = result
        self._done.set()

    @property
    def done(self) -> bool:
        """The function has returned or raised."""
        return self._done.is_set()

    async def settle(self) -> None:
        """Wait until the function has returned or raised, without its result."""
        await self._done.wait()

    async def wait(self) -> T:
        """What the function returned, or raise what it raised."""
        await self._done.wait()
        assert self._outcome is not None
        return self._outcome.unwrap()
