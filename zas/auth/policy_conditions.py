"""The per-request half of the policy language: wildcard patterns, policy variables, conditions.

`zas.auth.policy` parses a document and hands each pattern or Condition block to the compilers
here. Everything that can be decided when the policy is stored is decided then: wildcards
become regexes (or a plain set lookup / `startswith` when that is all they need), dates become
epoch seconds, CIDRs become `ip_network`s, numbers become numbers. At request time only the
context values are looked at, and their parsing (a client IP, the current time) goes through
small LRU caches, because the same few values recur request after request.

Only patterns that contain a policy variable (`${aws:username}`) need per-request work: the
variables are looked up, and what they produce (a string, or a regex if wildcards remain) is
kept per pattern and per tuple of variable values, so each user costs one compilation, not
one per call.

All errors are `MalformedPolicy` whose message starts with `where` (e.g. "Statement[2]"), so
the author of a policy is told which statement and which element is wrong.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import ipaddress
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol, TypeAlias

import attrs

from zas.protocol.errors import MalformedPolicy

#: The request context: condition keys (lower-cased) to one value or a list of values.
Context: TypeAlias = Mapping[str, str | Sequence[str]]


# --- Patterns and policy variables ------------------------------------------------------------
#
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
#   "You can use wildcard characters (* and ?) within any ARN segment ... An asterisk (*)
#    represents any combination of zero or more characters, and a question mark (?) represents
#    any single character."
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
#   Variables are "marked using a $ prefix followed by a pair of curly braces ({ })"; they are
#   replaced "with values that come from the conditional context keys passed in the request".
#   "To add a default value to a variable, surround the default value with single quotes (' '),
#    and separate the variable text and the default value with a comma and space (, )."
#   Special characters: ${*}, ${?} and ${$} stand for a literal *, ? and $.
#   "Policy variables were introduced in version 2012-10-17."
#   "If AWS cannot resolve a variable this might cause the entire statement to be invalid."
# ZAS rule for that last sentence: a variable whose key is missing from the context (or holds a
# list: multivalued keys cannot be variables) and has no default makes that one pattern match
# nothing. For Resource that means the statement does not apply; for NotResource it applies.


class Wild(enum.Enum):
    """A wildcard in a pattern: `*` any run of characters (including "/" and ""), `?` one."""

    STAR = "*"
    QMARK = "?"


@attrs.frozen
class Var:
    """A policy variable `${key}` or `${key, 'default'}`; `key` is lower-cased."""

    key: str
    default: str | None = None


Piece: TypeAlias = str | Wild | Var

_VARIABLE = re.compile(r"\$\{\s*([^\s,{}'$]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}")
_ESCAPES = {"${*}": "*", "${?}": "?", "${$}": "$"}


def parse_template(text: str, *, where: str, variables: bool, wildcards: bool) -> tuple[Piece, ...]:
    """Split a policy string into literal text, wildcards and variables.

    With `variables=False` (2008-10-17 policies) `${...}` is ordinary text; with
    `wildcards=False` (StringEquals) `*` and `?` are.
    """
    pieces: list[Piece] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            pieces.append("".join(literal))
            literal.clear()

    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if variables and char == "$" and text.startswith("${", i):
            escape = _ESCAPES.get(text[i : i + 4])
            if escape is not None:
                literal.append(escape)
                i += 4
                continue
            match = _VARIABLE.match(text, i)
            if match is None:
                raise MalformedPolicy(f"{where}: invalid policy variable in {text!r}")
            flush()
            default = None if match[2] is None else match[2].replace("''", "'")
            pieces.append(Var(match[1].lower(), default))
            i = match.end()
            continue
        if wildcards and char in "*?":
            flush()
            pieces.append(Wild(char))
        else:
            literal.append(char)
        i += 1
    flush()
    return tuple(pieces)


def _regex_source(pieces: Iterable[str | Wild], *, arn: bool) -> str:
    """The regex for resolved pieces. In ARN mode a wildcard stays inside its ARN segment."""
    out: list[str] = []
    colons = 0
    for piece in pieces:
        if isinstance(piece, str):
            out.append(re.escape(piece))
            colons += piece.count(":")
        elif arn and colons < 5:
            out.append("[^:]*" if piece is Wild.STAR else "[^:]")
        else:
            out.append(".*" if piece is Wild.STAR else ".")
    return "".join(out)


class Matcher(Protocol):
    def match(self, value: str, context: Context) -> bool: ...


@attrs.frozen
class RegexMatcher:
    """A pattern with wildcards and no variables, compiled at parse time."""

    regex: re.Pattern[str]

    def match(self, value: str, context: Context) -> bool:
        return self.regex.fullmatch(value) is not None


_TEMPLATE_CACHE_SIZE = 1024


@attrs.frozen(eq=False)
class TemplateMatcher:
    """A pattern with policy variables: substituted per request.

    What the substitution yields (a string, or a compiled regex if wildcards remain) is kept
    per tuple of variable values, so each user pays for `re.compile` once, not per request.
    The cache is bounded; when full it is simply emptied (users re-warm it in one request).
    """

    pieces: tuple[Piece, ...]
    fold: bool
    arn: bool
    has_wildcards: bool
    variables: tuple[Var, ...] = attrs.field(init=False)
    _cache: dict[tuple[str, ...], str | re.Pattern[str]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "variables", tuple(p for p in self.pieces if isinstance(p, Var)))
        object.__setattr__(self, "_cache", {})

    def match(self, value: str, context: Context) -> bool:
        values: list[str] = []
        for var in self.variables:
            found = context.get(var.key)
            if not isinstance(found, str):  # missing, or multivalued
                if var.default is None:
                    return False
                found = var.default
            values.append(found)
        key = tuple(values)
        target = self._cache.get(key)
        if target is None:
            target = self._build(key)
            if len(self._cache) >= _TEMPLATE_CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = target
        if isinstance(target, str):
            return value == target
        return target.fullmatch(value) is not None

    def _build(self, values: tuple[str, ...]) -> str | re.Pattern[str]:
        substitutes = iter(values)
        resolved = [next(substitutes) if isinstance(p, Var) else p for p in self.pieces]
        if self.fold:
            resolved = [p.lower() if isinstance(p, str) else p for p in resolved]
        if not self.has_wildcards:
            return "".join(p for p in resolved if isinstance(p, str))
        return re.compile(_regex_source(resolved, arn=self.arn), re.DOTALL)


@attrs.frozen
class PatternSet:
    """Several patterns, any of which may match (the OR of an Action, Resource or value list).

    Split by kind so the common cases cost a set lookup or one `str.startswith(tuple)`:
    `exact` literal strings, `prefixes` for "literal*", `others` for everything else.
    `fold` lower-cases the value first (the patterns were lower-cased at compile time).
    """

    always: bool = False
    exact: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    others: tuple[Matcher, ...] = ()
    fold: bool = False

    def match(self, value: str, context: Context) -> bool:
        if self.always:
            return True
        if self.fold:
            value = value.lower()
        if value in self.exact:
            return True
        if self.prefixes and value.startswith(self.prefixes):
            return True
        for matcher in self.others:  # noqa: SIM110 (hot path: no generator frame)
            if matcher.match(value, context):
                return True
        return False


def compile_patterns(
    texts: Iterable[str],
    *,
    where: str,
    variables: bool,
    wildcards: bool,
    fold: bool = False,
    arn: bool = False,
) -> PatternSet:
    """Compile policy strings into one PatternSet.

    `arn=True` gives ArnLike semantics (a wildcard does not cross the colons between the first
    five ARN segments) to patterns that start with "arn:".
    """
    exact: set[str] = set()
    prefixes: list[str] = []
    others: list[Matcher] = []
    for text in texts:
        if fold:
            text = text.lower()
        pieces = parse_template(text, where=where, variables=variables, wildcards=wildcards)
        arn_mode = arn and text.startswith("arn:")
        has_var = any(isinstance(p, Var) for p in pieces)
        wild_count = sum(isinstance(p, Wild) for p in pieces)
        if pieces == (Wild.STAR,):
            return PatternSet(always=True)
        if has_var:
            others.append(TemplateMatcher(pieces, fold, arn_mode, wild_count > 0))
        elif wild_count == 0:
            exact.add("".join(p for p in pieces if isinstance(p, str)))
        elif (
            wild_count == 1
            and pieces[-1] is Wild.STAR
            and len(pieces) == 2
            and isinstance(pieces[0], str)
            and (not arn_mode or pieces[0].count(":") >= 5)
        ):
            prefixes.append(pieces[0])
        else:
            source = _regex_source([p for p in pieces if not isinstance(p, Var)], arn=arn_mode)
            others.append(RegexMatcher(re.compile(source, re.DOTALL)))
    return PatternSet(False, frozenset(exact), tuple(prefixes), tuple(others), fold)


# --- Parsing of context values (cached: the same IPs and times recur) -------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_number(text: str) -> float | None:
    """A decimal number, or None. Stricter than float(): no "_", "nan", "inf" or spaces."""
    if _NUMBER.fullmatch(text) is None:
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse_date(text: str) -> float | None:
    """ISO 8601 (naive means UTC) or epoch seconds, as epoch seconds; None if neither."""
    number = parse_number(text)
    if number is not None:
        return number
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str) -> IpAddress | None:
    """A client address; IPv4-mapped IPv6 (::ffff:1.2.3.4) is unwrapped to match IPv4 CIDRs."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


_context_number = functools.lru_cache(maxsize=1024)(parse_number)
_context_date = functools.lru_cache(maxsize=1024)(parse_date)


@functools.lru_cache(maxsize=4096)
def _context_ip(text: str) -> tuple[int, int] | None:
    """(IP version, address as int): the form IpTest compares with plain integer masks."""
    address = parse_ip(text)
    return None if address is None else (address.version, int(address))


# --- Value tests: "does this one context value match any of the policy's values?" -------------

Compare: TypeAlias = Callable[[float, float], bool]


@attrs.frozen
class NumericTest:
    compare: Compare
    values: tuple[float, ...]
    parse: Callable[[str], float | None]

    def match(self, value: str, context: Context) -> bool:
        number = self.parse(value)
        if number is None:  # not a number/date: matches no policy value
            return False
        compare = self.compare
        for candidate in self.values:  # noqa: SIM110 (hot path: no generator frame)
            if compare(number, candidate):
                return True
        return False


@attrs.frozen
class BoolTest:
    values: frozenset[str]  # {"true"} / {"false"} / both

    def match(self, value: str, context: Context) -> bool:
        return value.lower() in self.values


@attrs.frozen
class IpTest:
    """CIDRs as (version, network int, mask int): `ip_network.__contains__` costs ~1 µs."""

    networks: tuple[tuple[int, int, int], ...]

    @classmethod
    def of(cls, networks: Iterable[IpNetwork]) -> IpTest:
        return cls(tuple((n.version, int(n.network_address), int(n.netmask)) for n in networks))

    def match(self, value: str, context: Context) -> bool:
        address = _context_ip(value)
        if address is None:
            return False
        version, number = address
        for net_version, network, mask in self.networks:
            if net_version == version and number & mask == network:
                return True
        return False


@attrs.frozen
class BinaryTest:
    values: frozenset[bytes]

    def match(self, value: str, context: Context) -> bool:
        return _parse_binary(value) in self.values


class ValueTest(Protocol):
    def match(self, value: str, context: Context) -> bool: ...


# --- Conditions -------------------------------------------------------------------------------
#
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
#   "If your policy has multiple condition operators or multiple context keys attached to a
#    single condition operator, the conditions are evaluated using a logical AND."
#   "If a single condition operator includes multiple values for a context key, those values
#    are evaluated using a logical OR."
#   Negated operators: "the context key value in the request must not match any of the values"
#   (a logical NOR).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
#   "If the key that you specify in a policy condition is not present in the request context,
#    the values do not match and the condition is false. If the policy condition requires that
#    the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
#    present, the condition is true. This logic applies to all condition operators except
#    ...IfExists and Null check."
#   IfExists: "If the key is not present, evaluate the condition element as true."
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
#   ForAllValues: true "if every context key value in the request matches at least one context
#   key value in the policy. It also returns true if there are no context keys in the request."
#   ForAnyValue: true "if any one of the context key values in the request matches any one of
#   the context key values in the policy"; "If there are no context keys in the request, the
#   condition returns false."
# ZAS rules where the documents are silent:
#   - a context value that cannot be read as the operator's type (a non-numeric s3:max-keys)
#     matches no policy value, so the positive operator is false and the negated one true;
#   - an empty list in the context counts as a missing key;
#   - a plain (unqualified) operator given a multivalued context key is true when any context
#     value matches (negated: when none does).

Qualifier: TypeAlias = Literal["ForAllValues", "ForAnyValue"]


@attrs.frozen
class Condition:
    """One (operator, key) pair of a Condition block, compiled."""

    operator: str  # as written, for messages
    key: str  # lower-cased
    test: ValueTest
    negated: bool
    qualifier: Qualifier | None
    if_exists: bool

    @property
    def when_missing(self) -> bool:
        if self.if_exists or self.qualifier == "ForAllValues":
            return True
        if self.qualifier == "ForAnyValue":
            return False
        return self.negated

    def holds(self, context: Context) -> bool:
        raw = context.get(self.key)
        if raw is None:
            return self.when_missing
        test = self.test
        negated = self.negated
        if isinstance(raw, str):
            return test.match(raw, context) != negated
        if not raw:
            return self.when_missing
        if self.qualifier == "ForAllValues":
            return all(test.match(v, context) != negated for v in raw)
        if self.qualifier == "ForAnyValue":
            return any(test.match(v, context) != negated for v in raw)
        return any(test.match(v, context) for v in raw) != negated


@attrs.frozen
class NullCondition:
    """`Null`: {"key": "true"} holds when the key is absent, "false" when it is present.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
    """

    operator: str
    key: str
    absent: frozenset[bool]

    def holds(self, context: Context) -> bool:
        raw = context.get(self.key)
        is_absent = raw is None or (not isinstance(raw, str) and not raw)
        return is_absent in self.absent


AnyCondition: TypeAlias = Condition | NullCondition

Family: TypeAlias = Literal["string", "numeric", "date", "bool", "binary", "ip", "arn", "null"]


@attrs.frozen
class _Operator:
    name: str
    family: Family
    negated: bool = False
    fold: bool = False
    wildcards: bool = False
    compare: Compare | None = None


def _six(prefix: str, family: Family) -> list[_Operator]:
    return [
        _Operator(f"{prefix}Equals", family, compare=operator.eq),
        _Operator(f"{prefix}NotEquals", family, negated=True, compare=operator.eq),
        _Operator(f"{prefix}LessThan", family, compare=operator.lt),
        _Operator(f"{prefix}LessThanEquals", family, compare=operator.le),
        _Operator(f"{prefix}GreaterThan", family, compare=operator.gt),
        _Operator(f"{prefix}GreaterThanEquals", family, compare=operator.ge),
    ]


_OPERATORS: dict[str, _Operator] = {
    op.name.lower(): op
    for op in [
        _Operator("StringEquals", "string"),
        _Operator("StringNotEquals", "string", negated=True),
        _Operator("StringEqualsIgnoreCase", "string", fold=True),
        _Operator("StringNotEqualsIgnoreCase", "string", negated=True, fold=True),
        _Operator("StringLike", "string", wildcards=True),
        _Operator("StringNotLike", "string", negated=True, wildcards=True),
        *_six("Numeric", "numeric"),
        *_six("Date", "date"),
        _Operator("Bool", "bool"),
        _Operator("BinaryEquals", "binary"),
        _Operator("IpAddress", "ip"),
        _Operator("NotIpAddress", "ip", negated=True),
        # ArnEquals and ArnLike are the same operator in AWS (both take wildcards, per segment).
        _Operator("ArnEquals", "arn", wildcards=True),
        _Operator("ArnLike", "arn", wildcards=True),
        _Operator("ArnNotEquals", "arn", negated=True, wildcards=True),
        _Operator("ArnNotLike", "arn", negated=True, wildcards=True),
        _Operator("Null", "null"),
    ]
}

#: Every base operator name, in AWS spelling (without IfExists / set qualifiers).
CONDITION_OPERATORS: frozenset[str] = frozenset(op.name for op in _OPERATORS.values())

Scalar: TypeAlias = str | int | float | bool


def _split_operator(name: str, where: str) -> tuple[Qualifier | None, _Operator, bool]:
    """'ForAnyValue:StringLikeIfExists' -> ("ForAnyValue", StringLike, True). Case-insensitive."""
    qualifier: Qualifier | None = None
    base = name
    if ":" in name:
        prefix, base = name.split(":", 1)
        if prefix.lower() == "forallvalues":
            qualifier = "ForAllValues"
        elif prefix.lower() == "foranyvalue":
            qualifier = "ForAnyValue"
        else:
            raise MalformedPolicy(f"{where}: unknown condition operator {name}")
    if_exists = base.lower().endswith("ifexists")
    if if_exists:
        base = base[: -len("IfExists")]
    spec = _OPERATORS.get(base.lower())
    if spec is None:
        raise MalformedPolicy(f"{where}: unknown condition operator {name}")
    if spec.family == "null" and (if_exists or qualifier):
        raise MalformedPolicy(
            f"{where}: condition operator {name}: Null takes neither IfExists nor a set qualifier"
        )
    return qualifier, spec, if_exists


def _scalars(raw: object, where: str) -> list[Scalar]:
    items: list[object] = raw if isinstance(raw, list) else [raw]
    if not items:
        raise MalformedPolicy(f"{where}: empty list of condition values")
    scalars: list[Scalar] = []
    for item in items:
        if not isinstance(item, str | int | float | bool):
            raise MalformedPolicy(
                f"{where}: condition values must be strings, numbers, booleans or lists of "
                f"them, not {type(item).__name__}"
            )
        scalars.append(item)
    return scalars


def _as_string(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_bool(value: Scalar, where: str) -> bool:
    text = _as_string(value).lower()
    if text not in ("true", "false"):
        raise MalformedPolicy(f"{where}: invalid boolean value {value!r}")
    return text == "true"


def _as_number(value: Scalar, where: str, *, date: bool) -> float:
    number: float | None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value) if math.isfinite(value) else None
    else:
        number = parse_date(value) if date else parse_number(value)
    if number is None:
        kind = "date" if date else "numeric"
        raise MalformedPolicy(f"{where}: invalid {kind} value {value!r}")
    return number


def _as_network(value: Scalar, where: str) -> IpNetwork:
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        return ipaddress.ip_network(_as_string(value), strict=False)
    except ValueError:
        raise MalformedPolicy(f"{where}: invalid IP address or CIDR {value!r}") from None


def _as_binary(value: Scalar, where: str) -> bytes:
    decoded = _parse_binary(value) if isinstance(value, str) else None
    if decoded is None:
        raise MalformedPolicy(f"{where}: invalid base64 value {value!r}")
    return decoded


def _compile_test(spec: _Operator, values: list[Scalar], where: str, variables: bool) -> ValueTest:
    if spec.family in ("string", "arn"):
        return compile_patterns(
            (_as_string(v) for v in values),
            where=where,
            variables=variables,
            wildcards=spec.wildcards,
            fold=spec.fold,
            arn=spec.family == "arn",
        )
    if spec.family in ("numeric", "date"):
        date = spec.family == "date"
        assert spec.compare is not None
        return NumericTest(
            spec.compare,
            tuple(_as_number(v, where, date=date) for v in values),
            _context_date if date else _context_number,
        )
    if spec.family == "bool":
        return BoolTest(frozenset("true" if _as_bool(v, where) else "false" for v in values))
    if spec.family == "ip":
        return IpTest.of(_as_network(v, where) for v in values)
    assert spec.family == "binary"
    return BinaryTest(frozenset(_as_binary(v, where) for v in values))


def compile_conditions(block: object, *, where: str, variables: bool) -> tuple[AnyCondition, ...]:
    """Compile a statement's Condition element: {operator: {key: value | [values]}}."""
    if not isinstance(block, dict):
        raise MalformedPolicy(f"{where}: Condition must be an object of operator -> {{key: value}}")
    conditions: list[AnyCondition] = []
    for name, keys in block.items():
        if not isinstance(name, str):
            raise MalformedPolicy(f"{where}: unknown condition operator {name!r}")
        qualifier, spec, if_exists = _split_operator(name, where)
        if not isinstance(keys, dict) or not keys:
            raise MalformedPolicy(f"{where}: {name} must map condition keys to values")
        for key, raw in keys.items():
            if not isinstance(key, str) or not key:
                raise MalformedPolicy(f"{where}: {name} has an empty or non-string condition key")
            at = f"{where}: {name} {key}"
            values = _scalars(raw, at)
            if spec.family == "null":
                absent = frozenset(_as_bool(v, at) for v in values)
                conditions.append(NullCondition(name, key.lower(), absent))
                continue
            test = _compile_test(spec, values, at, variables)
            conditions.append(
                Condition(name, key.lower(), test, spec.negated, qualifier, if_exists)
            )
    return tuple(conditions)
