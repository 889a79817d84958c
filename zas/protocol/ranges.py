"""The HTTP Range header for GET: one byte range, as S3 supports it.

RFC 9110 section 14: `Range: bytes=first-last`, `bytes=first-` (open-ended) and `bytes=-N`
(the last N bytes). S3 serves a single range; like S3, a header that is not a single
well-formed byte range is ignored and the whole object is sent (RFC 9110 14.2 lets a server
ignore Range). A syntactically valid range that selects no byte is 416 InvalidRange.

    ranges-specifier = range-unit "=" range-set
    int-range        = first-pos "-" [ last-pos ]
    suffix-range     = "-" suffix-length
"""

from __future__ import annotations

import re

import attrs

from zas.protocol.errors import InvalidRange

# re.ASCII: RFC 9110's DIGIT is 0-9; a bare \d also matches other scripts' digits (U+0661).
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII)


@attrs.frozen
class RangeSpec:
    """A range as requested, before the object's size is known."""

    first: int | None  # None for a suffix range
    last: int | None  # None when open-ended (or for a suffix range)
    suffix_length: int | None = None


@attrs.frozen
class ByteRange:
    """A satisfiable range of an object of `size` bytes; `end` is inclusive, as in HTTP."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None) -> RangeSpec | None:
    """Parse a Range header value; None when absent or not a single byte range (ignored)."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        return RangeSpec(None, None, suffix_length=_position(last))
    first_pos = _position(first)
    if last:
        last_pos = _position(last)
        if last_pos < first_pos:
            # RFC 9110 14.1.1: an int-range with last < first is invalid: ignore the header.
            return None
        return RangeSpec(first_pos, last_pos)
    return RangeSpec(first_pos, None)


# No object comes near 10**19 bytes, so a longer number means "beyond any end"; parsing it
# would also trip int()'s 4300-digit limit (ValueError, not an S3 error).
_MAX_DIGITS = 19


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def resolve_range(spec: RangeSpec, size: int) -> ByteRange:
    """Fit the requested range to the object; InvalidRange (416) when no byte is selected."""
    if spec.suffix_length is not None:
        if spec.suffix_length == 0 or size == 0:
            raise _unsatisfiable(size)
        start = max(0, size - spec.suffix_length)
        return ByteRange(start, size - 1, size)
    assert spec.first is not None
    if spec.first >= size:
        raise _unsatisfiable(size)
    end = size - 1 if spec.last is None else min(spec.last, size - 1)
    return ByteRange(spec.first, end, size)


def _unsatisfiable(size: int) -> InvalidRange:
    return InvalidRange(
        headers={"Content-Range": f"bytes */{size}"},
        ActualObjectSize=str(size),
    )
