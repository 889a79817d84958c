"""Range: parse the header (RFC 9110 section 14), then fit it to the object's size."""

from __future__ import annotations

import pytest

from zas.protocol.errors import InvalidRange
from zas.protocol.ranges import ByteRange, RangeSpec, parse_range, resolve_range


def served(header: str, size: int) -> ByteRange:
    spec = parse_range(header)
    assert spec is not None, f"{header!r} was ignored"
    return resolve_range(spec, size)


def test_first_byte_only() -> None:
    byte_range = served("bytes=0-0", 10)

    assert byte_range == ByteRange(0, 0, 10)
    assert byte_range.length == 1
    assert byte_range.content_range() == "bytes 0-0/10"


def test_closed_range_inside_the_object_is_served_as_asked() -> None:
    byte_range = served("bytes=2-5", 10)

    assert (byte_range.start, byte_range.end, byte_range.length) == (2, 5, 4)
    assert byte_range.content_range() == "bytes 2-5/10"


def test_suffix_range_serves_the_last_n_bytes() -> None:
    assert parse_range("bytes=-3") == RangeSpec(None, None, suffix_length=3)
    byte_range = served("bytes=-3", 10)

    assert byte_range == ByteRange(7, 9, 10)
    assert byte_range.content_range() == "bytes 7-9/10"


@pytest.mark.parametrize("suffix", [10, 11, 10**6])
def test_suffix_range_at_least_the_size_serves_the_whole_object(suffix: int) -> None:
    assert served(f"bytes=-{suffix}", 10) == ByteRange(0, 9, 10)


def test_open_ended_range_runs_to_the_last_byte() -> None:
    assert parse_range("bytes=4-") == RangeSpec(4, None)
    assert served("bytes=4-", 10) == ByteRange(4, 9, 10)


def test_last_position_beyond_the_size_is_clamped_to_the_last_byte() -> None:
    byte_range = served("bytes=5-1000", 10)

    assert byte_range == ByteRange(5, 9, 10)
    assert byte_range.content_range() == "bytes 5-9/10"


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=11-11"])
def test_first_position_at_or_past_the_size_is_invalid_range_with_star_content_range(
    header: str,
) -> None:
    with pytest.raises(InvalidRange) as caught:
        served(header, 10)

    assert (caught.value.code, caught.value.http_status) == ("InvalidRange", 416)
    assert caught.value.headers == {"Content-Range": "bytes */10"}
    assert caught.value.details["ActualObjectSize"] == "10"


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=0-0", "bytes=-1", "bytes=-0"])
def test_any_range_of_an_empty_object_is_invalid_range(header: str) -> None:
    with pytest.raises(InvalidRange) as caught:
        served(header, 0)

    assert caught.value.headers["Content-Range"] == "bytes */0"


def test_zero_length_suffix_is_invalid_range() -> None:
    # RFC 9110 14.1.1: a suffix-length of 0 selects nothing
    with pytest.raises(InvalidRange):
        served("bytes=-0", 10)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=1-2-3",
        "bytes 0-1",
        "items=0-1",
        "bytes=+1-2",
        "bytes=0x1-2",
        "bytes=\u0661-\u0662",  # non-ASCII digits
    ],
)
def test_syntactically_invalid_range_is_ignored(header: str | None) -> None:
    assert parse_range(header) is None


@pytest.mark.parametrize("header", ["bytes=0-1,3-4", "bytes=0-1, 5-", "bytes=-1,-2"])
def test_multiple_ranges_are_ignored_as_s3_serves_one(header: str) -> None:
    assert parse_range(header) is None


def test_last_position_before_first_is_ignored() -> None:
    assert parse_range("bytes=5-4") is None


def test_surrounding_whitespace_is_tolerated() -> None:
    assert parse_range("  bytes=1-2 ") == RangeSpec(1, 2)


def test_leading_zeros_are_decimal_positions() -> None:
    assert parse_range("bytes=007-010") == RangeSpec(7, 10)


def test_huge_positions_do_not_crash_and_behave_as_beyond_any_end() -> None:
    # int() refuses more than 4300 digits; such a header must still be a Range decision
    huge = "9" * 5000
    assert served(f"bytes=0-{huge}", 10) == ByteRange(0, 9, 10)
    assert served(f"bytes=-{huge}", 10) == ByteRange(0, 9, 10)
    with pytest.raises(InvalidRange):
        served(f"bytes={huge}-", 10)
