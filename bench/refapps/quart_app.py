"""A minimal Quart-Trio route: `hypercorn --worker-class trio bench.refapps.quart_app:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Response, request
from quart_trio import QuartTrio

from bench.refapps import CHUNK, ETAG, SMALL_BODY

app = QuartTrio(__name__)
app.config["MAX_CONTENT_LENGTH"] = None  # Quart refuses bodies over 16 MiB by default
app.config["BODY_TIMEOUT"] = 600
app.config["RESPONSE_TIMEOUT"] = 600
_sizes: dict[str, int] = {}
_data = bytes(CHUNK)


@app.route("/<path:path>", methods=["GET", "PUT"])
async def object_(path: str) -> Response:
    if request.method == "PUT":
        size = 0
        async for chunk in request.body:
            size += len(chunk)
        _sizes[path] = size
        return Response(b"", 200, {"ETag": ETAG})
    size = _sizes.get(path, SMALL_BODY)
    if size <= CHUNK:
        return Response(_data[:size], 200)

    async def stream() -> AsyncIterator[bytes]:
        remaining = size
        while remaining > 0:
            yield _data[: min(CHUNK, remaining)]
            remaining -= CHUNK

    response = Response(stream(), 200)
    response.content_length = size
    return response
