"""The HTTP request as the S3 protocol code sees it, and HTTP date handling.

`HttpRequest` is built once per request by the API adapter from the ASGI scope and handed to
routing and SigV4; nothing here reads a socket. Header names are lower-case; a header sent
several times keeps every value in order, because SigV4 canonicalisation needs them apart.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import unquote

import attrs

from zas.protocol.errors import InvalidArgument


@attrs.frozen
class HttpRequest:
    method: str
    # The path exactly as sent on the wire, still percent-encoded ("/b/a%20key").
    raw_path: str
    # Query pairs percent-decoded, in the order sent. A bare "?uploads" is ("uploads", "").
    query: tuple[tuple[str, str], ...]
    # Lower-case header name -> every value sent under that name, in order.
    headers: dict[str, list[str]]
    # Which query names were sent without "=" (S3 sub-resources like "?acl" vs "?acl=").
    bare_query_names: frozenset[str] = frozenset()

    @classmethod
    def from_wire(
        cls, method: str, raw_path: str, query_string: str, headers: Iterable[tuple[str, str]]
    ) -> HttpRequest:
        merged: dict[str, list[str]] = {}
        for name, value in headers:
            merged.setdefault(name.lower(), []).append(value)
        pairs, bare = parse_query(query_string)
        return cls(method.upper(), raw_path or "/", pairs, merged, bare)

    def header(self, name: str) -> str | None:
        """The header's value; several values are joined with "," as RFC 9110 allows."""
        values = self.headers.get(name)
        if not values:
            return None
        return values[0] if len(values) == 1 else ",".join(values)

    def query_value(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

    def has_query(self, name: str) -> bool:
        return any(key == name for key, _ in self.query)

    @property
    def path(self) -> str:
        """The percent-decoded path."""
        return unquote(self.raw_path)


def parse_query(query_string: str) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    """Split a raw query string into decoded pairs.

    "+" is kept literally: S3 clients percent-encode spaces as %20, and SigV4 signs the
    decoded value, so turning "+" into a space would break signatures of keys holding "+".
    """
    pairs: list[tuple[str, str]] = []
    bare: set[str] = set()
    if not query_string:
        return (), frozenset()
    for part in query_string.split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        decoded = unquote(name)
        if not sep:
            bare.add(decoded)
        pairs.append((decoded, unquote(value)))
    return tuple(pairs), frozenset(bare)


def format_http_date(moment: datetime) -> str:
    """RFC 9110 IMF-fixdate, as S3 sends Last-Modified: 'Wed, 21 Oct 2015 07:28:00 GMT'."""
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def parse_http_date(value: str) -> datetime | None:
    """Parse an HTTP date (IMF-fixdate, RFC 850 or asctime); None when invalid.

    RFC 9110 section 13.1.3: a recipient must ignore If-Modified-Since with an invalid date,
    so callers treat None as "header absent", not as an error.
    """
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def format_iso8601(moment: datetime) -> str:
    """The timestamp format of S3 XML bodies: '2009-10-12T17:50:30.000Z'."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_MAX_DIGITS = 19


def parse_int(value: str, name: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A non-negative decimal integer parameter, or InvalidArgument naming it."""
    if not value.isascii() or not value.isdigit():
        raise InvalidArgument(
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=value[:64],
        )
    # int() raises ValueError on more than 4300 digits (CPython's guard against quadratic
    # parsing); no parameter of ours comes near 19 digits, so longer ones are out of range.
    digits = value.lstrip("0") or "0"
    number = int(digits) if len(digits) <= _MAX_DIGITS else None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        raise InvalidArgument(
            f"Argument {name} must be an integer between {minimum} and {maximum}",
            ArgumentName=name,
            ArgumentValue=value[:64],
        )
    return number
