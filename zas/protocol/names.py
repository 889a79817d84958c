"""Bucket-name, key and object-tag rules, and the names ZAS keeps for its own routes.

Bucket naming rules (general purpose buckets):
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
Object tags: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from zas.protocol.errors import (
    BadRequest,
    InvalidArgument,
    InvalidBucketName,
    InvalidRequest,
    InvalidTag,
    KeyTooLongError,
)

# The server's own top-level routes. A bucket with one of these names could never be
# reached path-style, so creating one is refused. Documented in the README.
RESERVED_BUCKET_NAMES = frozenset(
    {
        "s3",  # the /s3/ prefix that carries the same S3 API
        "health",  # /health, /health/ready, /health/live
        "metrics",  # /metrics (Prometheus)
        "rbac",  # /rbac/... policy and audit API
        "supplychain",  # /supplychain/... signing, SBOMs, attestations
        "admin",  # /admin/... user and key management
        "sts",  # /sts: AssumeRoleWithWebIdentity
        "oci",  # the planned OCI registry
        "zas",  # reserved for the server's own use
    }
)

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_FORBIDDEN_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_FORBIDDEN_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

MAX_KEY_BYTES = 1024


def validate_bucket_name(name: str) -> None:
    reason = _bucket_name_problem(name)
    if reason is not None:
        raise InvalidBucketName(
            f"The specified bucket is not valid: {reason}.", BucketName=name[:80]
        )


def _bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return "bucket names must be between 3 and 63 characters long"
    if not _BUCKET.fullmatch(name):
        return (
            "bucket names may hold only lower-case letters, digits, dots and hyphens, "
            "and must begin and end with a letter or digit"
        )
    if ".." in name:
        return "bucket names must not contain two adjacent periods"
    if _IPV4.fullmatch(name):
        return "bucket names must not be formatted as an IP address"
    if name.startswith(_FORBIDDEN_PREFIXES) or name.endswith(_FORBIDDEN_SUFFIXES):
        return "bucket names must not use a prefix or suffix reserved by S3"
    if name in RESERVED_BUCKET_NAMES:
        return f"{name!r} is reserved for a ZAS route"
    return None


def validate_key(key: str) -> None:
    if not key:
        raise InvalidRequest("An object key must not be empty.")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyTooLongError(Size=str(len(key.encode("utf-8"))), MaxSizeAllowed=str(MAX_KEY_BYTES))
    if "\x00" in key:
        raise InvalidRequest("An object key must not contain a NUL character.")


# --- object tags -----------------------------------------------------------------------------

# (key, value) pairs in the order the client sent them.
Tags = tuple[tuple[str, str], ...]

MAX_TAGS = 10
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
# "The allowed characters across services are: letters (a-z, A-Z), numbers (0-9), and spaces
# representable in UTF-8, and the following characters: + - = . _ : / @" - letters, numbers
# and spaces of any script (Unicode categories L, N, Z), as S3 accepts "文" but not "😀".
_TAG_PUNCTUATION = frozenset("+-=._:/@")
_TAG_CATEGORIES = frozenset("LNZ")
_TAGGING_HEADER_MESSAGE = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
    "without tag name duplicates."
)


def _tag_text_ok(text: str) -> bool:
    return all(
        char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in _TAG_CATEGORIES
        for char in text
    )


def validate_tags(tags: Iterable[tuple[str, str]]) -> Tags:
    """The object-tag limits, with the codes and messages S3 answers; returns the tags.

    At most 10 tags (S3 says BadRequest, not InvalidTag), keys 1..128 and values 0..256
    characters of the allowed set, no key twice, no key in the reserved "aws:" namespace.
    """
    out = tuple(tags)
    if len(out) > MAX_TAGS:
        raise BadRequest(f"Object tags cannot be greater than {MAX_TAGS}")
    seen: set[str] = set()
    for key, value in out:
        if not 1 <= len(key) <= MAX_TAG_KEY_LENGTH or not _tag_text_ok(key):
            raise InvalidTag("The TagKey you have provided is invalid", TagKey=key[:256])
        if len(value) > MAX_TAG_VALUE_LENGTH or not _tag_text_ok(value):
            raise InvalidTag(
                "The TagValue you have provided is invalid", TagKey=key, TagValue=value[:512]
            )
        if key in seen:
            raise InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        if key[:4].lower() == "aws:":
            raise InvalidTag("System tags cannot be added/updated by requester", TagKey=key)
        seen.add(key)
    return out


def parse_tagging_header(value: str) -> Tags:
    """x-amz-tagging: URL-query-encoded "k1=v1&k2=v2" ('+' is a space, "k" alone is k="").

    A pair without a key, a key given twice or an escape that is not UTF-8 is InvalidArgument
    (as S3 answers); the tags themselves then pass `validate_tags`.
    """
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    for part in value.split("&"):
        if not part:
            continue
        raw_key, _, raw_value = part.partition("=")
        key, tag_value = form_decode(raw_key), form_decode(raw_value)
        if key is None or tag_value is None or not key or key in seen:
            raise InvalidArgument(
                _TAGGING_HEADER_MESSAGE, ArgumentName="x-amz-tagging", ArgumentValue=value[:1024]
            )
        seen.add(key)
        tags.append((key, tag_value))
    return validate_tags(tags)


def form_decode(text: str) -> str | None:
    """Percent- and '+'-decode a header value as S3 does, or None if it is not UTF-8.

    Header values reach us latin-1 decoded (one char per byte, see zas/protocol/http.py), so
    raw UTF-8 bytes are recovered by re-encoding before the escapes are resolved.
    """
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", errors="replace")
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None
