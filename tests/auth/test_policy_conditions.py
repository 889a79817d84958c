"""Condition operators, one table row per (operator, policy values, request context) case.

Each row compiles a one-operator, one-key Condition block and checks whether it holds; the
rows cover positive/negated forms, missing keys, IfExists, ForAllValues/ForAnyValue, and the
typed families (numbers, dates, IPs, ARNs, booleans, binary, Null).
"""

from __future__ import annotations

from typing import Any

import pytest

from zas.auth.policy_conditions import (
    CONDITION_OPERATORS,
    Context,
    compile_conditions,
    parse_date,
    parse_ip,
    parse_number,
)
from zas.protocol.errors import MalformedPolicy

MISSING: Context = {}


def holds(
    operator: str, key: str, values: Any, context: Context, *, variables: bool = True
) -> bool:
    (condition,) = compile_conditions(
        {operator: {key: values}}, where="Statement[0]", variables=variables
    )
    return condition.holds(context)


# (operator, policy values, context value or None for missing, expected)
STRING_CASES = [
    # StringEquals: exact, case-sensitive, OR over values
    ("StringEquals", "alice", "alice", True),
    ("StringEquals", "alice", "Alice", False),
    ("StringEquals", ["bob", "alice"], "alice", True),
    ("StringEquals", "al*", "alice", False),  # no wildcards in Equals
    ("StringEquals", "al*", "al*", True),
    ("StringEquals", "alice", None, False),
    ("StringNotEquals", "alice", "alice", False),
    ("StringNotEquals", "alice", "bob", True),
    ("StringNotEquals", ["bob", "alice"], "alice", False),  # NOR over values
    ("StringNotEquals", ["bob", "carol"], "alice", True),
    ("StringNotEquals", "alice", None, True),  # negated + missing -> true
    ("StringEqualsIgnoreCase", "ALICE", "alice", True),
    ("StringEqualsIgnoreCase", "alice", "AlIcE", True),
    ("StringEqualsIgnoreCase", "alice", "bob", False),
    ("StringEqualsIgnoreCase", "alice", None, False),
    ("StringNotEqualsIgnoreCase", "ALICE", "alice", False),
    ("StringNotEqualsIgnoreCase", "ALICE", "bob", True),
    ("StringNotEqualsIgnoreCase", "ALICE", None, True),
    ("StringLike", "home/*", "home/alice/x", True),
    ("StringLike", "home/*", "home/", True),  # * matches empty
    ("StringLike", "home/*", "other/x", False),
    ("StringLike", "a?c", "abc", True),
    ("StringLike", "a?c", "ac", False),
    ("StringLike", "a?c", "abbc", False),
    ("StringLike", "*.log", "x/y.log", True),
    ("StringLike", "*mid*", "a-mid-b", True),
    ("StringLike", "Home/*", "home/x", False),  # case-sensitive
    ("StringLike", ["x*", "home/*"], "home/a", True),
    ("StringLike", "a.c", "abc", False),  # regex metacharacters are literal
    ("StringLike", "", "", True),
    ("StringLike", "", "x", False),
    ("StringLike", "home/*", None, False),
    ("StringNotLike", "home/*", "home/a", False),
    ("StringNotLike", "home/*", "tmp/a", True),
    ("StringNotLike", ["tmp/*", "home/*"], "home/a", False),
    ("StringNotLike", "home/*", None, True),
    # JSON numbers and booleans in string conditions compare as their text
    ("StringEquals", 10, "10", True),
    ("StringEquals", True, "true", True),
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), STRING_CASES)
def test_string_operators(operator: str, values: Any, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"k:key": value}
    assert holds(operator, "k:key", values, context) is expected


NUMERIC_CASES = [
    ("NumericEquals", 10, "10", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericEquals", 10, "11", False),
    ("NumericNotEquals", 10, "11", True),
    ("NumericNotEquals", 10, "10", False),
    ("NumericNotEquals", [10, 11], "11", False),
    ("NumericLessThan", 100, "99", True),
    ("NumericLessThan", 100, "100", False),
    ("NumericLessThanEquals", 100, "100", True),
    ("NumericLessThanEquals", 100, "101", False),
    ("NumericLessThanEquals", "1e2", "100", True),
    ("NumericGreaterThan", 100, "101", True),
    ("NumericGreaterThan", 100, "100", False),
    ("NumericGreaterThanEquals", 100, "100", True),
    ("NumericGreaterThanEquals", 100, "99.5", False),
    ("NumericGreaterThanEquals", -5, "-5", True),
    ("NumericLessThan", [10, 1000], "500", True),  # OR over values
    ("NumericLessThan", 100, None, False),
    ("NumericNotEquals", 100, None, True),
    # a context value that is not a number matches nothing
    ("NumericLessThan", 100, "lots", False),
    ("NumericNotEquals", 100, "lots", True),
    ("NumericLessThan", 100, "1_0", False),
    ("NumericLessThan", 100, "nan", False),
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), NUMERIC_CASES)
def test_numeric_operators(operator: str, values: Any, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"s3:max-keys": value}
    assert holds(operator, "s3:max-keys", values, context) is expected


NOON = "2026-06-01T12:00:00Z"
NOON_EPOCH = "1780315200"  # same instant

DATE_CASES = [
    ("DateEquals", NOON, NOON, True),
    ("DateEquals", NOON, NOON_EPOCH, True),  # epoch context vs ISO policy
    ("DateEquals", int(NOON_EPOCH), NOON, True),  # epoch policy vs ISO context
    ("DateEquals", "2026-06-01T14:00:00+02:00", NOON, True),  # offsets honoured
    ("DateEquals", "2026-06-01T12:00:00", NOON, True),  # naive means UTC
    ("DateNotEquals", NOON, NOON, False),
    ("DateNotEquals", NOON, "2026-06-01T12:00:01Z", True),
    ("DateLessThan", "2027-01-01T00:00:00Z", NOON, True),
    ("DateLessThan", "2026-01-01T00:00:00Z", NOON, False),
    ("DateLessThan", NOON, NOON, False),
    ("DateLessThanEquals", NOON, NOON, True),
    ("DateLessThanEquals", "2026-06-01", NOON, False),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", NOON, True),
    ("DateGreaterThan", NOON, NOON, False),
    ("DateGreaterThan", "2026-06-01", NOON, True),
    ("DateGreaterThanEquals", NOON, NOON, True),
    ("DateGreaterThanEquals", "2026-06-01T12:00:00.001Z", NOON, False),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", None, False),
    ("DateNotEquals", NOON, None, True),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", "yesterday", False),
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), DATE_CASES)
def test_date_operators(operator: str, values: Any, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"aws:currenttime": value}
    assert holds(operator, "aws:CurrentTime", values, context) is expected


BOOL_CASES = [
    ("true", "true", True),
    (True, "true", True),
    ("TRUE", "true", True),
    ("true", "True", True),
    ("true", "false", False),
    (False, "false", True),
    ("false", "true", False),
    (["true", "false"], "false", True),
    ("true", None, False),
    ("true", "yes", False),
]


@pytest.mark.parametrize(("values", "value", "expected"), BOOL_CASES)
def test_bool(values: Any, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"aws:securetransport": value}
    assert holds("Bool", "aws:SecureTransport", values, context) is expected


IP_CASES = [
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "10.0.0.0/8", "11.1.2.3", False),
    ("IpAddress", "203.0.113.7", "203.0.113.7", True),  # bare address = /32
    ("IpAddress", "203.0.113.7", "203.0.113.8", False),
    ("IpAddress", "10.0.0.1/8", "10.9.9.9", True),  # host bits allowed, as AWS
    ("IpAddress", ["192.168.0.0/16", "10.0.0.0/8"], "192.168.4.4", True),
    ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
    ("IpAddress", "2001:db8::/32", "2001:db9::1", False),
    ("IpAddress", "10.0.0.0/8", "2001:db8::1", False),  # family mismatch
    ("IpAddress", "::/0", "10.0.0.1", False),
    ("IpAddress", "10.0.0.0/8", "::ffff:10.0.0.1", True),  # IPv4-mapped IPv6
    ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
    ("IpAddress", "10.0.0.0/8", None, False),
    ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
    ("NotIpAddress", "10.0.0.0/8", "11.1.2.3", True),
    ("NotIpAddress", ["10.0.0.0/8", "11.0.0.0/8"], "11.1.2.3", False),
    ("NotIpAddress", "10.0.0.0/8", None, True),
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), IP_CASES)
def test_ip_operators(operator: str, values: Any, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"aws:sourceip": value}
    assert holds(operator, "aws:SourceIp", values, context) is expected


ALICE = "arn:aws:iam:::user/alice"
ARN_CASES = [
    ("ArnEquals", ALICE, ALICE, True),
    ("ArnEquals", ALICE, "arn:aws:iam:::user/bob", False),
    ("ArnLike", "arn:aws:iam:::user/*", ALICE, True),
    ("ArnEquals", "arn:aws:iam:::user/*", ALICE, True),  # ArnEquals takes wildcards too
    ("ArnLike", "arn:aws:iam:::user/a?ice", ALICE, True),
    ("ArnLike", "arn:aws:*:::user/alice", ALICE, True),
    # a wildcard does not cross the colon between ARN segments
    ("ArnLike", "arn:*:user/alice", ALICE, False),
    ("ArnLike", "arn:aws:iam:*:user/alice", ALICE, False),
    # ... but may span colons inside the resource segment
    ("ArnLike", "arn:aws:s3:::b/*", "arn:aws:s3:::b/x:y:z", True),
    ("ArnLike", "arn:aws:iam:::USER/*", ALICE, False),  # case-sensitive
    ("ArnLike", "*", ALICE, True),
    ("ArnLike", "arn:aws:iam:::user/*", None, False),
    ("ArnNotEquals", ALICE, ALICE, False),
    ("ArnNotEquals", ALICE, "arn:aws:iam:::user/bob", True),
    ("ArnNotLike", "arn:aws:iam:::user/*", ALICE, False),
    ("ArnNotLike", "arn:aws:iam:::role/*", ALICE, True),
    ("ArnNotLike", "arn:aws:iam:::role/*", None, True),
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), ARN_CASES)
def test_arn_operators(operator: str, values: Any, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"aws:principalarn": value}
    assert holds(operator, "aws:PrincipalArn", values, context) is expected


@pytest.mark.parametrize(
    ("values", "value", "expected"),
    [("aGVsbG8=", "aGVsbG8=", True), ("aGVsbG8=", "d29ybGQ=", False), ("aGVsbG8=", None, False)],
)
def test_binary_equals(values: str, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"k:bin": value}
    assert holds("BinaryEquals", "k:bin", values, context) is expected


NULL_CASES: list[tuple[Any, Context, bool]] = [
    ("true", {}, True),  # "is null": key absent
    ("true", {"aws:username": "alice"}, False),
    (True, {}, True),
    ("false", {"aws:username": "alice"}, True),  # "is not null": key present
    ("false", {}, False),
    ("false", {"aws:username": ""}, True),  # an empty string is present
    ("true", {"aws:username": []}, True),  # an empty list is absent
    (["true", "false"], {}, True),
]


@pytest.mark.parametrize(("values", "context", "expected"), NULL_CASES)
def test_null(values: Any, context: Context, expected: bool) -> None:
    assert holds("Null", "aws:username", values, context) is expected


# --- IfExists: a missing key makes the condition true; a present key is checked as usual ----

IF_EXISTS_CASES = [
    ("StringEqualsIfExists", "alice", None, True),
    ("StringEqualsIfExists", "alice", "alice", True),
    ("StringEqualsIfExists", "alice", "bob", False),
    ("StringNotEqualsIfExists", "alice", None, True),
    ("StringNotEqualsIfExists", "alice", "alice", False),
    ("StringLikeIfExists", "a*", "bob", False),
    ("NumericLessThanEqualsIfExists", "100", None, True),
    ("NumericLessThanEqualsIfExists", "100", "1000", False),
    ("NumericLessThanEqualsIfExists", "100", "10", True),
    ("DateLessThanIfExists", NOON, None, True),
    ("BoolIfExists", "true", None, True),
    ("BoolIfExists", "true", "false", False),
    ("IpAddressIfExists", "10.0.0.0/8", None, True),
    ("IpAddressIfExists", "10.0.0.0/8", "11.0.0.1", False),
    ("NotIpAddressIfExists", "10.0.0.0/8", "10.0.0.1", False),
    ("ArnLikeIfExists", "arn:aws:iam:::user/*", None, True),
    ("ForAnyValue:StringEqualsIfExists", "a", None, True),  # IfExists wins over ForAnyValue
    ("stringequalsifexists", "alice", None, True),  # operator names ignore case
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), IF_EXISTS_CASES)
def test_if_exists(operator: str, values: Any, value: str | None, expected: bool) -> None:
    context = MISSING if value is None else {"k:key": value}
    assert holds(operator, "k:key", values, context) is expected


# --- Set operators over multivalued context keys --------------------------------------------

SET_CASES: list[tuple[str, Any, Any, bool]] = [
    # ForAllValues: every request value matches some policy value; missing/empty -> true
    ("ForAllValues:StringEquals", ["a", "b"], ["a"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
    ("ForAllValues:StringEquals", ["a", "b"], None, True),
    ("ForAllValues:StringEquals", ["a", "b"], [], True),
    ("ForAllValues:StringEquals", ["a", "b"], "a", True),  # one string = a set of one
    ("ForAllValues:StringLike", "key1*", ["key1:a", "key1:b"], True),
    ("ForAllValues:StringNotLike", "key1*", ["key2:audit"], True),
    ("ForAllValues:StringNotLike", "key1*", ["key1:legal"], False),
    ("ForAllValues:StringNotLike", "key1*", ["key1:legal", "key2:x"], False),
    ("ForAllValues:StringNotLike", "key1*", None, True),
    # ForAnyValue: at least one request value matches; missing/empty -> false
    ("ForAnyValue:StringEquals", ["a", "b"], ["c", "b"], True),
    ("ForAnyValue:StringEquals", ["a", "b"], ["c", "d"], False),
    ("ForAnyValue:StringEquals", ["a", "b"], None, False),
    ("ForAnyValue:StringEquals", ["a", "b"], [], False),
    ("ForAnyValue:StringNotEquals", "a", ["a", "b"], True),  # "b" is not "a"
    ("ForAnyValue:StringNotEquals", "a", ["a"], False),
    ("ForAnyValue:StringNotEquals", "a", None, False),
    ("ForAnyValue:StringLike", "team-*", ["x", "team-red"], True),
    ("forallvalues:stringequals", "a", ["a"], True),
    ("ForAnyValue:NumericGreaterThan", 5, ["1", "9"], True),
    ("ForAllValues:NumericGreaterThan", 5, ["1", "9"], False),
    # no qualifier on a multivalued key: any value matching suffices; negated: none may
    ("StringEquals", "a", ["x", "a"], True),
    ("StringEquals", "a", ["x", "y"], False),
    ("StringNotEquals", "a", ["x", "a"], False),
    ("StringNotEquals", "a", ["x", "y"], True),
    ("StringEquals", "a", [], False),  # empty list counts as missing
    ("StringNotEquals", "a", [], True),
]


@pytest.mark.parametrize(("operator", "values", "value", "expected"), SET_CASES)
def test_set_qualifiers(operator: str, values: Any, value: Any, expected: bool) -> None:
    context = MISSING if value is None else {"aws:tagkeys": value}
    assert holds(operator, "aws:TagKeys", values, context) is expected


# --- Several keys / several operators are ANDed ---------------------------------------------


def test_keys_and_operators_are_anded() -> None:
    block = {
        "StringEquals": {"aws:username": "alice", "s3:prefix": "home/alice/"},
        "NumericLessThanEquals": {"s3:max-keys": "100"},
    }
    (*conditions,) = compile_conditions(block, where="Statement[0]", variables=True)
    assert len(conditions) == 3
    good = {"aws:username": "alice", "s3:prefix": "home/alice/", "s3:max-keys": "10"}

    def all_hold(context: Context) -> bool:
        return all(c.holds(context) for c in conditions)

    assert all_hold(good)
    assert not all_hold({**good, "aws:username": "bob"})
    assert not all_hold({**good, "s3:prefix": "home/bob/"})
    assert not all_hold({**good, "s3:max-keys": "1000"})
    assert not all_hold({k: v for k, v in good.items() if k != "s3:max-keys"})


def test_condition_keys_are_case_insensitive() -> None:
    assert holds("StringEquals", "AWS:UserName", "alice", {"aws:username": "alice"})


# --- Policy variables inside condition values -------------------------------------------------

VARIABLE_CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("StringLike", "${aws:username}/*", {"aws:username": "alice", "k:key": "alice/x"}, True),
    ("StringLike", "${aws:username}/*", {"aws:username": "alice", "k:key": "bob/x"}, False),
    ("StringLike", "${aws:username}/*", {"k:key": "alice/x"}, False),  # unresolved: no match
    ("StringNotLike", "${aws:username}/*", {"k:key": "alice/x"}, True),
    ("StringEquals", "${jwt:sub}", {"jwt:sub": "u-1", "k:key": "u-1"}, True),
    ("StringEquals", "${JWT:Sub}", {"jwt:sub": "u-1", "k:key": "u-1"}, True),
    ("StringEquals", "${aws:username, 'guest'}", {"k:key": "guest"}, True),
    ("StringEquals", "${aws:username, 'guest'}", {"aws:username": "al", "k:key": "al"}, True),
    ("StringEquals", "${aws:username,'it''s'}", {"k:key": "it's"}, True),
    ("StringEquals", "${aws:username}", {"aws:username": ["a", "b"], "k:key": "a"}, False),
    ("StringEquals", "a${*}b", {"k:key": "a*b"}, True),
    ("StringLike", "a${*}b", {"k:key": "axxb"}, False),  # ${*} is a literal star
    ("StringLike", "a${?}*", {"k:key": "a?zz"}, True),
    ("StringEquals", "${$}{x}", {"k:key": "${x}"}, True),
    # a substituted value is literal, never a wildcard
    ("StringLike", "${aws:username}", {"aws:username": "*", "k:key": "anything"}, False),
    (
        "StringEqualsIgnoreCase",
        "${aws:username}",
        {"aws:username": "ALICE", "k:key": "alice"},
        True,
    ),
    (
        "ArnLike",
        "arn:aws:iam:::user/${aws:username}",
        {"aws:username": "a", "k:key": "arn:aws:iam:::user/a"},
        True,
    ),
]


@pytest.mark.parametrize(("operator", "values", "context", "expected"), VARIABLE_CASES)
def test_variables_in_condition_values(
    operator: str, values: str, context: dict[str, Any], expected: bool
) -> None:
    assert holds(operator, "k:key", values, context) is expected


def test_variables_are_literal_in_2008_policies() -> None:
    context = {"aws:username": "alice", "k:key": "${aws:username}"}
    assert holds("StringEquals", "k:key", "${aws:username}", context, variables=False)
    assert not holds(
        "StringEquals", "k:key", "${aws:username}", {**context, "k:key": "alice"}, variables=False
    )


# --- Malformed Condition blocks ---------------------------------------------------------------

BAD_CONDITIONS: list[tuple[Any, str]] = [
    ({"StringEqualz": {"k": "v"}}, "unknown condition operator StringEqualz"),
    ({"ForSomeValues:StringEquals": {"k": "v"}}, "unknown condition operator ForSomeValues"),
    ({"StringEqualsIfExistz": {"k": "v"}}, "unknown condition operator StringEqualsIfExistz"),
    ({"NullIfExists": {"k": "true"}}, "Null takes neither IfExists"),
    ({"ForAllValues:Null": {"k": "true"}}, "Null takes neither"),
    ({"Null": {"k": "maybe"}}, "invalid boolean value 'maybe'"),
    ({"Bool": {"aws:SecureTransport": "yes"}}, "invalid boolean value 'yes'"),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, "invalid IP address or CIDR '10.0.0.0/33'"),
    ({"IpAddress": {"aws:SourceIp": "example.com"}}, "invalid IP address or CIDR"),
    ({"IpAddress": {"aws:SourceIp": True}}, "invalid IP address or CIDR"),
    ({"DateLessThan": {"aws:CurrentTime": "tomorrow"}}, "invalid date value 'tomorrow'"),
    ({"DateLessThan": {"aws:CurrentTime": True}}, "invalid date value"),
    ({"NumericLessThan": {"s3:max-keys": "ten"}}, "invalid numeric value 'ten'"),
    ({"NumericLessThan": {"s3:max-keys": "NaN"}}, "invalid numeric value 'NaN'"),
    ({"NumericLessThan": {"s3:max-keys": False}}, "invalid numeric value"),
    ({"BinaryEquals": {"k": "not base64!"}}, "invalid base64 value"),
    ({"StringEquals": {"k": {"nested": 1}}}, "condition values must be strings"),
    ({"StringEquals": {"k": None}}, "condition values must be strings"),
    ({"StringEquals": {"k": [["a"]]}}, "condition values must be strings"),
    ({"StringEquals": {"k": []}}, "empty list of condition values"),
    ({"StringEquals": "k"}, "StringEquals must map condition keys to values"),
    ({"StringEquals": {}}, "StringEquals must map condition keys to values"),
    ({"StringEquals": {"": "v"}}, "empty or non-string condition key"),
    ("StringEquals", "Condition must be an object"),
    ({"StringLike": {"k": "${aws:username"}}, "invalid policy variable"),
    ({"StringLike": {"k": "${}"}}, "invalid policy variable"),
]


@pytest.mark.parametrize(("block", "message"), BAD_CONDITIONS)
def test_malformed_conditions(block: Any, message: str) -> None:
    with pytest.raises(MalformedPolicy) as info:
        compile_conditions(block, where="Statement[3]", variables=True)
    assert info.value.message.startswith("Statement[3]: ")
    assert message in info.value.message


def test_every_documented_operator_is_known() -> None:
    """The AWS list, spelled out: a dropped or misspelt table entry fails here."""
    ordered = ["Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan"]
    ordered.append("GreaterThanEquals")
    string = ["Equals", "NotEquals", "EqualsIgnoreCase", "NotEqualsIgnoreCase", "Like", "NotLike"]
    expected = {"Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "Null"}
    expected |= {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
    expected |= {f"String{s}" for s in string}
    expected |= {f"Numeric{s}" for s in ordered} | {f"Date{s}" for s in ordered}
    assert expected == CONDITION_OPERATORS


# --- Context value parsers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", 10.0),
        ("-1.5", -1.5),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("1_0", None),
        ("", None),
        (" 1", None),
        ("inf", None),
        ("1e999", None),
        ("0x10", None),
    ],
)
def test_parse_number(text: str, expected: float | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NOON, 1780315200.0),
        (NOON_EPOCH, 1780315200.0),
        ("2026-06-01", 1780272000.0),
        ("2026-06-01T12:00:00.5Z", 1780315200.5),
        ("June", None),
    ],
)
def test_parse_date(text: str, expected: float | None) -> None:
    assert parse_date(text) == expected


def test_parse_ip() -> None:
    assert str(parse_ip("::ffff:192.0.2.1")) == "192.0.2.1"
    assert str(parse_ip("2001:db8::1")) == "2001:db8::1"
    assert parse_ip("300.1.1.1") is None
