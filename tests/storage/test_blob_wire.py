"""The blob process's frames: whatever pieces the socket delivers them in, they decode the same."""

from __future__ import annotations

import hashlib

import pytest

from zas.storage import blob_wire
from zas.storage.blob_wire import Reply, ReplyReader, Request, RequestReader

FIRST = hashlib.sha256(b"first").hexdigest()
SECOND = hashlib.sha256(b"second").hexdigest()

REQUESTS = [
    Request(blob_wire.STORE, 1, [FIRST], b"first"),
    Request(blob_wire.DELETE, 2, [FIRST, SECOND], b""),
    Request(blob_wire.STORE, 3, [hashlib.sha256(b"").hexdigest()], b""),  # an empty blob
    Request(blob_wire.DELETE, 4, [], b""),
    Request(blob_wire.STORE, blob_wire.MAX_REQUEST_ID, [SECOND], bytes(range(256)) * 3),
]
REPLIES = [
    Reply(1, None, 0),
    Reply(2, None, 12345678901),
    Reply(3, "OSError: [Errno 28] No space left on device", 0),
    Reply(blob_wire.MAX_REQUEST_ID, "é", 7),
]


def encode_request(request: Request) -> bytes:
    if request.op == blob_wire.STORE:
        return blob_wire.store_request(request.request_id, request.digests[0], request.body)
    return blob_wire.delete_request(request.request_id, request.digests)


def encode_reply(reply: Reply) -> bytes:
    return blob_wire.reply(reply.request_id, reply.error, reply.value)


STREAM = b"".join(encode_request(request) for request in REQUESTS)
REPLY_STREAM = b"".join(encode_reply(reply) for reply in REPLIES)


def test_requests_round_trip() -> None:
    assert RequestReader().feed(STREAM) == REQUESTS


def test_requests_split_at_every_byte_boundary_decode_the_same() -> None:
    for split in range(len(STREAM) + 1):
        reader = RequestReader()
        got = reader.feed(STREAM[:split]) + reader.feed(STREAM[split:])
        assert got == REQUESTS, split


def test_requests_fed_byte_by_byte_decode_the_same() -> None:
    reader = RequestReader()
    got: list[Request] = []
    for index in range(len(STREAM)):
        got += reader.feed(STREAM[index : index + 1])
    assert got == REQUESTS


def test_replies_round_trip_at_every_byte_boundary() -> None:
    assert ReplyReader().feed(REPLY_STREAM) == REPLIES
    for split in range(len(REPLY_STREAM) + 1):
        reader = ReplyReader()
        got = reader.feed(REPLY_STREAM[:split]) + reader.feed(REPLY_STREAM[split:])
        assert got == REPLIES, split


def test_an_incomplete_frame_waits_for_the_rest() -> None:
    frame = encode_request(REQUESTS[0])
    reader = RequestReader()
    assert reader.feed(frame[:-1]) == []
    assert reader.feed(frame[-1:]) == [REQUESTS[0]]


def test_an_error_reply_carries_its_message_and_a_success_none() -> None:
    (ok,) = ReplyReader().feed(blob_wire.reply(5, None, 42))
    assert ok == Reply(5, None, 42)
    (failed,) = ReplyReader().feed(blob_wire.reply(6, "PermissionError: denied"))
    assert failed == Reply(6, "PermissionError: denied", 0)
    # An empty message is still an error, not a success.
    (empty,) = ReplyReader().feed(blob_wire.reply(7, ""))
    assert empty.error == ""


def test_a_long_error_message_is_cut_and_still_decodes() -> None:
    message = "ü" * blob_wire.MAX_MESSAGE  # 2 bytes each: cut mid-character
    reply, after = ReplyReader().feed(blob_wire.reply(8, message) + blob_wire.reply(9, None))
    assert after == Reply(9, None, 0)
    assert reply.error is not None
    assert 0 < len(reply.error.encode()) <= blob_wire.MAX_MESSAGE + 3
    assert reply.error.startswith("ü" * 100)


@pytest.mark.parametrize(
    ("op", "payload"),
    [
        (blob_wire.STORE, b"short digest"),
        (blob_wire.DELETE, b"x" * 33),
        (99, b""),
    ],
    ids=["store-without-digest", "delete-of-partial-digest", "unknown-operation"],
)
def test_a_malformed_request_is_decoded_as_a_problem_and_the_stream_goes_on(
    op: int, payload: bytes
) -> None:
    header = blob_wire._REQUEST.pack(op, 11, len(payload))
    after = encode_request(REQUESTS[0])
    bad, good = RequestReader().feed(header + payload + after)
    assert bad.request_id == 11
    assert bad.problem is not None and "malformed" in bad.problem
    assert good == REQUESTS[0]


def test_request_ids_wrap_within_four_bytes() -> None:
    assert blob_wire.next_request_id(0) == 1
    assert blob_wire.next_request_id(blob_wire.MAX_REQUEST_ID - 1) == blob_wire.MAX_REQUEST_ID
    assert blob_wire.next_request_id(blob_wire.MAX_REQUEST_ID) == 0
