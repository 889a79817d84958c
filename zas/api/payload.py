"""From an HTTP request body to object bytes plus what the client declared about them.

Plain bodies pass through. aws-chunked bodies (x-amz-content-sha256: STREAMING-*) go through
the sans-IO `ChunkedDecoder`, whose trailing checksums are added to `Expected` as they
arrive, so the storage layer checks them exactly like header checksums. Any decoding error
propagates out of the body iterator, which makes the blob writer discard everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Protocol

from zas.api.asgi import BodyTooLarge, RequestBody
from zas.objects.ingest import Expected, verify_bytes
from zas.protocol import checksum_algorithms, sigv4
from zas.protocol.chunked import ChunkedDecoder, Data, Trailers
from zas.protocol.errors import EntityTooLarge, MalformedXML
from zas.protocol.http import HttpRequest
from zas.protocol.operations import Checksum
from zas.protocol.sigv4 import PayloadKind, VerifiedSignature


class BodyOperation(Protocol):
    """What PutObject and UploadPart declare about the body they carry."""

    @property
    def content_length(self) -> int | None: ...
    @property
    def content_md5(self) -> bytes | None: ...
    @property
    def checksums(self) -> tuple[Checksum, ...]: ...


def payload_of(
    op: BodyOperation,
    request: HttpRequest,
    body: RequestBody,
    signature: VerifiedSignature | None,
    *,
    max_size: int,
) -> tuple[AsyncIterator[bytes], Expected]:
    return open_payload(
        request,
        body,
        signature,
        content_length=op.content_length,
        content_md5=op.content_md5,
        checksums=op.checksums,
        max_size=max_size,
    )


def open_payload(
    request: HttpRequest,
    body: RequestBody,
    signature: VerifiedSignature | None,
    *,
    content_length: int | None,
    content_md5: bytes | None,
    checksums: Sequence[Checksum],
    max_size: int,
) -> tuple[AsyncIterator[bytes], Expected]:
    """The decoded body and the digests it must match."""
    # Unsigned requests (anonymous, bearer token) may still declare the body's SHA-256.
    payload = (
        sigv4.parse_payload_hash(request, presigned=True)
        if signature is None
        else (signature.payload)
    )
    if payload.kind is not PayloadKind.STREAMING:
        if content_length is not None and content_length > max_size:
            raise EntityTooLarge(ProposedSize=str(content_length), MaxSizeAllowed=str(max_size))
        body.limit = max_size  # chunked transfer without a length stops at the limit
        expected = Expected(
            content_length=content_length,
            content_md5=content_md5,
            payload_sha256=payload.value if payload.kind is PayloadKind.SHA256 else None,
            checksums=list(checksums),
        )
        return body.chunks(), expected

    decoder = ChunkedDecoder.from_request(request, signature)
    if decoder.decoded_length > max_size:
        raise EntityTooLarge(ProposedSize=str(decoder.decoded_length), MaxSizeAllowed=str(max_size))
    trailer_algorithms = [
        algorithm.value.lower()
        for name in decoder.declared_trailers
        if (algorithm := checksum_algorithms.algorithm_for_header(name)) is not None
    ]
    expected = Expected(
        content_length=decoder.decoded_length,
        content_md5=content_md5,
        checksums=list(checksums),
        algorithms=trailer_algorithms,
    )
    return _decode(body, decoder, expected), expected


async def _decode(
    body: RequestBody, decoder: ChunkedDecoder, expected: Expected
) -> AsyncIterator[bytes]:
    async for piece in body.chunks():
        decoder.feed(piece)
        for data in _drain(decoder, expected):
            yield data
    decoder.feed_eof()  # raises IncompleteBody if the body was cut short
    for data in _drain(decoder, expected):
        yield data


def _drain(decoder: ChunkedDecoder, expected: Expected) -> Iterator[bytes]:
    """The decoded bytes available now; trailing checksums go to `expected`."""
    for event in decoder.events():
        if isinstance(event, Data):
            yield bytes(event.data)
        elif isinstance(event, Trailers):
            expected.checksums.extend(_trailer_checksums(event))


def _trailer_checksums(trailers: Trailers) -> list[Checksum]:
    found = []
    for name, value in trailers.headers.items():
        algorithm = checksum_algorithms.algorithm_for_header(name)
        if algorithm is None:
            continue
        raw = checksum_algorithms.decode(algorithm, value)
        found.append(Checksum(algorithm.value.lower(), raw))
    return found


async def read_xml_body(body: RequestBody, expected: Expected, limit: int) -> bytes:
    """A small XML request document (Delete, Tagging, CompleteMultipartUpload), read whole and
    checked against Content-MD5 / x-amz-checksum-* when the client sent them."""
    try:
        data = await body.read(limit)
    except BodyTooLarge:
        raise MalformedXML(
            "The XML you provided was larger than the maximum allowed size."
        ) from None
    verify_bytes(data, expected)
    return data
