"""aws-chunked request bodies (S3 streaming uploads): an incremental, sans-IO decoder.

The caller feeds the raw HTTP body as it arrives and pulls events, in the manner of h11:

    decoder = ChunkedDecoder.from_request(request, verified)   # or ChunkedDecoder(...)
    for each piece of the body:
        decoder.feed(piece)
        while (event := decoder.next_event()) is not NEED_DATA:
            Data(bytes)      -> decoded object bytes, in order: hash and write them
            Trailers(dict)   -> trailing headers (x-amz-checksum-*), signature already checked
            EndOfBody()      -> the body is complete and every signature checked out
    at the end of the HTTP body: decoder.feed_eof(), then drain next_event() as above.

Any problem raises an `S3Error` from `next_event` (or `feed`): malformed framing and a decoded
length other than `x-amz-decoded-content-length` -> IncompleteBody, a bad chunk or trailer
signature -> SignatureDoesNotMatch, a trailer that is undeclared, missing, repeated or
malformed -> `MalformedTrailerError` (see `_malformed_trailer`). After an error the decoder
repeats it. Nothing here reads a socket, a clock or a file.

Memory is bounded: data leaves as it arrives, so a 64 MiB chunk is never held whole; only a
chunk header or trailer line is collected (at most `MAX_LINE` bytes), plus whatever the caller
fed and has not drained yet (feed the next piece after NEED_DATA). The price of streaming: a
chunk's signature can only be checked at the chunk's end, after most of its data was emitted
(the last piece of each chunk is held back until its signature checks out). So the data of a
chunk whose signature fails has partly been handed out already: **the caller must treat the
whole upload as failed on any error and store nothing** (discard the temp blob), and only
commit after EndOfBody.

The three framings (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html):

    STREAMING-AWS4-HMAC-SHA256-PAYLOAD
      chunk      = hex(size) ";chunk-signature=" 64HEXDIG CRLF data CRLF
      body       = 1*chunk                                  ; the last one has size 0
    STREAMING-UNSIGNED-PAYLOAD-TRAILER
      chunk      = hex(size) CRLF data CRLF ; last-chunk = "0" CRLF
      body       = *chunk last-chunk *(trailer CRLF) CRLF   ; trailer = name ":" value
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
      body       = *chunk last-chunk *(trailer CRLF) "x-amz-trailer-signature:" 64HEXDIG CRLF CRLF

    chunk signature   = HMAC(kSigning, "AWS4-HMAC-SHA256-PAYLOAD" \\n amz-date \\n scope \\n
                             previous-signature \\n sha256("") \\n sha256(chunk-data))
    trailer signature = HMAC(kSigning, "AWS4-HMAC-SHA256-TRAILER" \\n amz-date \\n scope \\n
                             previous-signature \\n sha256(trailer lines as "name:value\\n"))

The previous signature of the first chunk is the request's own (seed) signature; that of the
trailer is the final (zero-size) chunk's. AWS's worked trailer example shows a blank line
between the final chunk and the trailers, which SDKs do not send; one such line is accepted.

Error codes follow what S3 answers, as the versitygw project recorded against AWS: any
malformed framing and a decoded-length mismatch are `IncompleteBody`; trailer problems are
`MalformedTrailerError`. S3 also refuses non-final chunks under 8 KiB (InvalidChunkSizeError);
ZAS accepts them: botocore's AwsChunkedWrapper sends whatever one read of its source returns,
which a pipe or socket can make short.
"""

from __future__ import annotations

import collections
import enum
import hashlib
import hmac
import re
from collections.abc import Collection, Iterator, Mapping

import attrs

from zas.protocol.checksum_algorithms import algorithm_for_header
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
from zas.protocol.http import HttpRequest, parse_int
from zas.protocol.sigv4 import EMPTY_SHA256, VerifiedSignature

# A chunk header is ~100 bytes ("10000;chunk-signature=<64 hex>\r\n"), a checksum trailer
# under 80; anything near this long is not aws-chunked.
MAX_LINE = 1024
# 16 hex digits cover any size; the decoded length bounds the real value long before that.
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_CHUNK_SIGNATURE = re.compile(rb"chunk-signature=([0-9a-fA-F]{64})")
_TRAILER_NAME = re.compile(r"[a-z0-9-]{1,128}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
TRAILER_SIGNATURE = "x-amz-trailer-signature"
_TERMINATED = "The request body terminated unexpectedly"

Buffer = bytes | bytearray | memoryview


class StreamingMode(enum.Enum):
    """The aws-chunked variants, named by their `x-amz-content-sha256` value."""

    SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    @property
    def signed(self) -> bool:
        return self is not StreamingMode.UNSIGNED_TRAILER

    @property
    def trailer(self) -> bool:
        return self is not StreamingMode.SIGNED


def parse_streaming_mode(value: str) -> StreamingMode:
    try:
        return StreamingMode(value)
    except ValueError:
        pass
    if value.startswith("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"):
        raise NotImplementedOperation(f"x-amz-content-sha256 {value} (SigV4a) is not supported")
    raise InvalidArgument(
        "x-amz-content-sha256 names an unknown streaming payload type",
        ArgumentName="x-amz-content-sha256",
        ArgumentValue=value[:64],
    )


def parse_declared_trailers(value: str | None) -> frozenset[str]:
    """The `x-amz-trailer` header: comma-separated names, each an x-amz-checksum-* header."""
    if value is None or not value.strip():
        return frozenset()
    names = [name.strip().lower() for name in value.split(",")]
    for name in names:
        if algorithm_for_header(name) is None:
            raise InvalidRequest(
                f"The value specified in the x-amz-trailer header is not supported: {name[:64]!r}"
            )
    return frozenset(names)


def _malformed_trailer(detail: str) -> S3Error:
    # S3 answers MalformedTrailerError for a malformed trailer, a trailer not declared in
    # x-amz-trailer, and a declared one that is missing.
    return MalformedTrailerError(
        "The request contained trailing data that was not well-formed or did not conform to "
        f"our published schema: {detail}"
    )


@attrs.frozen
class ChunkSigning:
    """What checking chunk signatures needs from the request's verified SigV4 signature."""

    seed_signature: str
    signing_key: bytes = attrs.field(repr=False)
    amz_date: str  # YYYYMMDD'T'HHMMSS'Z', as in the string to sign
    scope: str  # date/region/service/aws4_request

    @classmethod
    def from_verified(cls, verified: VerifiedSignature) -> ChunkSigning:
        return cls(
            seed_signature=verified.signature.lower(),
            signing_key=verified.signing_key,
            amz_date=verified.amz_date.strftime(_AMZ_DATE),
            scope=str(verified.scope),
        )


# --- events ------------------------------------------------------------------------------


@attrs.frozen
class Data:
    """Decoded object bytes, in order."""

    data: bytes


@attrs.frozen
class Trailers:
    """The trailing headers (lower-case names, values trimmed), after their signature checked.

    Emitted once in the trailer modes, before EndOfBody, possibly empty; never in SIGNED mode.
    """

    headers: Mapping[str, str]


@attrs.frozen
class EndOfBody:
    """The body ended well: decoded length matched and every signature checked out."""


@attrs.frozen
class NeedData:
    """Nothing more until the caller feeds more bytes (or `feed_eof`)."""


NEED_DATA = NeedData()
Event = Data | Trailers | EndOfBody | NeedData


class _State(enum.Enum):
    CHUNK_HEADER = enum.auto()
    CHUNK_DATA = enum.auto()
    CHUNK_END = enum.auto()  # the CRLF after a chunk's data
    FINAL_CRLF = enum.auto()  # SIGNED mode: the CRLF after the zero-size chunk
    TRAILER_FIRST = enum.auto()
    TRAILER = enum.auto()
    END = enum.auto()  # Trailers emitted, EndOfBody next
    DONE = enum.auto()


class ChunkedDecoder:
    """Incremental aws-chunked decoder; see the module docstring for the protocol."""

    def __init__(
        self,
        mode: StreamingMode,
        decoded_length: int,
        *,
        signing: ChunkSigning | None = None,
        declared_trailers: Collection[str] = (),
    ) -> None:
        if mode.signed and signing is None:
            raise ValueError(f"{mode.value} needs the request's signing context")
        if decoded_length < 0:
            raise ValueError("decoded_length must be >= 0")
        self.mode = mode
        self.decoded_length = decoded_length
        self.decoded_bytes = 0
        self.declared_trailers = frozenset(name.lower() for name in declared_trailers)
        self._declared = self.declared_trailers
        if self._declared and not mode.trailer:
            raise _malformed_trailer(f"x-amz-trailer is set but {mode.value} has no trailers")
        self._signing = signing if mode.signed else None
        self._previous = signing.seed_signature.lower() if signing is not None else ""
        if signing is not None:
            head = f"\n{signing.amz_date}\n{signing.scope}\n"
            self._chunk_prefix = "AWS4-HMAC-SHA256-PAYLOAD" + head
            self._trailer_prefix = "AWS4-HMAC-SHA256-TRAILER" + head

        self._pieces: collections.deque[bytes] = collections.deque()
        self._offset = 0  # into self._pieces[0]
        self._line = bytearray()
        self._eof = False
        self._error: S3Error | None = None
        self._state = _State.CHUNK_HEADER

        self._chunk_left = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()

        self._trailers: dict[str, str] = {}
        self._canonical_trailers: list[str] = []
        self._trailer_signed = False
        self._blank_skipped = False

    @classmethod
    def from_request(
        cls, request: HttpRequest, verified: VerifiedSignature | None
    ) -> ChunkedDecoder:
        """A decoder for a request whose `x-amz-content-sha256` is a STREAMING-* value.

        Reads `x-amz-content-sha256`, `x-amz-decoded-content-length` (required, as AWS
        requires it) and `x-amz-trailer`; the signed modes need the verified signature.
        """
        mode = parse_streaming_mode(request.header("x-amz-content-sha256") or "")
        raw_length = request.header("x-amz-decoded-content-length")
        if raw_length is None:
            raise MissingContentLength(
                "aws-chunked uploads must send the x-amz-decoded-content-length header."
            )
        decoded_length = parse_int(raw_length, "x-amz-decoded-content-length")
        declared = parse_declared_trailers(request.header("x-amz-trailer"))
        signing = None
        if mode.signed:
            if verified is None:
                raise InvalidRequest(f"x-amz-content-sha256 {mode.value} needs a signed request")
            signing = ChunkSigning.from_verified(verified)
        return cls(mode, decoded_length, signing=signing, declared_trailers=declared)

    # --- the caller's side -------------------------------------------------------------

    def feed(self, data: Buffer) -> None:
        """Hand over the next bytes of the HTTP body (any size, including empty).

        Raises IncompleteBody if bytes arrive after EndOfBody was returned.
        """
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        if not data:
            return
        if self._state is _State.DONE and self._error is None:
            self._error = IncompleteBody("The request body continues after the final chunk")
            raise self._error
        self._pieces.append(data if isinstance(data, bytes) else bytes(data))

    def feed_eof(self) -> None:
        """The HTTP body has ended; a decoder not at its end then raises IncompleteBody."""
        self._eof = True

    def next_event(self) -> Event:
        if self._error is not None:
            raise self._error
        try:
            return self._next_event()
        except S3Error as exc:
            self._error = exc
            raise

    def events(self) -> Iterator[Data | Trailers | EndOfBody]:
        """Every event available now, up to NEED_DATA (not yielded) or EndOfBody."""
        while True:
            event = self.next_event()
            if isinstance(event, NeedData):
                return
            yield event
            if isinstance(event, EndOfBody):
                return

    # --- the state machine -------------------------------------------------------------

    def _next_event(self) -> Event:
        while True:
            state = self._state
            if state is _State.CHUNK_DATA:
                return self._data() or self._need_data()
            if state is _State.END:
                return self._end()
            if state is _State.DONE:
                return EndOfBody()
            line = self._read_line()
            if line is None:
                if self._eof and self._blank_skipped and not (self._line or self._trailers_seen):
                    # "0\r\n\r\n" and the end, though trailers were due: the trailers are
                    # missing (MalformedTrailerError), not the body cut short.
                    return self._finish_trailers()
                return self._need_data()
            if state is _State.CHUNK_HEADER:
                self._chunk_header(line)
            elif state is _State.CHUNK_END:
                if line:
                    raise IncompleteBody("A chunk's data is longer than its declared size")
                self._state = _State.CHUNK_HEADER
            elif state is _State.FINAL_CRLF:
                if line:
                    raise _malformed_trailer(f"{self.mode.value} bodies carry no trailers")
                return self._end()
            else:
                trailers = self._trailer_line(line)
                if trailers is not None:
                    return trailers

    def _need_data(self) -> NeedData:
        if self._eof:
            raise IncompleteBody(_TERMINATED)
        return NEED_DATA

    def _end(self) -> EndOfBody:
        if self._pieces:
            raise IncompleteBody("The request body continues after the final chunk")
        self._state = _State.DONE
        return EndOfBody()

    def _read_line(self) -> bytes | None:
        """The next CRLF-terminated line without its CRLF, or None until more bytes arrive."""
        pieces, line = self._pieces, self._line
        while pieces:
            piece, start = pieces[0], self._offset
            newline = piece.find(b"\n", start)
            stop = len(piece) if newline < 0 else newline + 1
            if len(line) + stop - start > MAX_LINE:
                raise IncompleteBody(f"A chunk header or trailer line exceeds {MAX_LINE} bytes")
            line += memoryview(piece)[start:stop]
            if stop == len(piece):
                pieces.popleft()
                self._offset = 0
            else:
                self._offset = stop
            if newline >= 0:
                if len(line) < 2 or line[-2] != 0x0D:
                    raise IncompleteBody("aws-chunked lines must end with CRLF")
                complete = bytes(line[:-2])
                line.clear()
                return complete
        return None

    def _chunk_header(self, line: bytes) -> None:
        size_field, sep, extension = line.partition(b";")
        if not _CHUNK_SIZE.fullmatch(size_field):
            raise IncompleteBody("Invalid chunk size in aws-chunked body")
        size = int(size_field, 16)
        signature = ""
        if self._signing is not None:
            match = _CHUNK_SIGNATURE.fullmatch(extension) if sep else None
            if match is None:
                raise IncompleteBody("Each chunk needs ';chunk-signature=<64 hex digits>'")
            signature = match.group(1).decode("ascii").lower()
        elif sep:
            raise IncompleteBody(f"{self.mode.value} chunks carry no chunk extensions")
        if self.decoded_bytes + size > self.decoded_length:
            raise self._length_mismatch(self.decoded_bytes + size)
        if size == 0:
            if self._signing is not None:
                self._verify_chunk(signature, EMPTY_SHA256)
            if self.decoded_bytes != self.decoded_length:
                raise self._length_mismatch(self.decoded_bytes)
            self._state = _State.TRAILER_FIRST if self.mode.trailer else _State.FINAL_CRLF
            return
        self._chunk_left = size
        self._chunk_signature = signature
        if self._signing is not None:
            self._chunk_hash = hashlib.sha256()
        self._state = _State.CHUNK_DATA

    def _data(self) -> Data | None:
        if not self._pieces:
            return None
        piece, start = self._pieces[0], self._offset
        take = min(len(piece) - start, self._chunk_left)
        # A whole piece (the common case inside large chunks) slices to itself: no copy.
        out = piece[start : start + take]
        if start + take == len(piece):
            self._pieces.popleft()
            self._offset = 0
        else:
            self._offset = start + take
        self._chunk_left -= take
        self.decoded_bytes += take
        if self._signing is not None:
            self._chunk_hash.update(out)
            if self._chunk_left == 0:
                # Checked before the chunk's last piece leaves, so a chunk that arrived in one
                # piece is never emitted unverified.
                self._verify_chunk(self._chunk_signature, self._chunk_hash.hexdigest())
        if self._chunk_left == 0:
            self._state = _State.CHUNK_END
        return Data(out)

    def _verify_chunk(self, claimed: str, data_sha256: str) -> None:
        assert self._signing is not None
        string_to_sign = f"{self._chunk_prefix}{self._previous}\n{EMPTY_SHA256}\n{data_sha256}"
        self._previous = self._check(claimed, string_to_sign, "chunk")

    def _check(self, claimed: str, string_to_sign: str, what: str) -> str:
        assert self._signing is not None
        expected = hmac.new(
            self._signing.signing_key, string_to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, claimed):
            raise SignatureDoesNotMatch(
                f"The {what} signature we calculated does not match the signature you provided."
            )
        return expected

    def _trailer_line(self, line: bytes) -> Trailers | None:
        first = self._state is _State.TRAILER_FIRST
        self._state = _State.TRAILER
        if not line:
            if first and (self._declared or self._signing is not None):
                self._blank_skipped = True
                return None  # the blank line of AWS's worked example; see the module docstring
            return self._finish_trailers()
        if self._trailer_signed:
            raise _malformed_trailer(f"{TRAILER_SIGNATURE} must be the last trailer")
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise _malformed_trailer("trailers must be ASCII") from None
        raw_name, sep, raw_value = text.partition(":")
        name, value = raw_name.lower(), raw_value.strip(" \t")
        if not sep or not _TRAILER_NAME.fullmatch(name):
            raise _malformed_trailer("a trailer is not of the form name:value")
        if name == TRAILER_SIGNATURE and self._signing is not None:
            if not _HEX64.fullmatch(value):
                raise _malformed_trailer(f"{TRAILER_SIGNATURE} is not 64 hex digits")
            digest = hashlib.sha256("".join(self._canonical_trailers).encode("ascii")).hexdigest()
            string_to_sign = f"{self._trailer_prefix}{self._previous}\n{digest}"
            self._check(value.lower(), string_to_sign, "trailer")
            self._trailer_signed = True
            return None
        if name not in self._declared:
            raise _malformed_trailer(f"trailer {name!r} was not declared in x-amz-trailer")
        if name in self._trailers:
            raise _malformed_trailer(f"trailer {name!r} is repeated")
        self._trailers[name] = value
        self._canonical_trailers.append(f"{name}:{value}\n")
        return None

    @property
    def _trailers_seen(self) -> bool:
        return bool(self._trailers) or self._trailer_signed

    def _finish_trailers(self) -> Trailers:
        missing = self._declared - self._trailers.keys()
        if missing:
            raise _malformed_trailer(f"declared trailer {min(missing)!r} is missing")
        if self._signing is not None and not self._trailer_signed:
            raise _malformed_trailer(f"{TRAILER_SIGNATURE} is missing")
        self._state = _State.END
        return Trailers(dict(self._trailers))

    def _length_mismatch(self, provided: int) -> IncompleteBody:
        return IncompleteBody(
            NumberBytesExpected=str(self.decoded_length),
            NumberBytesProvided=str(provided),
        )
