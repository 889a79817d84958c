"""The frames the server and its blob process exchange over a socket pair.

A request is `op (1 byte), request id (4), payload length (4)` and the payload: for STORE the
32-byte SHA-256 then the body, for DELETE the 32-byte digests one after another. A reply is
`request id (4), ok (1), value (8), message length (2)` and the message (UTF-8): the value is
the bytes a DELETE freed; the message says why a request failed. Standard library only.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

STORE = 1
DELETE = 2
_REQUEST = struct.Struct("!BII")
_REPLY = struct.Struct("!IBQH")
_DIGEST = 32
MAX_MESSAGE = 1000


class Request(NamedTuple):
    op: int
    request_id: int
    digests: list[str]  # hex
    body: bytes  # STORE only


class Reply(NamedTuple):
    request_id: int
    error: str | None
    value: int


def store_request(request_id: int, sha256: str, body: bytes | bytearray) -> bytes:
    payload_size = _DIGEST + len(body)
    return _REQUEST.pack(STORE, request_id, payload_size) + bytes.fromhex(sha256) + body


def delete_request(request_id: int, digests: list[str]) -> bytes:
    payload = b"".join(bytes.fromhex(digest) for digest in digests)
    return _REQUEST.pack(DELETE, request_id, len(payload)) + payload


def reply(request_id: int, error: str | None, value: int = 0) -> bytes:
    message = (error or "").encode("utf-8", "replace")[:MAX_MESSAGE]
    return _REPLY.pack(request_id, error is None, value, len(message)) + message


class RequestReader:
    """Complete requests out of a byte stream that arrives in pieces of any size."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Request]:
        self._buffer += data
        requests: list[Request] = []
        while len(self._buffer) >= _REQUEST.size:
            op, request_id, size = _REQUEST.unpack_from(self._buffer)
            end = _REQUEST.size + size
            if len(self._buffer) < end:
                break
            payload = bytes(self._buffer[_REQUEST.size : end])
            del self._buffer[:end]
            if op == STORE:
                digest, body = payload[:_DIGEST].hex(), payload[_DIGEST:]
                requests.append(Request(op, request_id, [digest], body))
            else:
                digests = [payload[i : i + _DIGEST].hex() for i in range(0, size, _DIGEST)]
                requests.append(Request(op, request_id, digests, b""))
        return requests


class ReplyReader:
    """Complete replies out of a byte stream that arrives in pieces of any size."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Reply]:
        self._buffer += data
        replies: list[Reply] = []
        while len(self._buffer) >= _REPLY.size:
            request_id, ok, value, size = _REPLY.unpack_from(self._buffer)
            end = _REPLY.size + size
            if len(self._buffer) < end:
                break
            message = bytes(self._buffer[_REPLY.size : end]).decode("utf-8", "replace")
            del self._buffer[:end]
            replies.append(Reply(request_id, None if ok else message, value))
        return replies
