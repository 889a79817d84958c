"""Fuzz target: the XML request bodies (`zas.protocol.xml_requests`).

The input is a request body, e.g. `<Delete><Object><Key>a</Key></Object></Delete>`, fed as
bytes (XML carries its own encoding) to each of `parse_complete_multipart_upload`,
`parse_delete` and `parse_tagging`, whatever its root element, so each parser also sees the
others' documents.

Invariant: each parser returns or raises an `S3Error` (MalformedXML, MissingRequestBodyError,
BadRequest, InvalidTag); what it returns keeps S3's limits (1..10,000 parts numbered 1..10,000
with quoted ETags and correctly sized checksums; 1..1,000 objects; at most 10 valid tags),
and tags survive a round trip through `render_tagging`.
"""

from __future__ import annotations

from fuzz._harness import attempt, run
from zas.protocol.headers import CHECKSUM_SIZES
from zas.protocol.names import validate_tags
from zas.protocol.xml import render_tagging
from zas.protocol.xml_requests import (
    MAX_DELETE_OBJECTS,
    parse_complete_multipart_upload,
    parse_delete,
    parse_tagging,
)


def check_complete(body: bytes) -> None:
    parts = attempt(parse_complete_multipart_upload, body)
    if parts is None:
        return
    assert 1 <= len(parts) <= 10_000
    for part in parts:
        assert 1 <= part.part_number <= 10_000
        assert len(part.etag) >= 2 and part.etag[0] == part.etag[-1] == '"'
        for checksum in part.checksums:
            assert len(checksum.digest) == CHECKSUM_SIZES[checksum.algorithm]


def check_delete(body: bytes) -> None:
    request = attempt(parse_delete, body)
    if request is None:
        return
    assert isinstance(request.quiet, bool)
    assert 1 <= len(request.objects) <= MAX_DELETE_OBJECTS


def check_tagging(body: bytes) -> None:
    tags = attempt(parse_tagging, body)
    if tags is None:
        return
    assert len(tags) <= 10
    assert validate_tags(tags) == tags
    assert parse_tagging(render_tagging(tags)) == tags


def test_one_input(data: bytes) -> None:
    check_complete(data)
    check_delete(data)
    check_tagging(data)


def main() -> None:
    run(test_one_input)


if __name__ == "__main__":
    main()
