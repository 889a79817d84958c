"""The blob process: stores small blobs and deletes blobs for the server, in a process of its own.

Why a process: every system call a Python thread makes releases the GIL and must take it back.
A small PUT's blob costs about a dozen (open, write, fsync, stat, mkdir, rename, the
directory's fsync), and under load each re-take waits behind the event loop and the other
worker threads. Measured at 32 connections (BENCHMARKS.md, session 6), the worker threads
writing small blobs used ~1.3 ms of CPU per PUT, a quarter of the server's, in a process
capped at one core. Here the same calls run with a GIL nobody else wants, on the other core,
and the server only sends one frame and awaits one reply on an async socket.

The server starts it (`zas.storage.blob_client`), passes one end of a socket pair and waits for
a reply to each request (`zas.storage.blob_wire`). Whatever arrived together is handled as one
group: the small blobs are written and fsynced, renamed, and each directory fsynced once
(`zas.storage.layout.store_small`); a reply is sent only once its blob is durable. The process
exits when the server closes its end. Standard library only, so it starts in milliseconds and
stays small.

    python -m zas.storage.blob_process <socket fd> <blob dir> <tmp dir> <fsync 0|1>
"""

from __future__ import annotations

import signal
import socket
import sys

from zas.storage import blob_wire
from zas.storage.layout import blob_path, delete_blob, store_small

RECEIVE = 1 << 20


def handle(requests: list[blob_wire.Request], blob_dir: str, tmp_dir: str, fsync: bool) -> bytes:
    """The replies to `requests`, in order. Consecutive stores form one group; a delete is
    handled where it stands, so the order in which the server asked is kept."""
    replies: list[bytes] = []
    index = 0
    while index < len(requests):
        request = requests[index]
        if request.problem is not None:
            replies.append(blob_wire.reply(request.request_id, request.problem))
            index += 1
            continue
        if request.op == blob_wire.DELETE:
            replies.append(_delete(request, blob_dir))
            index += 1
            continue
        group = []
        while index < len(requests) and _is_store(requests[index]):
            group.append(requests[index])
            index += 1
        errors = store_small(blob_dir, tmp_dir, [(r.digests[0], r.body) for r in group], fsync)
        for stored, error in zip(group, errors, strict=True):
            replies.append(blob_wire.reply(stored.request_id, _describe(error)))
    return b"".join(replies)


def _is_store(request: blob_wire.Request) -> bool:
    return request.op == blob_wire.STORE and request.problem is None


def _delete(request: blob_wire.Request, blob_dir: str) -> bytes:
    freed = 0
    try:
        for digest in request.digests:
            freed += delete_blob(blob_path(blob_dir, digest))
    except OSError as exc:
        return blob_wire.reply(request.request_id, _describe(exc), freed)
    return blob_wire.reply(request.request_id, None, freed)


def _describe(error: Exception | None) -> str | None:
    return None if error is None else f"{type(error).__name__}: {error}"


def serve(connection: socket.socket, blob_dir: str, tmp_dir: str, fsync: bool) -> None:
    reader = blob_wire.RequestReader()
    while data := connection.recv(RECEIVE):
        requests = reader.feed(data)
        if requests:
            connection.sendall(handle(requests, blob_dir, tmp_dir, fsync))


def main(argv: list[str]) -> None:
    fd, blob_dir, tmp_dir, fsync = argv
    # Ctrl-C reaches the whole process group, and a service manager may send SIGTERM to every
    # process of the service: the server then drains and closes the socket, which ends this
    # process after the requests it is handling. Until then it keeps serving the server.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with socket.socket(fileno=int(fd)) as connection:
        serve(connection, blob_dir, tmp_dir, fsync == "1")


if __name__ == "__main__":
    main(sys.argv[1:])
