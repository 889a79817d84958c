"""Fuzz target: the aws-chunked body decoder (`zas.protocol.chunked`).

The input is one header line, then the raw body, so seeds and crash files read like a request:

    x-amz-content-sha256 SP x-amz-decoded-content-length [ SP x-amz-trailer ] LF
    body bytes ...

e.g. `STREAMING-UNSIGNED-PAYLOAD-TRAILER 5 x-amz-checksum-crc32\\n5\\r\\nhello\\r\\n0\\r\\n...`.
The header line (decoded latin-1, as the ASGI adapter does) becomes the request headers of
`ChunkedDecoder.from_request`, with a fixed verified signature (seed signature, key, date and
scope of SIGNING below; the seeds in fuzz/seeds/chunked/ are signed with it, so the fuzzer
starts from bodies whose every signature checks out). An input whose header line is not
accepted is also decoded whole as a body in each mode with decoded length 0, so the framing
code sees arbitrary bytes either way.

Each body is fed whole, in pieces cut at input-dependent places, and (when short) byte by
byte. Invariant: `from_request`, `feed` and `next_event` return or raise an `S3Error`; and
- every way of feeding gives the same outcome: the same bytes and trailers, or the same
  error code (an incremental parser must not depend on how its input was cut);
- Data events are non-empty, the decoded bytes never exceed the declared length and equal it
  at EndOfBody, trailers are exactly the declared ones, and nothing follows EndOfBody.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from fuzz._harness import FUZZ_DIR, attempt, run, texts
from zas.protocol.checksum_algorithms import ChecksumAlgorithm, checksum, encode
from zas.protocol.chunked import (
    NEED_DATA,
    ChunkedDecoder,
    ChunkSigning,
    Data,
    EndOfBody,
    StreamingMode,
    Trailers,
)
from zas.protocol.errors import S3Error
from zas.protocol.http import HttpRequest
from zas.protocol.sigv4 import (
    EMPTY_SHA256,
    PayloadHash,
    PayloadKind,
    SigningKeyScope,
    VerifiedSignature,
    signing_key,
)

SCOPE = SigningKeyScope("20240501", "us-east-1", "s3")
AMZ_DATE = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SEED_SIGNATURE = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
KEY = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SCOPE)
VERIFIED = VerifiedSignature(
    access_key="AKIAIOSFODNN7EXAMPLE",
    scope=SCOPE,
    signature=SEED_SIGNATURE,
    amz_date=AMZ_DATE,
    signing_key=KEY,
    payload=PayloadHash(PayloadKind.STREAMING, StreamingMode.SIGNED.value),
    presigned=False,
)
SIGNING = ChunkSigning.from_verified(VERIFIED)
BYTE_BY_BYTE_MAX = 512

Outcome = tuple[bytes, dict[str, str] | None] | str  # (data, trailers) or the error code


def decode(decoder: ChunkedDecoder, pieces: Iterator[bytes]) -> Outcome:
    out = bytearray()
    trailers: dict[str, str] | None = None
    ended = False

    def drain() -> None:
        nonlocal trailers, ended
        while not ended and (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, Data):
                assert event.data
                out.extend(event.data)
                assert decoder.decoded_bytes == len(out) <= decoder.decoded_length
            elif isinstance(event, Trailers):
                assert trailers is None and decoder.mode.trailer
                trailers = dict(event.headers)
            else:
                assert isinstance(event, EndOfBody)
                ended = True

    try:
        for piece in pieces:
            decoder.feed(piece)
            drain()
        decoder.feed_eof()
        drain()
    except S3Error as exc:
        return exc.code
    assert ended and len(out) == decoder.decoded_length
    assert decoder.next_event() == EndOfBody()
    if decoder.mode.trailer:
        assert trailers is not None
    return bytes(out), trailers


def splits(body: bytes) -> Iterator[Iterator[bytes]]:
    yield iter((body,))
    step = body[0] % 13 + 1 if body else 1
    yield (body[i : i + step] for i in range(0, len(body), step))
    middle = len(body) // 2
    yield iter((body[:middle], b"", body[middle:]))
    if len(body) <= BYTE_BY_BYTE_MAX:
        yield (body[i : i + 1] for i in range(len(body)))


def check(make: Callable[[], ChunkedDecoder], body: bytes) -> None:
    outcomes = set()
    for pieces in splits(body):
        decoder = make()
        outcome = decode(decoder, pieces)
        if not isinstance(outcome, str) and outcome[1] is not None:
            assert set(outcome[1]) == decoder.declared_trailers
        outcomes.add(repr(outcome))
    assert len(outcomes) == 1, outcomes


def request(line: str) -> HttpRequest:
    mode, _, rest = line.partition(" ")
    length, _, trailer = rest.partition(" ")
    headers = [("x-amz-content-sha256", mode), ("x-amz-decoded-content-length", length)]
    if trailer:
        headers.append(("x-amz-trailer", trailer))
    return HttpRequest.from_wire("PUT", "/bucket/key", "", headers)


def test_one_input(data: bytes) -> None:
    first, newline, body = data.partition(b"\n")
    accepted = False
    for text in texts(first) if newline else ():
        req = request(text.removesuffix("\r"))
        if attempt(ChunkedDecoder.from_request, req, VERIFIED) is not None:
            check(functools.partial(ChunkedDecoder.from_request, req, VERIFIED), body)
            accepted = True
    if accepted:
        return
    for mode in StreamingMode:
        signing = SIGNING if mode.signed else None
        check(functools.partial(ChunkedDecoder, mode, 0, signing=signing), data)


# --- seeds ---------------------------------------------------------------------------------


def _sign(string: str) -> str:
    return hmac.new(KEY, string.encode(), hashlib.sha256).hexdigest()


def signed_body(
    chunks: list[bytes], trailers: list[tuple[str, str]] | None, *, blank: bool = False
) -> bytes:
    """An aws-chunked body signed with SIGNING (the writer side of the decoder's grammar)."""
    out, previous = bytearray(), SIGNING.seed_signature
    head = f"\n{SIGNING.amz_date}\n{SIGNING.scope}\n"
    for data in [*chunks, b""]:
        previous = _sign(
            f"AWS4-HMAC-SHA256-PAYLOAD{head}{previous}\n{EMPTY_SHA256}\n"
            + hashlib.sha256(data).hexdigest()
        )
        out += b"%x;chunk-signature=%s\r\n" % (len(data), previous.encode())
        out += data + b"\r\n" if data else b""
    if trailers is None:
        return bytes(out + b"\r\n")
    out += b"\r\n" if blank else b""
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
    signature = _sign(
        f"AWS4-HMAC-SHA256-TRAILER{head}{previous}\n"
        + hashlib.sha256(canonical.encode()).hexdigest()
    )
    out += b"".join(f"{name}:{value}\r\n".encode() for name, value in trailers)
    return bytes(out + f"x-amz-trailer-signature:{signature}\r\n\r\n".encode())


def make_seeds() -> None:
    """Write fuzz/seeds/chunked/ (deterministic; the unsigned bodies come from botocore)."""
    import io

    from botocore import httpchecksum  # type: ignore[import-untyped]

    def botocore_body(payload: bytes, name: str, checksum_cls: object) -> bytes:
        wrapper = httpchecksum.AwsChunkedWrapper(
            io.BytesIO(payload), checksum_cls=checksum_cls, checksum_name=name, chunk_size=64
        )
        return bytes(wrapper.read())

    signed, signed_trailer = StreamingMode.SIGNED.value, StreamingMode.SIGNED_TRAILER.value
    unsigned = StreamingMode.UNSIGNED_TRAILER.value
    text = b"The quick brown fox jumps over the lazy dog. " * 4
    crc32c = ("x-amz-checksum-crc32c", encode(checksum(ChecksumAlgorithm.CRC32C, text[:180])))
    crc32c_10 = ("x-amz-checksum-crc32c", encode(checksum(ChecksumAlgorithm.CRC32C, text[:10])))
    seeds = {
        "signed-three-chunks": (f"{signed} 180", signed_body([text[:100], text[100:180]], None)),
        "signed-empty": (f"{signed} 0", signed_body([], None)),
        "signed-trailer-crc32c": (
            f"{signed_trailer} 180 x-amz-checksum-crc32c",
            signed_body([text[:128], text[128:180]], [crc32c]),
        ),
        "signed-trailer-doc-form": (
            f"{signed_trailer} 10 x-amz-checksum-crc32c",
            signed_body([text[:10]], [crc32c_10], blank=True),
        ),
        "unsigned-crc32-botocore": (
            f"{unsigned} 180 x-amz-checksum-crc32",
            botocore_body(text, "x-amz-checksum-crc32", httpchecksum.Crc32Checksum),
        ),
        "unsigned-sha256-botocore": (
            f"{unsigned} 5 x-amz-checksum-sha256",
            botocore_body(b"hello", "x-amz-checksum-sha256", httpchecksum.Sha256Checksum),
        ),
        "unsigned-crc64nvme-empty": (
            f"{unsigned} 0 x-amz-checksum-crc64nvme",
            botocore_body(b"", "x-amz-checksum-crc64nvme", httpchecksum.CrtCrc64NvmeChecksum),
        ),
        "unsigned-no-trailer": (f"{unsigned} 3", b"3\r\nabc\r\n0\r\n\r\n"),
        "bare-body": ("", b"0\r\n\r\n"),
    }
    directory = FUZZ_DIR / "seeds" / "chunked"
    directory.mkdir(parents=True, exist_ok=True)
    for name, (line, body) in seeds.items():
        data = (line.encode() + b"\n" + body) if line else body
        if line:  # every seed with a header line decodes cleanly
            outcome = decode(ChunkedDecoder.from_request(request(line), VERIFIED), iter((body,)))
            assert not isinstance(outcome, str), (name, outcome)
        (directory / name).write_bytes(data)


def main() -> None:
    if sys.argv[1:] == ["--make-seeds"]:
        make_seeds()
        return
    run(test_one_input)


if __name__ == "__main__":
    main()
