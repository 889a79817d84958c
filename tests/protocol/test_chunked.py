"""The aws-chunked decoder: AWS's worked examples, botocore's own bodies, every way of splitting
them, and each way a body can be wrong.

Signed bodies are built by `sign_body` below, an independent writer of the AWS grammar; it is
itself checked against the signatures printed in AWS's examples
(https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
.../sigv4-streaming-trailers.html). Unsigned-trailer bodies come from botocore
(`AwsChunkedWrapper`, and a stock `put_object` captured before sending).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore import httpchecksum
from botocore.config import Config

from zas.protocol.checksum_algorithms import ChecksumAlgorithm, checksum, decode
from zas.protocol.chunked import (
    MAX_LINE,
    NEED_DATA,
    ChunkedDecoder,
    ChunkSigning,
    Data,
    EndOfBody,
    StreamingMode,
    Trailers,
    parse_declared_trailers,
    parse_streaming_mode,
)
from zas.protocol.errors import (
    IncompleteBody,
    InvalidArgument,
    InvalidRequest,
    MalformedTrailerError,
    MissingContentLength,
    NotImplementedOperation,
    S3Error,
    SignatureDoesNotMatch,
)
from zas.protocol.http import HttpRequest
from zas.protocol.sigv4 import (
    EMPTY_SHA256,
    PayloadHash,
    PayloadKind,
    SigningKeyScope,
    VerifiedSignature,
    signing_key,
)

# AWS's example credentials, date and scope.
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SCOPE = SigningKeyScope("20130524", "us-east-1", "s3")
AMZ_DATE = "20130524T000000Z"
KEY = signing_key(SECRET, SCOPE)

# sigv4-streaming.html, "Example: PUT Object": 65 KiB of 'a' in chunks of 64 KiB and 1 KiB.
DOC_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
DOC_CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
# sigv4-streaming-trailers.html, same body with a CRC32C trailer.
DOC_TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
DOC_TRAILER_CHUNK_SIGNATURES = (
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
)
DOC_TRAILER = ("x-amz-checksum-crc32c", "sOO8/Q==")
DOC_TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
DOC_CHUNKS = (b"a" * 65536, b"a" * 1024)


def _hmac_hex(string: str) -> str:
    return hmac.new(KEY, string.encode(), hashlib.sha256).hexdigest()


def sign_body(
    chunks: tuple[bytes, ...] | list[bytes],
    seed: str,
    trailers: list[tuple[str, str]] | None = None,
    *,
    blank_before_trailers: bool = False,
) -> tuple[bytes, list[str]]:
    """A signed aws-chunked body and its chunk signatures (+ trailer signature, if trailers)."""
    out, signatures, previous = bytearray(), [], seed
    for data in [*chunks, b""]:
        previous = _hmac_hex(
            f"AWS4-HMAC-SHA256-PAYLOAD\n{AMZ_DATE}\n{SCOPE}\n{previous}\n{EMPTY_SHA256}\n"
            + hashlib.sha256(data).hexdigest()
        )
        signatures.append(previous)
        out += b"%x;chunk-signature=%s\r\n" % (len(data), previous.encode())
        if data:
            out += data + b"\r\n"
    if trailers is None:
        return bytes(out + b"\r\n"), signatures
    if blank_before_trailers:
        out += b"\r\n"
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
    trailer_signature = _hmac_hex(
        f"AWS4-HMAC-SHA256-TRAILER\n{AMZ_DATE}\n{SCOPE}\n{previous}\n"
        + hashlib.sha256(canonical.encode()).hexdigest()
    )
    signatures.append(trailer_signature)
    for name, value in trailers:
        out += f"{name}:{value}\r\n".encode()
    out += f"x-amz-trailer-signature:{trailer_signature}\r\n\r\n".encode()
    return bytes(out), signatures


def signing(seed: str) -> ChunkSigning:
    return ChunkSigning(seed_signature=seed, signing_key=KEY, amz_date=AMZ_DATE, scope=str(SCOPE))


def unsigned_body(chunks: list[bytes], trailers: list[tuple[str, str]]) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n"
    return out + b"".join(f"{n}:{v}\r\n".encode() for n, v in trailers) + b"\r\n"


# --- running a decoder ----------------------------------------------------------------


def whole(body: bytes) -> Iterator[bytes]:
    yield body


def byte_by_byte(body: bytes) -> Iterator[bytes]:
    for index in range(len(body)):
        yield body[index : index + 1]


def random_splits(seed: int) -> Callable[[bytes], Iterator[bytes]]:
    def split(body: bytes) -> Iterator[bytes]:
        rng, start = random.Random(seed), 0
        while start < len(body):
            size = rng.choice((1, 2, 3, 17, 100, 4096, 70_000))
            yield body[start : start + size]
            start += size

    return split


SPLITS = {
    "whole": whole,
    "byte-by-byte": byte_by_byte,
    "random-1": random_splits(1),
    "random-2": random_splits(2),
}


def run(
    decoder: ChunkedDecoder, body: bytes, split: Callable[[bytes], Iterator[bytes]] = whole
) -> tuple[bytes, dict[str, str] | None]:
    """Feed the body as `split` cuts it; return the decoded bytes and trailers (None if none)."""
    out = bytearray()
    trailers: dict[str, str] | None = None
    ended = False

    def drain() -> None:
        nonlocal trailers, ended
        if ended:  # EndOfBody repeats; nothing else may follow it
            assert decoder.next_event() == EndOfBody()
            return
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, Data):
                assert event.data
                out.extend(event.data)
            elif isinstance(event, Trailers):
                assert trailers is None
                trailers = dict(event.headers)
            else:
                assert isinstance(event, EndOfBody)
                ended = True
                return

    for piece in split(body):
        decoder.feed(piece)
        drain()
    decoder.feed_eof()
    drain()
    assert ended
    return bytes(out), trailers


# --- AWS's worked examples ------------------------------------------------------------


def test_given_aws_example_then_test_signer_reproduces_its_signatures() -> None:
    _, signatures = sign_body(DOC_CHUNKS, DOC_SEED)
    assert tuple(signatures) == DOC_CHUNK_SIGNATURES
    _, signatures = sign_body(DOC_CHUNKS, DOC_TRAILER_SEED, [DOC_TRAILER])
    assert tuple(signatures) == (*DOC_TRAILER_CHUNK_SIGNATURES, DOC_TRAILER_SIGNATURE)
    # ... and the example's trailer value is the CRC32C of its 66,560 bytes of 'a'.
    assert decode(ChecksumAlgorithm.CRC32C, DOC_TRAILER[1]) == checksum(
        ChecksumAlgorithm.CRC32C, b"".join(DOC_CHUNKS)
    )


@pytest.mark.parametrize("split", SPLITS)
def test_given_aws_signed_example_when_fed_any_way_then_payload_decoded(split: str) -> None:
    body = (
        b"10000;chunk-signature=" + DOC_CHUNK_SIGNATURES[0].encode() + b"\r\n"
        + DOC_CHUNKS[0] + b"\r\n"
        + b"400;chunk-signature=" + DOC_CHUNK_SIGNATURES[1].encode() + b"\r\n"
        + DOC_CHUNKS[1] + b"\r\n"
        + b"0;chunk-signature=" + DOC_CHUNK_SIGNATURES[2].encode() + b"\r\n\r\n"
    )  # fmt: skip
    decoder = ChunkedDecoder(StreamingMode.SIGNED, 66560, signing=signing(DOC_SEED))
    data, trailers = run(decoder, body, SPLITS[split])
    assert data == b"a" * 66560
    assert trailers is None
    assert decoder.decoded_bytes == 66560


@pytest.mark.parametrize("blank", [False, True], ids=["sdk-form", "doc-form"])
@pytest.mark.parametrize("split", SPLITS)
def test_given_aws_trailer_example_when_fed_any_way_then_payload_and_trailer(
    split: str, blank: bool
) -> None:
    body, _ = sign_body(DOC_CHUNKS, DOC_TRAILER_SEED, [DOC_TRAILER], blank_before_trailers=blank)
    assert DOC_TRAILER_SIGNATURE.encode() in body
    decoder = ChunkedDecoder(
        StreamingMode.SIGNED_TRAILER,
        66560,
        signing=signing(DOC_TRAILER_SEED),
        declared_trailers=["x-amz-checksum-crc32c"],
    )
    data, trailers = run(decoder, body, SPLITS[split])
    assert data == b"a" * 66560
    assert trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}


# --- botocore's bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "checksum_cls"),
    [
        ("crc32", httpchecksum.Crc32Checksum),
        ("crc32c", httpchecksum.CrtCrc32cChecksum),
        ("crc64nvme", httpchecksum.CrtCrc64NvmeChecksum),
        ("sha1", httpchecksum.Sha1Checksum),
        ("sha256", httpchecksum.Sha256Checksum),
    ],
)
@pytest.mark.parametrize("size", [0, 1, 1000, 70_001])
def test_given_botocore_unsigned_trailer_body_then_decoded_with_its_checksum(
    algorithm: str, checksum_cls: Any, size: int
) -> None:
    payload = random.Random(size).randbytes(size)
    header = f"x-amz-checksum-{algorithm}"
    wrapper = httpchecksum.AwsChunkedWrapper(
        io.BytesIO(payload), checksum_cls=checksum_cls, checksum_name=header, chunk_size=8192
    )
    body = wrapper.read()
    for name, split in SPLITS.items():
        if name == "byte-by-byte" and size > 2000:
            continue  # the small bodies cover byte-by-byte; this one would only be slow
        decoder = ChunkedDecoder(StreamingMode.UNSIGNED_TRAILER, size, declared_trailers=[header])
        data, trailers = run(decoder, body, split)
        assert data == payload
        assert trailers is not None
        expected = checksum(ChecksumAlgorithm(algorithm.upper()), payload)
        assert decode(ChecksumAlgorithm(algorithm.upper()), trailers[header]) == expected


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Captured(request)


@pytest.mark.parametrize(
    "params",
    [
        {"Body": b"hello world" * 1000},
        {"Body": io.BytesIO(b"")},
        {"Body": io.BytesIO(b"x" * 300_000), "ChecksumAlgorithm": "CRC64NVME"},
        {"Body": b"abc", "ChecksumAlgorithm": "SHA256"},
    ],
    ids=["bytes", "empty", "crc64nvme", "sha256"],
)
def test_given_stock_boto3_put_object_then_request_decodes(params: dict[str, Any]) -> None:
    """Today's boto3 default (checksum in a trailer of an unsigned aws-chunked body) decodes."""
    client = boto3.client(
        "s3",
        endpoint_url="https://s3.zas.test",
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}),
    )
    client.meta.events.register("before-send", _capture)
    with pytest.raises(_Captured) as captured:
        client.put_object(Bucket="bucket", Key="key", **params)
    sent = captured.value.request
    headers = [(name, value.decode("latin-1")) for name, value in sent.headers.items()]
    request = HttpRequest.from_wire("PUT", "/bucket/key", "", headers)
    raw = sent.body.read() if hasattr(sent.body, "read") else sent.body
    body = params["Body"]
    payload = body if isinstance(body, bytes) else body.getvalue()

    decoder = ChunkedDecoder.from_request(request, None)
    assert decoder.mode is StreamingMode.UNSIGNED_TRAILER
    data, trailers = run(decoder, raw, SPLITS["random-1"])
    assert data == payload
    algorithm = ChecksumAlgorithm(params.get("ChecksumAlgorithm", "CRC32"))
    assert trailers is not None
    assert decode(algorithm, trailers[algorithm.header]) == checksum(algorithm, payload)


def test_given_signed_request_then_from_request_takes_signing_context() -> None:
    verified = VerifiedSignature(
        access_key="AKIAIOSFODNN7EXAMPLE",
        scope=SCOPE,
        signature=DOC_SEED,
        amz_date=datetime(2013, 5, 24, tzinfo=UTC),
        signing_key=KEY,
        payload=PayloadHash(PayloadKind.STREAMING, StreamingMode.SIGNED.value),
        presigned=False,
    )
    request = HttpRequest.from_wire(
        "PUT",
        "/examplebucket/chunkObject.txt",
        "",
        [
            ("x-amz-content-sha256", StreamingMode.SIGNED.value),
            ("x-amz-decoded-content-length", "66560"),
            ("content-encoding", "aws-chunked"),
        ],
    )
    decoder = ChunkedDecoder.from_request(request, verified)
    body, _ = sign_body(DOC_CHUNKS, DOC_SEED)
    assert run(decoder, body)[0] == b"a" * 66560
    with pytest.raises(InvalidRequest):
        ChunkedDecoder.from_request(request, None)


# --- more shapes of valid bodies ----------------------------------------------------------


def test_given_many_small_signed_chunks_and_two_trailers_then_decoded() -> None:
    rng = random.Random(5)
    chunks = [rng.randbytes(rng.randrange(1, 300)) for _ in range(40)]
    trailers = [("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-checksum-sha1", "x" * 28)]
    body, _ = sign_body(chunks, "f" * 64, trailers)
    for split in SPLITS.values():
        decoder = ChunkedDecoder(
            StreamingMode.SIGNED_TRAILER,
            sum(map(len, chunks)),
            signing=signing("f" * 64),
            declared_trailers=["x-amz-checksum-sha1", "x-amz-checksum-crc32"],
        )
        data, got = run(decoder, body, split)
        assert data == b"".join(chunks)
        assert got == dict(trailers)


def test_given_uppercase_hex_sizes_and_signatures_then_accepted() -> None:
    body, signatures = sign_body([b"z" * 26], DOC_SEED)
    body = body.replace(b"1a;", b"1A;").replace(
        signatures[0].encode(), signatures[0].upper().encode()
    )
    decoder = ChunkedDecoder(StreamingMode.SIGNED, 26, signing=signing(DOC_SEED))
    assert run(decoder, body)[0] == b"z" * 26


def test_given_large_chunk_fed_in_pieces_then_emitted_without_buffering_it_whole() -> None:
    """A 4 MiB chunk fed 64 KiB at a time comes out 64 KiB at a time, the input objects as is."""
    payload = random.Random(1).randbytes(4 << 20)
    body, _ = sign_body([payload], DOC_SEED)
    decoder = ChunkedDecoder(StreamingMode.SIGNED, len(payload), signing=signing(DOC_SEED))
    header_length = body.index(b"\r\n") + 2
    decoder.feed(body[:header_length])
    assert decoder.next_event() is NEED_DATA
    out = []
    for start in range(header_length, len(body), 65536):
        piece = body[start : start + 65536]
        decoder.feed(piece)
        events = list(decoder.events())
        assert len(events) <= 2
        for event in events:
            if isinstance(event, Data):
                assert len(event.data) <= 65536
                if len(event.data) == len(piece):
                    assert event.data is piece  # handed through without a copy
                out.append(event.data)
    decoder.feed_eof()
    assert isinstance(list(decoder.events())[-1], EndOfBody)
    assert b"".join(out) == payload


def test_given_empty_unsigned_body_without_trailers_then_empty_trailers() -> None:
    decoder = ChunkedDecoder(StreamingMode.UNSIGNED_TRAILER, 0)
    assert run(decoder, b"0\r\n\r\n") == (b"", {})


def test_given_events_iterator_then_stops_at_need_data_and_at_end() -> None:
    decoder = ChunkedDecoder(StreamingMode.UNSIGNED_TRAILER, 3)
    decoder.feed(b"3\r\nab")
    assert list(decoder.events()) == [Data(b"ab")]
    decoder.feed(b"c\r\n0\r\n\r\n")
    assert list(decoder.events()) == [Data(b"c"), Trailers({}), EndOfBody()]
    assert decoder.next_event() == EndOfBody()


# --- errors -----------------------------------------------------------------------------


def _expect(
    error: type[S3Error],
    decoder_factory: Callable[[], ChunkedDecoder],
    body: bytes,
    splits: tuple[str, ...] = tuple(SPLITS),
) -> S3Error:
    """Every way of feeding `body` raises `error`; the decoder then keeps raising it."""
    raised: S3Error | None = None
    for name in splits:
        decoder = decoder_factory()
        with pytest.raises(error) as info:
            run(decoder, body, SPLITS[name])
        with pytest.raises(error):
            decoder.next_event()
        raised = info.value
    assert raised is not None
    return raised


def _signed(length: int = 66560, seed: str = DOC_SEED) -> Callable[[], ChunkedDecoder]:
    return lambda: ChunkedDecoder(StreamingMode.SIGNED, length, signing=signing(seed))


def _signed_trailer(length: int = 66560) -> Callable[[], ChunkedDecoder]:
    return lambda: ChunkedDecoder(
        StreamingMode.SIGNED_TRAILER,
        length,
        signing=signing(DOC_TRAILER_SEED),
        declared_trailers=["x-amz-checksum-crc32c"],
    )


def _unsigned(
    length: int, declared: tuple[str, ...] = ("x-amz-checksum-crc32",)
) -> Callable[[], ChunkedDecoder]:
    return lambda: ChunkedDecoder(
        StreamingMode.UNSIGNED_TRAILER, length, declared_trailers=declared
    )


def test_given_tampered_chunk_data_then_signature_does_not_match() -> None:
    body, _ = sign_body(DOC_CHUNKS, DOC_SEED)
    tampered = body.replace(b"a" * 10, b"a" * 9 + b"b", 1)
    _expect(SignatureDoesNotMatch, _signed(), tampered)


def test_given_wrong_seed_then_first_chunk_fails() -> None:
    body, _ = sign_body(DOC_CHUNKS, "0" * 64)
    _expect(SignatureDoesNotMatch, _signed(), body)


def test_given_chunks_reordered_then_signature_does_not_match() -> None:
    body, _ = sign_body([b"x" * 10, b"y" * 10], DOC_SEED)
    first = body.index(b"\r\n", body.index(b"x" * 10)) + 2
    second = body.index(b"\r\n", body.index(b"y" * 10)) + 2
    swapped = body[first:second] + body[:first] + body[second:]
    _expect(SignatureDoesNotMatch, _signed(20), swapped)


def test_given_bad_final_chunk_signature_then_signature_does_not_match() -> None:
    body, signatures = sign_body([b"x" * 10], DOC_SEED)
    bad = body.replace(signatures[-1].encode(), b"0" * 64)
    _expect(SignatureDoesNotMatch, _signed(10), bad)


def test_given_bad_chunk_signature_when_chunk_arrives_whole_then_none_of_it_is_emitted() -> None:
    body, signatures = sign_body([b"secret" * 10], DOC_SEED)
    decoder = ChunkedDecoder(StreamingMode.SIGNED, 60, signing=signing(DOC_SEED))
    decoder.feed(body.replace(signatures[0].encode(), b"1" * 64))
    with pytest.raises(SignatureDoesNotMatch):
        decoder.next_event()


def test_given_bad_trailer_signature_or_tampered_trailer_then_signature_does_not_match() -> None:
    body, signatures = sign_body(DOC_CHUNKS, DOC_TRAILER_SEED, [DOC_TRAILER])
    _expect(
        SignatureDoesNotMatch, _signed_trailer(), body.replace(signatures[-1].encode(), b"e" * 64)
    )
    _expect(SignatureDoesNotMatch, _signed_trailer(), body.replace(b"sOO8/Q==", b"AAAAAA=="))


def test_given_signed_trailer_body_without_trailer_signature_then_malformed_trailer() -> None:
    body, signatures = sign_body(DOC_CHUNKS, DOC_TRAILER_SEED, [DOC_TRAILER])
    cut = body.replace(f"x-amz-trailer-signature:{signatures[-1]}\r\n".encode(), b"")
    _expect(MalformedTrailerError, _signed_trailer(), cut)


@pytest.mark.parametrize("keep", [0, 5, 30, 65600, -3, -1])
def test_given_truncated_body_then_incomplete_body(keep: int) -> None:
    body, _ = sign_body(DOC_CHUNKS, DOC_SEED)
    _expect(IncompleteBody, _signed(), body[:keep], ("whole", "random-1"))
    unsigned = unsigned_body([b"q" * 100], [("x-amz-checksum-crc32", "AAAAAA==")])
    _expect(IncompleteBody, _unsigned(100), unsigned[: keep % len(unsigned)], ("whole",))


def test_given_decoded_length_other_than_declared_then_incomplete_body_with_counts() -> None:
    body, _ = sign_body(DOC_CHUNKS, DOC_SEED)
    error = _expect(IncompleteBody, _signed(66561), body, ("whole",))
    assert error.details == {"NumberBytesExpected": "66561", "NumberBytesProvided": "66560"}
    error = _expect(IncompleteBody, _signed(66559), body, ("whole",))
    assert error.details["NumberBytesExpected"] == "66559"
    unsigned = unsigned_body([b"q" * 100], [])
    _expect(IncompleteBody, _unsigned(99, ()), unsigned)
    _expect(IncompleteBody, _unsigned(101, ()), unsigned)


@pytest.mark.parametrize(
    "header",
    [b"zz", b"", b"-1", b"0x10", b" 5", b"5 ", b"1" * 17, b"\xff", b"\xd9\xa1"],
)
def test_given_bad_hex_size_then_incomplete_body(header: bytes) -> None:
    _expect(IncompleteBody, _unsigned(5, ()), header + b"\r\nhello\r\n0\r\n\r\n")
    _expect(
        IncompleteBody, _signed(5), header + b";chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n"
    )


@pytest.mark.parametrize(
    "framing",
    [
        b"5\nhello\r\n0\r\n\r\n",  # bare LF
        b"5\r\nhelloXX\r\n0\r\n\r\n",  # data longer than its size
        b"5\r\nhello0\r\n\r\n",  # CRLF after data missing
        b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0\r\n\r\n",  # extension when unsigned
        b"5\r\nhello\r\n0\r\n\r\nextra",  # bytes after the end
    ],
)
def test_given_malformed_unsigned_framing_then_incomplete_body(framing: bytes) -> None:
    _expect(IncompleteBody, _unsigned(5, ()), framing)


@pytest.mark.parametrize(
    "extension",
    [b"", b";", b";chunk-signature=abc", b";chunk-signature=" + b"g" * 64, b";sig=" + b"0" * 64],
)
def test_given_missing_or_malformed_chunk_signature_then_incomplete_body(extension: bytes) -> None:
    _expect(IncompleteBody, _signed(5), b"5" + extension + b"\r\nhello\r\n")


def test_given_oversized_chunk_header_line_then_incomplete_body_before_reading_it_all() -> None:
    decoder = ChunkedDecoder(StreamingMode.UNSIGNED_TRAILER, 5)
    decoder.feed(b"5" + b"0" * (MAX_LINE - 4) + b"\r\n")  # exactly MAX_LINE with CRLF
    with pytest.raises(IncompleteBody):  # a size of 1,000-odd digits
        decoder.next_event()
    decoder = ChunkedDecoder(StreamingMode.UNSIGNED_TRAILER, 5)
    for _ in range(MAX_LINE):
        decoder.feed(b"0")
        if decoder.next_event() is not NEED_DATA:
            pytest.fail("a line longer than MAX_LINE was accepted")
    decoder.feed(b"0")
    with pytest.raises(IncompleteBody):
        decoder.next_event()


def test_given_trailer_problems_then_malformed_trailer() -> None:
    crc = ("x-amz-checksum-crc32", "AAAAAA==")
    sha = ("x-amz-checksum-sha256", "A" * 43 + "=")
    for declared, trailers in [
        (("x-amz-checksum-crc32",), [sha]),  # undeclared
        (("x-amz-checksum-crc32",), []),  # declared, missing
        (("x-amz-checksum-crc32",), [crc, crc]),  # repeated
        ((), [crc]),  # nothing declared
        (("x-amz-checksum-crc32",), [crc, ("x-amz-trailer-signature", "0" * 64)]),  # unsigned
    ]:
        _expect(MalformedTrailerError, _unsigned(3, declared), unsigned_body([b"abc"], trailers))
    for line in [b"x-amz-checksum-crc32 AAAAAA==", b":AAAAAA==", b"x-amz-checksum-crc32\xff:x"]:
        body = b"3\r\nabc\r\n0\r\n" + line + b"\r\n\r\n"
        _expect(MalformedTrailerError, _unsigned(3), body)


def test_given_trailers_in_signed_mode_without_trailers_then_malformed_trailer() -> None:
    body, _ = sign_body([b"abc"], DOC_SEED)
    body = body[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    _expect(MalformedTrailerError, _signed(3), body)
    with pytest.raises(MalformedTrailerError):
        ChunkedDecoder(
            StreamingMode.SIGNED,
            3,
            signing=signing(DOC_SEED),
            declared_trailers=["x-amz-checksum-crc32"],
        )


def test_given_signed_trailer_body_ending_after_final_chunk_then_malformed_trailer() -> None:
    body, _ = sign_body(DOC_CHUNKS, DOC_TRAILER_SEED)
    # The body is "0;chunk-signature=...\r\n\r\n" and nothing more.
    _expect(MalformedTrailerError, _signed_trailer(), body)

    def no_declared() -> ChunkedDecoder:
        return ChunkedDecoder(
            StreamingMode.SIGNED_TRAILER, 66560, signing=signing(DOC_TRAILER_SEED)
        )

    _expect(MalformedTrailerError, no_declared, body)
    signed_only, _ = sign_body(DOC_CHUNKS, DOC_TRAILER_SEED, [], blank_before_trailers=True)
    assert run(no_declared(), signed_only)[1] == {}
    _expect(IncompleteBody, no_declared, signed_only[:-2])  # final CRLF missing


def test_given_trailer_after_trailer_signature_then_malformed_trailer() -> None:
    body, _ = sign_body(DOC_CHUNKS, DOC_TRAILER_SEED, [DOC_TRAILER])
    _expect(
        MalformedTrailerError,
        _signed_trailer(),
        body[:-2] + b"x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n",
    )


def test_given_data_fed_after_the_end_then_incomplete_body() -> None:
    decoder = ChunkedDecoder(StreamingMode.UNSIGNED_TRAILER, 0)
    decoder.feed(b"0\r\n\r\n")
    assert list(decoder.events()) == [Trailers({}), EndOfBody()]
    with pytest.raises(IncompleteBody):
        decoder.feed(b"more")
    with pytest.raises(IncompleteBody):
        decoder.next_event()


# --- request headers ----------------------------------------------------------------------


def _request(**headers: str) -> HttpRequest:
    return HttpRequest.from_wire(
        "PUT", "/b/k", "", [(name.replace("_", "-"), value) for name, value in headers.items()]
    )


def test_given_request_headers_then_mode_length_and_trailers_parsed_or_refused() -> None:
    unsigned = StreamingMode.UNSIGNED_TRAILER.value
    decoder = ChunkedDecoder.from_request(
        _request(
            x_amz_content_sha256=unsigned,
            x_amz_decoded_content_length="7",
            x_amz_trailer="X-Amz-Checksum-CRC32C",
        ),
        None,
    )
    assert (decoder.mode, decoder.decoded_length) == (StreamingMode.UNSIGNED_TRAILER, 7)
    with pytest.raises(MissingContentLength):
        ChunkedDecoder.from_request(_request(x_amz_content_sha256=unsigned), None)
    with pytest.raises(InvalidArgument):
        ChunkedDecoder.from_request(
            _request(x_amz_content_sha256=unsigned, x_amz_decoded_content_length="-1"), None
        )
    with pytest.raises(InvalidRequest):
        parse_declared_trailers("x-amz-meta-foo")
    assert parse_declared_trailers(" x-amz-checksum-crc32 , x-amz-checksum-sha1") == {
        "x-amz-checksum-crc32",
        "x-amz-checksum-sha1",
    }
    with pytest.raises(NotImplementedOperation):
        parse_streaming_mode("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
    with pytest.raises(InvalidArgument):
        parse_streaming_mode("STREAMING-NONSENSE")
