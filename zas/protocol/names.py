"""Bucket-name and key rules, and the names ZAS keeps for its own routes.

Bucket naming rules (general purpose buckets):
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
"""

from __future__ import annotations

import re

from zas.protocol.errors import InvalidBucketName, InvalidRequest, KeyTooLongError

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
