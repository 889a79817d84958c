"""A bare Hypercorn/trio ASGI app: `hypercorn --worker-class trio bench.refapps.bare:app`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bench.refapps import CHUNK, ETAG, SMALL_BODY

Message = dict[str, Any]
_sizes: dict[str, int] = {}
_data = bytes(CHUNK)


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        # Hypercorn (trio) needs the lifespan answered or it fails on shutdown.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = scope["path"]
    if scope["method"] == "PUT":
        size = 0
        more = True
        while more:
            message = await receive()
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        _sizes[path] = size
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"etag", ETAG.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    size = _sizes.get(path, SMALL_BODY)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(size).encode())],
        }
    )
    remaining = size
    while remaining > CHUNK:
        await send({"type": "http.response.body", "body": _data, "more_body": True})
        remaining -= CHUNK
    await send({"type": "http.response.body", "body": _data[:remaining]})
