"""Fuzz target: SigV4 parsing and verification (`zas.protocol.sigv4`).

The input is a request in a small text form, so seeds and crash files read like HTTP:

    METHOD SP raw-path [ "?" query-string ] LF
    name ":" value LF          (any number of header lines, repeats allowed)

Each input is decoded both as the ASGI adapter does (latin-1) and as UTF-8 with "replace";
for each text, the target checks four requests:

1. the request as written;
2. the whole text as the value of an `Authorization` header (plus a valid date, host and
   payload hash), so the header grammar sees everything;
3. the whole text as the query string (presigned `X-Amz-*` parameters);
4. for requests from 1 whose header or presigned parts parse with the known access key,
   the same request re-signed with the correct signature: it must then not fail with
   SignatureDoesNotMatch (parsing and canonicalisation agree);
5. the request from 1 with one of its digit runs stretched past CPython's 4300-digit `int()` limit
   (libFuzzer itself rarely grows a number that long).

On each, `parse_authorization_header`, `parse_presigned_query` and `verify` must return or
raise an `S3Error`; what they return must be self-consistent (asserted below).
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from fuzz._harness import attempt, run, stretch_digits, texts
from zas.protocol import sigv4
from zas.protocol.errors import S3Error, SignatureDoesNotMatch
from zas.protocol.http import HttpRequest

# The seeds in fuzz/seeds/sigv4/ were signed by botocore at NOW with this key pair
# (the example key pair of the AWS documentation); see fuzz/make_seeds.py.
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "localhost:9000"


def lookup_secret(access_key: str) -> str | None:
    return SECRET if access_key == ACCESS_KEY else None


def request_from_text(text: str) -> HttpRequest:
    """'GET /b/k?x=1\\nhost: h\\n...' -> HttpRequest (never raises)."""
    first, _, rest = text.partition("\n")
    method, _, target = first.removesuffix("\r").partition(" ")
    raw_path, _, query = target.partition("?")
    headers = []
    for line in rest.split("\n"):
        line = line.removesuffix("\r")
        if line:
            name, _, value = line.partition(":")
            headers.append((name, value.strip(" \t")))
    return HttpRequest.from_wire(method, raw_path, query, headers)


def _check_parts(parts: sigv4.SignatureParts, presigned: bool) -> None:
    assert parts.presigned is presigned
    assert parts.amz_date.strftime("%Y%m%d") == parts.credential.scope.date
    assert "host" in parts.signed_headers
    assert all(name and name == name.lower() for name in parts.signed_headers)
    if presigned:
        assert parts.expires is not None and 1 <= parts.expires <= sigv4.MAX_PRESIGN_EXPIRES
        assert parts.signature


def _expected_signature(
    request: HttpRequest, parts: sigv4.SignatureParts, presigned: bool
) -> str | None:
    """What a correct client would have sent, or None if the request cannot be signed."""
    try:
        payload = sigv4.parse_payload_hash(request, presigned=presigned)
        canonical = sigv4.canonical_request(
            request, parts.signed_headers, payload.value, presigned=presigned
        )
    except S3Error:
        return None
    key = sigv4.signing_key(SECRET, parts.credential.scope)
    return sigv4.sign(key, sigv4.string_to_sign(parts.amz_date, parts.credential.scope, canonical))


def _resigned(request: HttpRequest) -> HttpRequest | None:
    """The request with a correct signature in place of the one it carries, if it has one."""
    presigned = request.header("authorization") is None
    if presigned:
        parts = attempt(sigv4.parse_presigned_query, request)
    else:
        parts = attempt(sigv4.parse_authorization_header, request)
    if parts is None or parts.credential.access_key != ACCESS_KEY:
        return None
    if "authorization" in parts.signed_headers:
        return None  # re-signing would change what is signed
    signature = _expected_signature(request, parts, presigned)
    if signature is None:
        return None
    if presigned:
        query = tuple(
            (name, signature if name == "X-Amz-Signature" else value)
            for name, value in request.query
        )
        return attrs.evolve(request, query=query)
    credential = f"{parts.credential.access_key}/{parts.credential.scope}"
    header = (
        f"{sigv4.ALGORITHM} Credential={credential}, "
        f"SignedHeaders={';'.join(parts.signed_headers)}, Signature={signature}"
    )
    return attrs.evolve(request, headers={**request.headers, "authorization": [header]})


def check(request: HttpRequest) -> sigv4.VerifiedSignature | None:
    header_parts = attempt(sigv4.parse_authorization_header, request)
    if header_parts is not None:
        _check_parts(header_parts, presigned=False)
    query_parts = attempt(sigv4.parse_presigned_query, request)
    if query_parts is not None:
        _check_parts(query_parts, presigned=True)
    sigv4.is_signed(request)
    sigv4.canonical_uri(request.raw_path, s3=True)
    sigv4.canonical_uri(request.raw_path, s3=False)
    for presigned in (False, True):
        attempt(sigv4.parse_payload_hash, request, presigned=presigned)
    verified = attempt(sigv4.verify, request, lookup_secret, NOW)
    if verified is not None:
        assert verified.access_key == ACCESS_KEY
        assert verified.presigned is (request.header("authorization") is None)
        assert verified.scope.service == "s3"
        if not verified.presigned:
            assert abs(NOW - verified.amz_date) <= sigv4.MAX_CLOCK_SKEW
        else:
            assert verified.amz_date - sigv4.MAX_CLOCK_SKEW <= NOW
    return verified


def check_resigned(request: HttpRequest) -> None:
    resigned = _resigned(request)
    if resigned is None:
        return
    try:
        sigv4.verify(resigned, lookup_secret, NOW)
    except SignatureDoesNotMatch as exc:
        raise AssertionError(f"a correctly re-signed request was refused: {exc!r}") from exc
    except S3Error:
        pass  # expired, skewed, wrong service...: not the signature's fault


_AMZ_NOW = NOW.strftime("%Y%m%dT%H%M%SZ")
_WHOLE_HEADERS = [
    ("host", HOST),
    ("x-amz-date", _AMZ_NOW),
    ("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD),
]


def test_one_input(data: bytes) -> None:
    for text in texts(data):
        request = request_from_text(text)
        check(request)
        check_resigned(request)
        as_header = [*_WHOLE_HEADERS, ("authorization", text)]
        check(HttpRequest.from_wire("GET", "/bucket/key", "", as_header))
        check(HttpRequest.from_wire("GET", "/bucket/key", text, [("host", HOST)]))
        if (long := stretch_digits(text, only_one=True)) is not None:
            check(request_from_text(long))


def main() -> None:
    run(test_one_input)


if __name__ == "__main__":
    main()
