"""The server's side of the blob process (`zas.storage.blob_process`): start it, send it small
blobs to store and blobs to delete, and hand each caller its reply.

`run` belongs in the server's nursery; while it runs, `LocalBlobStore` sends its small commits
and its deletions here. If the process dies, the requests it had not answered fail with a
StorageError (their PUTs answer 500; no row was written) and the store goes back to doing
the same work in worker threads: slower under load, identical on disk.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence

import trio

from zas.storage import blob_wire
from zas.storage.base import StorageError

log = logging.getLogger("zas.storage")
RECEIVE = 1 << 16
EXIT_WAIT = 10.0  # seconds the process gets to finish its requests when the server stops


class _Waiter:
    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.reply: blob_wire.Reply | None = None


class BlobProcessClient:
    def __init__(self, blob_dir: str, tmp_dir: str, *, fsync: bool) -> None:
        self._command = [
            sys.executable,
            "-m",
            "zas.storage.blob_process",
            "",  # the socket's fd, known at start
            blob_dir,
            tmp_dir,
            "1" if fsync else "0",
        ]
        self._socket: trio.socket.SocketType | None = None
        self._send_lock = trio.Lock()
        self._waiting: dict[int, _Waiter] = {}
        self._last_id = 0
        self.pid: int | None = None
        self.requests_sent = 0

    @property
    def alive(self) -> bool:
        return self._socket is not None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the process and deliver its replies until it exits or this is cancelled."""
        ours, theirs = socket.socketpair()
        with ours, theirs:
            command = list(self._command)
            command[3] = str(theirs.fileno())
            process = await trio.lowlevel.open_process(
                command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL
            )
            theirs.close()
            self.pid = process.pid
            sock = self._socket = trio.socket.from_stdlib_socket(ours)
            task_status.started()
            try:
                await self._deliver_replies()
                log.error(
                    "the blob process exited (status %s); blobs are written by worker "
                    "threads from now on",
                    process.poll(),
                )
            finally:
                self._socket = None
                self._fail_waiting("the blob process exited before it answered")
                # End of input: the process finishes and exits. Closed through trio, so a
                # send blocked on a full socket buffer is woken (ClosedResourceError).
                sock.close()
                with trio.CancelScope(shield=True):
                    with trio.move_on_after(EXIT_WAIT):
                        await process.wait()
                    if process.returncode is None:
                        process.kill()
                        await process.wait()

    async def store(self, sha256: str, body: bytes | bytearray) -> None:
        """Store `body` under `sha256` durably (content already stored is kept)."""
        await self._call(lambda request_id: blob_wire.store_request(request_id, sha256, body))

    async def delete(self, digests: Sequence[str]) -> int:
        """Delete blobs; the bytes freed."""
        return await self._call(
            lambda request_id: blob_wire.delete_request(request_id, list(digests))
        )

    async def _call(self, frame_for: Callable[[int], bytes]) -> int:
        if self._socket is None:
            raise StorageError("the blob process is not running")
        request_id = self._last_id = blob_wire.next_request_id(self._last_id)
        waiter = self._waiting[request_id] = _Waiter()
        # Shielded, like a worker thread: once sent, the request is carried out whatever
        # happens to the caller, and a deletion's claim must last until it has.
        with trio.CancelScope(shield=True):
            try:
                async with self._send_lock:
                    sock = self._socket
                    if sock is None:
                        raise StorageError("the blob process is not running")
                    view = memoryview(frame_for(request_id))
                    self.requests_sent += 1
                    while view:
                        view = view[await sock.send(view) :]
            except (OSError, trio.ClosedResourceError, StorageError) as exc:
                self._waiting.pop(request_id, None)
                raise StorageError(f"the blob process could not be reached: {exc}") from exc
            await waiter.done.wait()
        reply = waiter.reply
        if reply is None:
            raise StorageError("the blob process exited before it answered")
        if reply.error is not None:
            raise StorageError(f"the blob process failed: {reply.error}")
        return reply.value

    async def _deliver_replies(self) -> None:
        assert self._socket is not None
        reader = blob_wire.ReplyReader()
        while True:
            try:
                data = await self._socket.recv(RECEIVE)
            except OSError:
                return
            if not data:
                return
            for reply in reader.feed(data):
                waiter = self._waiting.pop(reply.request_id, None)
                if waiter is not None:
                    waiter.reply = reply
                    waiter.done.set()

    def _fail_waiting(self, why: str) -> None:
        waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            waiter.done.set()  # reply None: the caller raises
        if waiting:
            log.error("%s: %d request(s) failed", why, len(waiting))
