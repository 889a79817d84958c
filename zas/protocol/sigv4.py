"""AWS Signature Version 4: parsing and verifying header and presigned (query) signatures.

Pure: the caller passes the request, a way to look up a secret key, and `now`. Nothing here
touches the body; the payload hash the client declared is returned so the storage path can
check it against the bytes as they stream (`PayloadHash`).

Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and,
for S3's variant, https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html

    CanonicalRequest =
      HTTPMethod + '\\n' + CanonicalURI + '\\n' + CanonicalQueryString + '\\n' +
      CanonicalHeaders + '\\n' + SignedHeaders + '\\n' + HexEncode(Hash(RequestPayload))
    StringToSign =
      "AWS4-HMAC-SHA256" + '\\n' + RequestDateTime + '\\n' + CredentialScope + '\\n' +
      HexEncode(Hash(CanonicalRequest))
    kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")

S3 differs from other services in one place: the canonical URI is the path URI-encoded once,
with no dot-segment normalisation (keys may contain "//" or "/../"). The generic rules
(normalise, then encode the already-encoded path again) are kept for the public test suite.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import attrs

from zas.protocol.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from zas.protocol.http import HttpRequest, parse_http_date

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# AWS: "the request time must be within 15 minutes of the server time".
MAX_CLOCK_SKEW = timedelta(minutes=15)
# Presigned URLs: X-Amz-Expires is 1..604800 seconds (7 days).
MAX_PRESIGN_EXPIRES = 604_800

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


class PayloadKind(enum.Enum):
    UNSIGNED = "unsigned"  # UNSIGNED-PAYLOAD: nothing to check
    SHA256 = "sha256"  # hex SHA-256 of the body, to be compared once it has streamed
    STREAMING = "streaming"  # aws-chunked (STREAMING-*): decoded by the chunk parser


@attrs.frozen
class PayloadHash:
    kind: PayloadKind
    value: str  # the header's literal value (hex digest or the STREAMING-* name)


@attrs.frozen
class SigningKeyScope:
    date: str  # YYYYMMDD
    region: str
    service: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@attrs.frozen
class Credential:
    access_key: str
    scope: SigningKeyScope


@attrs.frozen
class SignatureParts:
    """What a client claims: from the Authorization header or the X-Amz-* query."""

    credential: Credential
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime
    presigned: bool
    expires: int | None = None  # presigned only


@attrs.frozen
class VerifiedSignature:
    """A request whose signature checked out."""

    access_key: str
    scope: SigningKeyScope
    signature: str  # kept: aws-chunked chunk signatures chain from it
    amz_date: datetime
    signing_key: bytes
    payload: PayloadHash
    presigned: bool


# --- canonicalisation -----------------------------------------------------------------


def uri_encode(value: str, *, encode_slash: bool = True) -> str:
    """AWS UriEncode: every byte but A-Za-z0-9-_.~ as %XX (upper-case hex)."""
    out = []
    for byte in value.encode("utf-8"):
        if byte in _UNRESERVED or (byte == 0x2F and not encode_slash):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def canonical_uri(raw_path: str, *, s3: bool = True) -> str:
    if s3:
        # Decode what the client encoded, then encode once by AWS's rules, so "%7E" and
        # "~" or "%2f"-vs-"%2F" spellings of the same key all canonicalise alike.
        return uri_encode(unquote(raw_path), encode_slash=False) or "/"
    return uri_encode(_normalize_path(raw_path), encode_slash=False)


def _normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal plus collapsing of empty segments (non-S3 services)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    trailing = path.endswith("/") and bool(segments)
    return "/" + "/".join(segments) + ("/" if trailing else "")


def canonical_query(query: tuple[tuple[str, str], ...], *, exclude_signature: bool) -> str:
    pairs = sorted(
        (uri_encode(name), uri_encode(value))
        for name, value in query
        if not (exclude_signature and name == "X-Amz-Signature")
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


_SPACES = re.compile(r"\s+")


def canonical_headers(headers: dict[str, list[str]], signed: tuple[str, ...]) -> str:
    lines = []
    for name in signed:
        values = headers.get(name)
        if values is None:
            raise SignatureDoesNotMatch(f"Signed header {name!r} is missing from the request")
        joined = ",".join(_SPACES.sub(" ", value.strip()) for value in values)
        lines.append(f"{name}:{joined}\n")
    return "".join(lines)


def canonical_request(
    request: HttpRequest,
    signed_headers: tuple[str, ...],
    payload_hash: str,
    *,
    presigned: bool = False,
    s3: bool = True,
) -> str:
    return "\n".join(
        (
            request.method,
            canonical_uri(request.raw_path, s3=s3),
            canonical_query(request.query, exclude_signature=presigned),
            canonical_headers(request.headers, signed_headers),
            ";".join(signed_headers),
            payload_hash,
        )
    )


def string_to_sign(amz_date: datetime, scope: SigningKeyScope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date.strftime(_AMZ_DATE)}\n{scope}\n{digest}"


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, scope: SigningKeyScope) -> bytes:
    """Derived once per secret, day, region and service: four HMACs saved per request."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), scope.date)
    key = _hmac(key, scope.region)
    key = _hmac(key, scope.service)
    return _hmac(key, "aws4_request")


def sign(key: bytes, string: str) -> str:
    return hmac.new(key, string.encode("utf-8"), hashlib.sha256).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


# --- parsing what the client sent -------------------------------------------------------


def is_presigned(request: HttpRequest) -> bool:
    return request.has_query("X-Amz-Signature") or request.has_query("X-Amz-Algorithm")


def is_signed(request: HttpRequest) -> bool:
    return request.header("authorization") is not None or is_presigned(request)


def parse_credential(value: str, error: type[InvalidArgument] | type[Exception]) -> Credential:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise error(
            f"Credential {value!r} is not of the form AKID/YYYYMMDD/region/service/aws4_request"
        )
    access_key, date, region, service, _ = parts
    if len(date) != 8 or not date.isdigit():
        raise error(f"Credential date {date!r} is not YYYYMMDD")
    return Credential(access_key, SigningKeyScope(date, region, service))


def parse_authorization_header(request: HttpRequest) -> SignatureParts:
    """Parse 'AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..'."""
    header = request.header("authorization") or ""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        if algorithm == "AWS":
            raise InvalidRequest("Signature Version 2 is not supported; use AWS4-HMAC-SHA256.")
        raise AuthorizationHeaderMalformed(f"Unsupported authorization type {algorithm[:32]!r}")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or name in fields:
            raise AuthorizationHeaderMalformed("The authorization header is malformed.")
        fields[name] = value.strip()
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        raise AuthorizationHeaderMalformed(
            "The authorization header needs Credential, SignedHeaders and Signature."
        )
    credential = parse_credential(fields["Credential"], AuthorizationHeaderMalformed)
    signed_headers = _parse_signed_headers(fields["SignedHeaders"], AuthorizationHeaderMalformed)
    amz_date = _request_date(request)
    if amz_date.strftime("%Y%m%d") != credential.scope.date:
        raise AuthorizationHeaderMalformed(
            "The credential date does not match the date of the request."
        )
    return SignatureParts(credential, signed_headers, fields["Signature"], amz_date, False)


def parse_presigned_query(request: HttpRequest) -> SignatureParts:
    def need(name: str) -> str:
        value = request.query_value(name)
        if not value:
            raise AuthorizationQueryParametersError(f"Query-string authentication needs {name}.")
        return value

    if need("X-Amz-Algorithm") != ALGORITHM:
        raise AuthorizationQueryParametersError("X-Amz-Algorithm only supports AWS4-HMAC-SHA256")
    credential = parse_credential(need("X-Amz-Credential"), AuthorizationQueryParametersError)
    signed = _parse_signed_headers(need("X-Amz-SignedHeaders"), AuthorizationQueryParametersError)
    amz_date = _parse_amz_date(need("X-Amz-Date"), AuthorizationQueryParametersError)
    expires_raw = need("X-Amz-Expires")
    # isdigit() alone admits "²" (int() then raises ValueError); the length cap keeps int()
    # away from its 4300-digit limit, and anything that long is over the maximum anyway.
    if not (expires_raw.isascii() and expires_raw.isdigit()):
        raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
    expires = int(expires_raw) if len(expires_raw) <= 19 else MAX_PRESIGN_EXPIRES + 1
    if expires < 1:
        raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_EXPIRES:
        raise AuthorizationQueryParametersError(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        )
    if amz_date.strftime("%Y%m%d") != credential.scope.date:
        raise AuthorizationQueryParametersError("The credential date does not match X-Amz-Date.")
    return SignatureParts(credential, signed, need("X-Amz-Signature"), amz_date, True, expires)


def _parse_signed_headers(value: str, error: type[Exception]) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or any(not name or name != name.lower() for name in names):
        raise error("SignedHeaders must be a ';'-separated list of lower-case header names.")
    if "host" not in names:
        # AWS requires the host header to be signed; without it a signature could be replayed
        # against another endpoint.
        raise error("The host header must be signed.")
    return names


def _request_date(request: HttpRequest) -> datetime:
    value = request.header("x-amz-date")
    if value is not None:
        return _parse_amz_date(value, AccessDenied)
    date = request.header("date")
    parsed = parse_http_date(date) if date else None
    if parsed is None:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    return parsed


_AMZ_DATE_FORM = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", re.ASCII)


def _parse_amz_date(value: str, error: type[Exception]) -> datetime:
    # A regex and int() instead of strptime: this runs on every request, and strptime is
    # one of the larger costs of SigV4 verification in the profile.
    match = _AMZ_DATE_FORM.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise error(
            f"Invalid date {value[:32]!r}; expected ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'"
        ) from None


def parse_payload_hash(request: HttpRequest, *, presigned: bool) -> PayloadHash:
    value = request.header("x-amz-content-sha256")
    if value is None:
        if presigned:
            return PayloadHash(PayloadKind.UNSIGNED, UNSIGNED_PAYLOAD)
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    if value == UNSIGNED_PAYLOAD:
        return PayloadHash(PayloadKind.UNSIGNED, value)
    if value.startswith("STREAMING-"):
        return PayloadHash(PayloadKind.STREAMING, value)
    if _HEX64.fullmatch(value):
        return PayloadHash(PayloadKind.SHA256, value)
    raise InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a SHA-256 hex digest",
        ArgumentName="x-amz-content-sha256",
        ArgumentValue=value[:64],
    )


# --- verification ------------------------------------------------------------------------

SecretLookup = Callable[[str], str | None]


def verify(
    request: HttpRequest,
    lookup_secret: SecretLookup,
    now: datetime,
    *,
    service: str = "s3",
) -> VerifiedSignature:
    """Check a SigV4-signed request (header or presigned); raise the S3 error AWS would."""
    presigned = request.header("authorization") is None
    parts = parse_presigned_query(request) if presigned else parse_authorization_header(request)
    if parts.credential.scope.service != service:
        raise (AuthorizationQueryParametersError if presigned else AuthorizationHeaderMalformed)(
            f"The credential scope names service {parts.credential.scope.service!r}; "
            f"expected {service!r}."
        )
    secret = lookup_secret(parts.credential.access_key)
    if secret is None:
        raise InvalidAccessKeyId()
    _check_time(parts, now)
    payload = parse_payload_hash(request, presigned=presigned)
    canonical = canonical_request(request, parts.signed_headers, payload.value, presigned=presigned)
    key = signing_key(secret, parts.credential.scope)
    expected = sign(key, string_to_sign(parts.amz_date, parts.credential.scope, canonical))
    if not hmac.compare_digest(expected.encode(), parts.signature.encode()):
        raise SignatureDoesNotMatch()
    return VerifiedSignature(
        access_key=parts.credential.access_key,
        scope=parts.credential.scope,
        signature=parts.signature,
        amz_date=parts.amz_date,
        signing_key=key,
        payload=payload,
        presigned=presigned,
    )


def _check_time(parts: SignatureParts, now: datetime) -> None:
    if parts.presigned:
        assert parts.expires is not None
        if now < parts.amz_date - MAX_CLOCK_SKEW:
            raise AccessDenied("Request is not yet valid")
        if now > parts.amz_date + timedelta(seconds=parts.expires):
            raise AccessDenied("Request has expired")
        return
    if abs(now - parts.amz_date) > MAX_CLOCK_SKEW:
        raise RequestTimeTooSkewed(
            RequestTime=parts.amz_date.strftime(_AMZ_DATE),
            ServerTime=now.strftime(_AMZ_DATE),
        )


# --- signing (the `zas` CLI's side) --------------------------------------------------------


def sign_request(
    request: HttpRequest,
    access_key: str,
    secret: str,
    region: str,
    now: datetime,
    payload_hash: str,
    *,
    service: str = "s3",
) -> str:
    """The Authorization header for `request`, which must already carry `host`,
    `x-amz-date` and `x-amz-content-sha256` (all of its headers are signed)."""
    scope = SigningKeyScope(now.strftime("%Y%m%d"), region, service)
    signed = tuple(sorted(request.headers))
    canonical = canonical_request(request, signed, payload_hash)
    signature = sign(signing_key(secret, scope), string_to_sign(now, scope, canonical))
    return (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
