"""Conditional requests: RFC 9110 section 13.2.2 precedence for reads, and conditional PUT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zas.protocol.conditions import (
    Preconditions,
    check_copy_source,
    check_read,
    check_write,
    parse_etag_list,
)
from zas.protocol.errors import NoSuchKey, NotModified, PreconditionFailed
from zas.protocol.http import HttpRequest

ETAG = '"9b2cf535f27731c974343645a3985328"'
BARE = ETAG.strip('"')
OTHER = '"00000000000000000000000000000000"'
# Sub-second on purpose: HTTP dates have one-second resolution.
LAST_MODIFIED = datetime(2024, 5, 1, 12, 0, 0, 700_000, tzinfo=UTC)
AT = "Wed, 01 May 2024 12:00:00 GMT"  # the same second as LAST_MODIFIED
BEFORE = "Wed, 01 May 2024 11:59:59 GMT"
AFTER = "Wed, 01 May 2024 12:00:01 GMT"


def pre(*headers: tuple[str, str], prefix: str = "") -> Preconditions:
    request = HttpRequest.from_wire("GET", "/bucket/key", "", headers)
    return Preconditions.from_request(request, prefix)


def read(*headers: tuple[str, str], safe: bool = True) -> None:
    check_read(pre(*headers), ETAG, LAST_MODIFIED, safe=safe)


# --- parsing ----------------------------------------------------------------------------


def test_no_condition_headers_is_empty_and_passes() -> None:
    conditions = pre(("Range", "bytes=0-1"))

    assert conditions.empty
    check_read(conditions, ETAG, LAST_MODIFIED, safe=True)
    check_write(conditions, ETAG)
    check_write(conditions, None)


def test_headers_are_read_case_insensitively_into_typed_values() -> None:
    conditions = pre(
        ("IF-MATCH", ETAG),
        ("if-none-match", f'W/{OTHER}, "x"'),
        ("If-Modified-Since", AT),
        ("If-Unmodified-Since", BEFORE),
    )

    assert not conditions.empty
    assert conditions.if_match == (BARE,)
    assert conditions.if_none_match == (OTHER.strip('"'), "x")
    assert conditions.if_modified_since == datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert conditions.if_unmodified_since == datetime(2024, 5, 1, 11, 59, 59, tzinfo=UTC)


def test_copy_source_prefix_reads_only_the_prefixed_headers() -> None:
    conditions = pre(
        ("If-Match", OTHER),
        ("x-amz-copy-source-if-match", ETAG),
        prefix="x-amz-copy-source-",
    )

    assert conditions.if_match == (BARE,)
    assert conditions.if_none_match is None


@pytest.mark.parametrize(
    ("value", "tags"),
    [
        (ETAG, (BARE,)),
        (BARE, (BARE,)),  # unquoted, as some S3 clients send
        (f"W/{ETAG}", (BARE,)),
        ('"a", W/"b" ,c', ("a", "b", "c")),
        ("*", ("*",)),
        ('"a",,""', ("a",)),
    ],
)
def test_etag_lists_are_normalised_without_quotes_or_weak_prefix(
    value: str, tags: tuple[str, ...]
) -> None:
    assert parse_etag_list(value) == tags


@pytest.mark.parametrize(
    "name", ["If-Modified-Since", "If-Unmodified-Since"]
)  # fmt: skip
@pytest.mark.parametrize("value", ["yesterday", "", "2024-05-01T12:00:00Z", "Wed, 32 May 2024"])
def test_invalid_dates_are_ignored_as_if_absent(name: str, value: str) -> None:
    conditions = pre((name, value))

    assert conditions.empty
    check_read(conditions, ETAG, LAST_MODIFIED, safe=True)


# --- GET/HEAD precedence (RFC 9110 13.2.2) --------------------------------------------------


@pytest.mark.parametrize("if_match", [ETAG, BARE, f"W/{ETAG}", f"{OTHER}, {ETAG}", "*"])
def test_if_match_that_holds_serves_the_object(if_match: str) -> None:
    read(("If-Match", if_match))


@pytest.mark.parametrize("if_match", [OTHER, f"{OTHER}, W/{OTHER}", '""'])
def test_if_match_that_fails_is_precondition_failed(if_match: str) -> None:
    with pytest.raises(PreconditionFailed) as caught:
        read(("If-Match", if_match))

    assert (caught.value.code, caught.value.http_status) == ("PreconditionFailed", 412)
    assert caught.value.details == {"Condition": "If-Match"}


def test_if_match_that_holds_overrides_a_failing_if_unmodified_since() -> None:
    # step 1 decides; step 2 is skipped (also the S3 GetObject documented case)
    read(("If-Match", ETAG), ("If-Unmodified-Since", BEFORE))


def test_failing_if_match_is_precondition_failed_even_when_if_unmodified_since_holds() -> None:
    with pytest.raises(PreconditionFailed) as caught:
        read(("If-Match", OTHER), ("If-Unmodified-Since", AFTER))
    assert caught.value.details["Condition"] == "If-Match"


def test_if_unmodified_since_before_last_modified_is_precondition_failed() -> None:
    with pytest.raises(PreconditionFailed) as caught:
        read(("If-Unmodified-Since", BEFORE))
    assert caught.value.details["Condition"] == "If-Unmodified-Since"


@pytest.mark.parametrize("since", [AT, AFTER])
def test_if_unmodified_since_at_or_after_last_modified_serves_the_object(since: str) -> None:
    # AT: the object changed 0.7 s into that second, which an HTTP date cannot express
    read(("If-Unmodified-Since", since))


@pytest.mark.parametrize("if_none_match", [ETAG, BARE, f"W/{ETAG}", f"{OTHER}, {ETAG}", "*"])
def test_if_none_match_that_matches_on_get_is_not_modified_with_validators(
    if_none_match: str,
) -> None:
    with pytest.raises(NotModified) as caught:
        read(("If-None-Match", if_none_match))

    assert caught.value.http_status == 304
    assert caught.value.headers == {"ETag": ETAG, "Last-Modified": AT}


def test_if_none_match_that_matches_on_unsafe_method_is_precondition_failed() -> None:
    with pytest.raises(PreconditionFailed) as caught:
        read(("If-None-Match", ETAG), safe=False)
    assert caught.value.details["Condition"] == "If-None-Match"


def test_if_none_match_that_differs_serves_the_object() -> None:
    read(("If-None-Match", OTHER))


def test_if_none_match_that_differs_overrides_if_modified_since() -> None:
    # step 3 decided "serve"; step 4 is skipped though alone it would answer 304
    read(("If-None-Match", OTHER), ("If-Modified-Since", AFTER))


def test_if_none_match_that_matches_is_not_modified_even_if_modified_since() -> None:
    # S3 GetObject docs: If-None-Match false and If-Modified-Since true -> 304
    with pytest.raises(NotModified):
        read(("If-None-Match", ETAG), ("If-Modified-Since", BEFORE))


@pytest.mark.parametrize("since", [AT, AFTER])
def test_if_modified_since_at_or_after_last_modified_is_not_modified(since: str) -> None:
    with pytest.raises(NotModified) as caught:
        read(("If-Modified-Since", since))
    assert caught.value.headers["ETag"] == ETAG


def test_if_modified_since_before_last_modified_serves_the_object() -> None:
    read(("If-Modified-Since", BEFORE))


def test_if_modified_since_is_ignored_for_unsafe_methods() -> None:
    read(("If-Modified-Since", AFTER), safe=False)


def test_if_match_that_holds_then_matching_if_none_match_is_not_modified() -> None:
    with pytest.raises(NotModified):
        read(("If-Match", ETAG), ("If-None-Match", ETAG))


def test_failing_if_match_wins_over_matching_if_none_match() -> None:
    with pytest.raises(PreconditionFailed):
        read(("If-Match", OTHER), ("If-None-Match", ETAG))


def test_failing_if_unmodified_since_wins_over_if_modified_since() -> None:
    with pytest.raises(PreconditionFailed):
        read(("If-Unmodified-Since", BEFORE), ("If-Modified-Since", AFTER))


def test_unquoted_stored_etag_compares_like_a_quoted_one() -> None:
    with pytest.raises(NotModified):
        check_read(pre(("If-None-Match", ETAG)), BARE, LAST_MODIFIED, safe=True)


# --- conditional PUT --------------------------------------------------------------------------


def test_if_none_match_star_on_existing_key_is_precondition_failed() -> None:
    with pytest.raises(PreconditionFailed) as caught:
        check_write(pre(("If-None-Match", "*")), ETAG)
    assert caught.value.http_status == 412


def test_if_none_match_star_on_missing_key_allows_the_write() -> None:
    check_write(pre(("If-None-Match", "*")), None)


def test_if_none_match_etag_on_existing_key_fails_only_when_it_matches() -> None:
    check_write(pre(("If-None-Match", OTHER)), ETAG)
    with pytest.raises(PreconditionFailed):
        check_write(pre(("If-None-Match", ETAG)), ETAG)


def test_if_match_on_missing_key_is_no_such_key() -> None:
    with pytest.raises(NoSuchKey) as caught:
        check_write(pre(("If-Match", ETAG)), None)
    assert (caught.value.code, caught.value.http_status) == ("NoSuchKey", 404)


def test_if_match_that_differs_from_current_etag_is_precondition_failed() -> None:
    with pytest.raises(PreconditionFailed) as caught:
        check_write(pre(("If-Match", OTHER)), ETAG)
    assert caught.value.details["Condition"] == "If-Match"


@pytest.mark.parametrize("if_match", [ETAG, BARE, "*"])
def test_if_match_that_holds_allows_the_write(if_match: str) -> None:
    check_write(pre(("If-Match", if_match)), ETAG)


def test_copy_source_conditions_fail_with_412_where_a_get_would_answer_304() -> None:
    modified = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(PreconditionFailed):
        check_copy_source(Preconditions(if_none_match=("abc",)), '"abc"', modified)
    with pytest.raises(PreconditionFailed):
        check_copy_source(
            Preconditions(if_modified_since=modified + timedelta(hours=1)), '"abc"', modified
        )
    check_copy_source(Preconditions(if_match=("abc",)), '"abc"', modified)
