"""The frames the server and its blob process exchange over a socket pair.

A request is `op (1 byte), request id (4), payload length (4)` and the payload: for STORE the
32-byte SHA-256 then the body, for DELETE the 32-byte digests one after another. A reply is
`request id (4), ok (1), value (8), message length (2)` and the message (UTF-8): the value is
the bytes a DELETE freed; the message says why a request failed. Standard library only.

Both ends are ours, so a malformed request is a bug; it is still answered (with an error
naming the problem) rather than ending the process, so one bad frame fails one request.
Request ids wrap at 2**32 (`next_request_id`); ids only need to be unique among the requests
waiting for a reply.
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
MAX_REQUEST_ID = 0xFFFFFFFF


def next_request_id(previous: int) -> int:
    """The id after `previous`, wrapping within the 4 bytes a frame has for it."""
    return previous + 1 if previous < MAX_REQUEST_ID else 0


class Request(NamedTuple):
    op: int
    request_id: int
    digests: list[str]  # hex
    body: bytes  # STORE only
    problem: str | None = None  # a malformed request: why it cannot be carried out


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
            requests.append(_request(op, request_id, payload))
        return requests


def _request(op: int, request_id: int, payload: bytes) -> Request:
    if op == STORE and len(payload) >= _DIGEST:
        return Request(op, request_id, [payload[:_DIGEST].hex()], payload[_DIGEST:])
    if op == DELETE and len(payload) % _DIGEST == 0:
        digests = [payload[i : i + _DIGEST].hex() for i in range(0, len(payload), _DIGEST)]
        return Request(op, request_id, digests, b"")
    problem = f"malformed request: operation {op}, {len(payload)}-byte payload"
    return Request(op, request_id, [], b"", problem)


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
