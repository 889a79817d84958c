"""HttpRequest, query parsing, HTTP dates and integer parameters (zas/protocol/http.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from zas.protocol.errors import InvalidArgument
from zas.protocol.http import (
    HttpRequest,
    format_http_date,
    format_iso8601,
    parse_http_date,
    parse_int,
    parse_query,
)


def test_from_wire_lower_cases_header_names_and_keeps_every_value_in_order() -> None:
    request = HttpRequest.from_wire(
        "get", "/b/k", "", [("X-Amz-Meta-A", "1"), ("x-amz-meta-a", "2"), ("Host", "h")]
    )

    assert request.method == "GET"
    assert request.headers == {"x-amz-meta-a": ["1", "2"], "host": ["h"]}
    assert request.header("x-amz-meta-a") == "1,2"
    assert request.header("host") == "h"
    assert request.header("missing") is None


def test_from_wire_empty_path_is_root() -> None:
    assert HttpRequest.from_wire("GET", "", "", []).raw_path == "/"


def test_raw_path_stays_encoded_and_path_is_decoded() -> None:
    request = HttpRequest.from_wire("GET", "/b/a%20b%2Bc+d%2F", "", [])

    assert request.raw_path == "/b/a%20b%2Bc+d%2F"
    assert request.path == "/b/a b+c+d/"


def test_query_values_are_looked_up_by_name() -> None:
    request = HttpRequest.from_wire("GET", "/b", "prefix=a&prefix=b&uploads", [])

    assert request.query_value("prefix") == "a"  # the first one sent
    assert request.query_value("uploads") == ""
    assert request.query_value("missing") is None
    assert request.has_query("uploads")
    assert not request.has_query("acl")


def test_parse_query_decodes_percent_escapes_but_keeps_plus_literal() -> None:
    pairs, bare = parse_query("prefix=a%20b+c&key%3D=%E2%9C%93&x=1=2")

    assert pairs == (("prefix", "a b+c"), ("key=", "\u2713"), ("x", "1=2"))
    assert bare == frozenset()


def test_parse_query_records_names_sent_without_equals() -> None:
    pairs, bare = parse_query("acl&tagging=&versionId=3")

    assert pairs == (("acl", ""), ("tagging", ""), ("versionId", "3"))
    assert bare == frozenset({"acl"})


@pytest.mark.parametrize("query", ["", "&", "&&"])
def test_parse_query_of_nothing_is_empty(query: str) -> None:
    assert parse_query(query) == ((), frozenset())


def test_http_date_round_trips_as_imf_fixdate_in_gmt() -> None:
    moment = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)

    assert format_http_date(moment) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == moment


def test_http_date_is_formatted_in_gmt_whatever_the_zone() -> None:
    moment = datetime(1994, 11, 6, 10, 49, 37, tzinfo=timezone(timedelta(hours=2)))

    assert format_http_date(moment) == "Sun, 06 Nov 1994 08:49:37 GMT"


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        "Sun Nov  6 08:49:37 1994",  # obsolete asctime, no zone: UTC
    ],
)
def test_all_three_http_date_formats_parse_to_the_same_utc_moment(value: str) -> None:
    parsed = parse_http_date(value)

    assert parsed == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "2024-05-01T12:00:00Z", "Sun, 32 Nov 1994 08:49:37 GMT",
     "Sun, 06 Nov 1994 25:49:37 GMT", "Mon, 01 Jan 99999 00:00:00 GMT"],
)  # fmt: skip
def test_invalid_http_date_is_none_so_callers_ignore_the_header(value: str) -> None:
    assert parse_http_date(value) is None


def test_iso8601_for_xml_bodies_has_milliseconds_and_z() -> None:
    moment = datetime(2009, 10, 12, 19, 50, 30, 999_999, tzinfo=timezone(timedelta(hours=2)))

    assert format_iso8601(moment) == "2009-10-12T17:50:30.999Z"


@pytest.mark.parametrize(("value", "number"), [("0", 0), ("000", 0), ("42", 42), ("007", 7)])
def test_parse_int_reads_decimal_digits(value: str, number: int) -> None:
    assert parse_int(value, "max-keys") == number


@pytest.mark.parametrize("value", ["", "-1", "+1", " 1", "1.0", "1e3", "0x1", "\u0661", "\u00b2"])
def test_parse_int_refuses_anything_but_ascii_digits(value: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_int(value, "part-number")

    assert caught.value.details == {"ArgumentName": "part-number", "ArgumentValue": value}


def test_parse_int_enforces_bounds() -> None:
    assert parse_int("5", "n", minimum=5, maximum=5) == 5
    with pytest.raises(InvalidArgument, match="between 1 and 10"):
        parse_int("0", "n", minimum=1, maximum=10)
    with pytest.raises(InvalidArgument, match="between 1 and 10"):
        parse_int("11", "n", minimum=1, maximum=10)


@pytest.mark.parametrize("value", ["9" * 20, "9" * 5000])
def test_parse_int_refuses_absurdly_long_numbers_as_invalid_argument(value: str) -> None:
    # 5000 digits would make int() raise ValueError (CPython's 4300-digit limit): a 500
    with pytest.raises(InvalidArgument) as caught:
        parse_int(value, "Content-Length")
    assert caught.value.details["ArgumentValue"] == value[:64]


def test_parse_int_accepts_long_leading_zeros() -> None:
    assert parse_int("0" * 5000 + "12", "max-keys") == 12
