"""Fuzz target: the Range header (`zas.protocol.ranges`).

The input is a Range header value, e.g. `bytes=0-99`. Each decoding of it (latin-1 as the
ASGI adapter does, UTF-8 with "replace") goes through `parse_range`, and every spec that
parses is resolved with `resolve_range` against a few fixed object sizes and one fuzzed size.
The fuzzed size comes from a last line of decimal digits, if the input has one
(`bytes=5-\\n1000` is the header `bytes=5-` against a 1000-byte object); such an input is
also tried whole, as a header with a line break in it. So is the input with its digit runs
stretched past CPython's 4300-digit `int()` limit.

Invariant: `parse_range` returns a spec or None, `resolve_range` returns a range or raises
an `S3Error` (InvalidRange); a returned range lies inside the object and holds at least
one byte.
"""

from __future__ import annotations

from fuzz._harness import attempt, run, stretch_digits, texts
from zas.protocol.ranges import ByteRange, RangeSpec, parse_range, resolve_range

SIZES = (0, 1, 2, 99, 100, 101, 2**31, 2**63)
# A size is a byte count on disk: 20 digits cover every realistic one and keep int() cheap.
MAX_SIZE_DIGITS = 20


def _check_resolved(spec: RangeSpec, size: int, got: ByteRange) -> None:
    assert got.size == size
    assert 0 <= got.start <= got.end < size, (spec, size, got)
    assert got.length == got.end - got.start + 1 >= 1
    if spec.suffix_length is not None:
        assert got.end == size - 1 and got.length == min(spec.suffix_length, size)
    else:
        assert got.start == spec.first
        assert spec.last is None or got.end <= spec.last
    assert got.content_range() == f"bytes {got.start}-{got.end}/{size}"


def check(header: str, sizes: tuple[int, ...]) -> None:
    spec = attempt(parse_range, header)
    if spec is None:
        return
    if spec.suffix_length is None:
        assert spec.first is not None and spec.first >= 0
        assert spec.last is None or spec.last >= spec.first
    else:
        assert spec.first is None and spec.last is None and spec.suffix_length >= 0
    for size in sizes:
        got = attempt(resolve_range, spec, size)
        if got is not None:
            _check_resolved(spec, size, got)


def test_one_input(data: bytes) -> None:
    for text in texts(data):
        check(text, SIZES)
        if (long := stretch_digits(text)) is not None:
            check(long, SIZES)
        header, sep, last_line = text.rpartition("\n")
        if sep and last_line.isascii() and last_line.isdigit():
            check(header, (int(last_line[-MAX_SIZE_DIGITS:]),))


def main() -> None:
    run(test_one_input)


if __name__ == "__main__":
    main()
