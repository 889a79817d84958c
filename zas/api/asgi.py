"""Thin ASGI plumbing for the S3 routes: the request body as a stream, and responses.

The S3 data path speaks ASGI directly instead of going through Quart's request wrapper:
Quart buffers the request body in an unbounded bytearray fed by a task that reads as fast
as the socket delivers, which breaks the "2 GiB PUT in under 150 MB of RSS" requirement when
the disk is slower than the network, and its per-request machinery costs about a third of the
small-request budget (DESIGN.md: bare ASGI ~1,150 req/s, minimal Quart-Trio route ~790).
Here each `receive()` is awaited only when the storage writer wants more bytes, so Hypercorn's
bounded queue and TCP flow control hold the client back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import attrs
import trio

from zas.protocol.http import HttpRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# An early error on a PUT reads (and discards) at most this much of the unread body before
# answering, so the client sees the error instead of a reset connection mid-upload.
DRAIN_LIMIT = 8 * 1024 * 1024
# ... and waits at most this long for it: a client that announced a body it never sends gets
# its error anyway.
DRAIN_TIMEOUT = 5.0


def request_from_scope(scope: Scope) -> HttpRequest:
    """The protocol layer's view of an ASGI request (headers and path as sent, latin-1)."""
    return HttpRequest.from_wire(
        scope["method"],
        scope.get("raw_path", b"").decode("latin-1") or scope["path"],
        scope.get("query_string", b"").decode("latin-1"),
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
    )


class ClientDisconnected(Exception):
    """The client went away before its request body was complete."""


class RequestBody:
    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._more = True
        # Largest body accepted by `chunks()`; past it, BodyTooLarge.
        self.limit: int | None = None
        self.received = 0

    @property
    def complete(self) -> bool:
        return not self._more

    async def chunks(self) -> AsyncIterator[bytes]:
        while self._more:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._more = False
                raise ClientDisconnected()
            self._more = bool(message.get("more_body", False))
            chunk: bytes = message.get("body", b"")
            if chunk:
                self.received += len(chunk)
                if self.limit is not None and self.received > self.limit:
                    raise BodyTooLarge(self.limit)
                yield chunk

    async def read(self, limit: int) -> bytes:
        """The whole (small) body; BodyTooLarge past `limit` bytes."""
        parts = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            parts.append(chunk)
        return b"".join(parts)

    async def drain(self, limit: int = DRAIN_LIMIT) -> bool:
        """Discard the unread body; False if it was larger than `limit` or slower than
        DRAIN_TIMEOUT seconds (then the response closes the connection)."""
        drained = 0
        self.limit = None
        with trio.move_on_after(DRAIN_TIMEOUT):
            try:
                async for chunk in self.chunks():
                    drained += len(chunk)
                    if drained > limit:
                        return False
            except (ClientDisconnected, BodyTooLarge):
                return False
            return True
        return False


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


@attrs.define
class Response:
    status: int
    headers: list[tuple[str, str]] = attrs.field(factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    # Content-Length when it is not len(body): the length of `stream`, or what a HEAD announces.
    length: int | None = None
    close_connection: bool = False

    async def send(self, send: Send, *, head: bool = False) -> int:
        """Send the response; returns the number of body bytes sent."""
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers
        ]
        length = self.length if self.length is not None else len(self.body)
        if self.status not in (204, 304):
            headers.append((b"content-length", str(length).encode()))
        if self.close_connection:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        if head or self.status in (204, 304):
            if self.stream is not None:
                await _close(self.stream)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return 0
        if self.stream is None:
            await send({"type": "http.response.body", "body": self.body, "more_body": False})
            return len(self.body)
        # One chunk of read-ahead, so the last chunk goes out flagged as the end of the body:
        # a small object is then one body message (and one socket write) instead of two.
        sent = 0
        stream = self.stream
        chunk = None
        try:
            chunk = await anext(stream, None)
            while chunk is not None:
                following = await anext(stream, None)
                more = following is not None
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                sent += len(chunk)
                chunk = following
                if not more:
                    return sent
        finally:
            await _close(stream)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return sent


async def _close(stream: AsyncIterator[bytes]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
