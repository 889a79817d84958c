"""Validation of OIDC bearer tokens (Keycloak access tokens), without I/O.

This module turns a compact JWS string, a JWKS (already fetched) and a `now` into a
`WebIdentity`, or raises `InvalidToken`/`ExpiredToken` saying exactly what failed. It also
parses the discovery document and the JWKS the I/O half (`zas.auth.oidc.OidcVerifier`) fetches.
It never opens a socket, never reads the clock and never imports trio, so every rule below is
tested with a fixed `now` and locally generated keys. Signatures are checked with joserfc;
the checks joserfc leaves to the application (which key, which algorithm, which claims) are
done here, in the order RFC 8725 (JWT Best Current Practices) asks for: the algorithm is
checked against our allow-list before a key is chosen, the key is chosen from what *we*
trust (never from the token), and no claim is believed before the signature verifies.

    InvalidToken                  (zas.protocol.errors; code InvalidToken, 400)
     ├── UnknownSigningKey        kid not in the key set: the caller may refetch the JWKS
     └── IdentityProviderUnavailable   discovery/JWKS could not be fetched (raised by the I/O half)
    ExpiredToken                  (zas.protocol.errors; code ExpiredToken, 400)
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import attrs
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExceededSizeError,
    InvalidPayloadError,
    JoseError,
    SecurityWarning,
)
from joserfc.jwk import ECKey, JWKRegistry, Key, KeySet, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from zas.protocol.errors import ExpiredToken, InvalidToken

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "MAX_TOKEN_LENGTH",
    "IdentityProviderUnavailable",
    "OidcSettings",
    "UnknownSigningKey",
    "WebIdentity",
    "parse_discovery",
    "parse_jwks",
    "policies_for",
    "validate_token",
]

# A Keycloak access token with a few hundred roles and groups stays well under this; anything
# bigger is refused before any base64 or JSON work is spent on it.
MAX_TOKEN_LENGTH = 16 * 1024

# RFC 7518 section 3.1 and RFC 8037 / RFC 9864: each asymmetric JWS algorithm and the key it
# needs, as (kty, allowed crv or None). Matching kty *and* curve to the algorithm is what stops
# the cross-algorithm tricks of RFC 8725 section 2.1 ("Weak Signatures and Insufficient Signature
# Validation"): a key is only ever used with the algorithm family it was made for.
ASYMMETRIC_ALGORITHMS: Mapping[str, tuple[str, frozenset[str] | None]] = MappingProxyType(
    {
        "RS256": ("RSA", None),
        "RS384": ("RSA", None),
        "RS512": ("RSA", None),
        "PS256": ("RSA", None),
        "PS384": ("RSA", None),
        "PS512": ("RSA", None),
        "ES256": ("EC", frozenset({"P-256"})),
        "ES384": ("EC", frozenset({"P-384"})),
        "ES512": ("EC", frozenset({"P-521"})),
        "ES256K": ("EC", frozenset({"secp256k1"})),
        # RFC 8037's polymorphic name (what Keycloak publishes) and RFC 9864's fully-specified ones.
        "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
        "Ed25519": ("OKP", frozenset({"Ed25519"})),
        "Ed448": ("OKP", frozenset({"Ed448"})),
    }
)

DEFAULT_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)

# RFC 7518 section 3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
MIN_RSA_BITS = 2048

# RFC 7515 section 4.1.9: typ is a media type, compared case-insensitively, and the
# "application/" prefix may be left out. Keycloak sends "JWT"; RFC 9068 access tokens "at+jwt".
ACCEPTED_TYP = frozenset({"jwt", "application/jwt", "at+jwt", "application/at+jwt"})

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class UnknownSigningKey(InvalidToken):
    """The token names a key (kid) the cached JWKS does not hold.

    Distinct from other failures because it is the one a JWKS refetch can cure: the IdP may
    have rotated its keys since we last fetched (OIDC Core 10.1.1, "Rotation of Asymmetric
    Signing Keys").
    """

    def __init__(self, message: str, *, kid: str | None) -> None:
        super().__init__(message)
        self.kid = kid


class IdentityProviderUnavailable(InvalidToken):
    """Discovery or the JWKS could not be fetched, so no token can be checked right now.

    An `InvalidToken` (the client gets 400 InvalidToken, as from any IdP-side failure), but a
    class of its own so the server can log or report it differently from a bad token.
    """


def _check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{name} must be an http(s) URL, got {url!r}")


def _freeze_policy_map(value: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({str(k): tuple(v) for k, v in value.items()})


@attrs.frozen
class OidcSettings:
    """Which issuer we trust and how its tokens map to ZAS identities.

    Audience rule (RFC 7519 4.1.3, OIDC Core 2 and Keycloak's behaviour): when the token has
    an `aud` claim, one of its values must be in `audiences`, whatever `azp` says, because the
    RFC says a recipient not named in a present `aud` MUST reject. When `aud` is absent (Keycloak
    omits it when neither an Audience mapper nor Audience Resolve adds one), the token is
    accepted only if `azp` (the client it was issued to) is in `audiences`. Keycloak never puts
    the requesting client in `aud` by itself, so a realm should add an Audience mapper naming the
    ZAS client (e.g. `zas`) and list that name here.
    """

    issuer: str
    audiences: tuple[str, ...]
    client_id: str
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway: timedelta = timedelta(seconds=60)
    # Dotted paths into the claims; "{client_id}" in a segment is replaced by `client_id`
    # after splitting, so a client id containing dots stays one segment.
    role_claims: tuple[str, ...] = ("realm_access.roles", "resource_access.{client_id}.roles")
    group_claims: tuple[str, ...] = ("groups",)
    username_claim: str = "preferred_username"
    # Keycloak's own `typ` claim: "Bearer" for access tokens, "ID" for ID tokens, "Refresh"
    # for refresh tokens. Checked only when the claim is present; empty = accept any.
    token_types: tuple[str, ...] = ("Bearer",)
    # Role name -> policy names, group name -> policy names (see `policies_for`).
    role_policies: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_freeze_policy_map, hash=False
    )
    group_policies: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_freeze_policy_map, hash=False
    )
    jwks_min_refresh_interval: timedelta = timedelta(seconds=30)
    jwks_max_age: timedelta = timedelta(hours=1)
    http_timeout: float = 5.0

    def __attrs_post_init__(self) -> None:
        _check_url("issuer", self.issuer)
        if not self.audiences or not all(self.audiences):
            raise ValueError("audiences must list at least one non-empty audience")
        if not self.client_id:
            raise ValueError("client_id must not be empty")
        if not self.algorithms:
            raise ValueError("algorithms must not be empty")
        for alg in self.algorithms:
            # RFC 8725 3.1/3.2: "none" and HMAC are never acceptable for tokens verified with
            # an IdP's public keys: an HS256 token "signed" with the public key as the HMAC
            # secret would otherwise verify (the classic algorithm confusion).
            if alg.lower() == "none":
                raise ValueError("algorithm none is never accepted (RFC 8725 3.1)")
            if alg.upper().startswith("HS"):
                raise ValueError(
                    f"algorithm {alg} is symmetric (HMAC) and is never accepted for OIDC bearer "
                    "tokens (RFC 8725 3.1, 3.2)"
                )
            if alg not in ASYMMETRIC_ALGORITHMS:
                raise ValueError(
                    f"algorithm {alg} is not supported; choose from "
                    + ", ".join(ASYMMETRIC_ALGORITHMS)
                )
        if self.leeway < timedelta(0):
            raise ValueError("leeway must not be negative")
        if self.jwks_min_refresh_interval <= timedelta(0) or self.jwks_max_age <= timedelta(0):
            raise ValueError("JWKS refresh intervals must be positive")
        if not (self.http_timeout > 0):
            raise ValueError("http_timeout must be positive")
        for path in (*self.role_claims, *self.group_claims):
            if not path or not all(path.split(".")):
                raise ValueError(f"claim path {path!r} has an empty segment")
        if not self.username_claim:
            raise ValueError("username_claim must not be empty")

    @property
    def discovery_url(self) -> str:
        """OIDC Discovery 1.0 section 4: issuer + "/.well-known/openid-configuration"."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@attrs.frozen
class WebIdentity:
    """Who a validated bearer token speaks for, in the terms the policy engine uses."""

    subject: str
    username: str
    issuer: str
    audience: tuple[str, ...]
    authorized_party: str | None
    roles: frozenset[str]
    groups: frozenset[str]
    expires_at: datetime
    issued_at: datetime | None
    # String-valued top-level claims, for policy variables such as ${jwt:sub}, ${jwt:email}.
    claims: Mapping[str, str] = attrs.field(hash=False)
    key_id: str | None


def policies_for(identity: WebIdentity, settings: OidcSettings) -> frozenset[str]:
    """The policy names configured for the identity's roles and groups (union of both maps)."""
    names: set[str] = set()
    for role in identity.roles:
        names.update(settings.role_policies.get(role, ()))
    for group in identity.groups:
        names.update(settings.group_policies.get(group, ()))
    return frozenset(names)


# ---------------------------------------------------------------------------------------------
# Discovery and JWKS documents


def parse_discovery(document: object, settings: OidcSettings) -> str:
    """Check a discovery document and return its `jwks_uri`.

    OIDC Discovery 1.0 section 4.3: "The issuer value returned MUST be identical to the Issuer
    URL that was used as the prefix to /.well-known/openid-configuration"; otherwise a
    document served from one place could hand us another issuer's keys.
    """
    if not isinstance(document, Mapping):
        raise ValueError("discovery document is not a JSON object")
    issuer = document.get("issuer")
    if issuer != settings.issuer:
        raise ValueError(f"discovery document issuer {issuer!r} is not {settings.issuer!r}")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise ValueError("discovery document has no jwks_uri")
    # Only http(s): urllib would also follow file:// or ftp:// if a document pointed there.
    _check_url("jwks_uri", jwks_uri)
    return jwks_uri


def _unusable_reason(key: Key) -> str | None:
    if isinstance(key, RSAKey):
        if key.raw_value.key_size < MIN_RSA_BITS:
            return f"RSA key of {key.raw_value.key_size} bits is below {MIN_RSA_BITS}"
        return None
    if isinstance(key, ECKey | OKPKey):
        if not any(crv and key.curve_name in crv for _kty, crv in ASYMMETRIC_ALGORITHMS.values()):
            return f"curve {key.curve_name} is not a signing curve"
        return None
    return f"kty {key.key_type} is not an asymmetric signing key"


def parse_jwks(document: object) -> tuple[KeySet, list[str]]:
    """Import the signature-verification keys of a JWKS; return them and why others were skipped.

    RFC 7517 section 5: a member the implementation does not understand is ignored rather than
    failing the set, so an IdP that also publishes encryption keys (`use: enc`, which Keycloak
    does for RSA-OAEP) or a key type we do not support still works. Symmetric (`oct`) keys are
    never imported: a published secret is no secret, and without one HMAC cannot be confused
    with a public-key algorithm even by mistake.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS is not a JSON object with a 'keys' array")
    keys: list[Key] = []
    skipped: list[str] = []
    for index, entry in enumerate(document["keys"]):
        if not isinstance(entry, dict):
            skipped.append(f"key #{index}: not a JSON object")
            continue
        label = f"key #{index} kid={entry.get('kid')!r}"
        use = entry.get("use")
        if use is not None and use != "sig":
            skipped.append(f"{label}: use={use!r}")
            continue
        key_ops = entry.get("key_ops")
        if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
            skipped.append(f"{label}: key_ops={key_ops!r} lacks verify")
            continue
        kty = entry.get("kty")
        if kty not in ("RSA", "EC", "OKP"):
            skipped.append(f"{label}: unsupported kty={kty!r}")
            continue
        try:
            # joserfc warns (SecurityWarning) on weak RSA sizes; the size is checked below.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SecurityWarning)
                key = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            skipped.append(f"{label}: cannot import ({exc})")
            continue
        reason = _unusable_reason(key)
        if reason is not None:
            skipped.append(f"{label}: {reason}")
            continue
        keys.append(key)
    if not keys:
        raise ValueError("JWKS has no usable signing keys" + "".join(f"; {s}" for s in skipped))
    return KeySet(keys), skipped


# ---------------------------------------------------------------------------------------------
# The token


class _VerifyRegistry(JWSRegistry):
    """joserfc's JWS registry, pinned to the one algorithm we already checked.

    Header parameters outside the IANA registry are allowed (RFC 7515 4.3 private names; some
    IdPs add them), `crit` is still enforced by joserfc. RFC 9864 deprecates the polymorphic
    "EdDSA" name and joserfc warns about it; Keycloak still uses it and we pin the curve per
    key ourselves, which is the ambiguity RFC 9864 removes, so the warning is silenced here.
    """

    max_header_length = 2048

    def get_alg(self, name: str) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            return super().get_alg(name)


def _b64url_json(segment: str, what: str) -> object:
    if not _B64URL.fullmatch(segment):
        raise InvalidToken(f"token {what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidToken(f"token {what} is not base64url-encoded JSON") from exc


def _read_header(token: str) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(f"token is larger than {MAX_TOKEN_LENGTH} bytes")
    if not token.isascii():
        raise InvalidToken("token contains non-ASCII characters")
    parts = token.split(".")
    if len(parts) == 5:
        raise InvalidToken("encrypted tokens (JWE) are not supported")
    if len(parts) != 3:
        raise InvalidToken(f"token is not a JWS: expected 3 dot-separated parts, got {len(parts)}")
    header = _b64url_json(parts[0], "header")
    if not isinstance(header, dict):
        raise InvalidToken("token header is not a JSON object")
    return header


def _check_algorithm(header: Mapping[str, Any], settings: OidcSettings) -> str:
    # RFC 8725 3.1 "Perform Algorithm Verification": the alg comes from an attacker-controlled
    # header, so it is checked against our allow-list before it influences anything else.
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise InvalidToken("token header has no alg")
    if alg.lower() == "none":
        raise InvalidToken("algorithm none is not allowed")
    if alg not in settings.algorithms:
        raise InvalidToken(
            f"algorithm {alg} is not allowed (allowed: {', '.join(settings.algorithms)})"
        )
    # RFC 8725 3.11 "Use Explicit Typing": reject other JOSE objects presented as access tokens.
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYP):
        raise InvalidToken(f"token typ {typ!r} is not JWT or at+jwt")
    return alg


def _fits(key: Key, alg: str) -> bool:
    kty, curves = ASYMMETRIC_ALGORITHMS[alg]
    if key.key_type != kty:
        return False
    if curves is not None and (not isinstance(key, ECKey | OKPKey) or key.curve_name not in curves):
        return False
    # RFC 7517 4.4: a key published with an "alg" is meant for that algorithm only.
    key_alg = key.alg
    return key_alg is None or key_alg == alg


def _select_key(header: Mapping[str, Any], alg: str, keys: KeySet) -> Key:
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidToken("token kid is not a string")
    if kid:
        named = [key for key in keys if key.kid == kid]
        if not named:
            raise UnknownSigningKey(f"unknown signing key kid={kid}", kid=kid)
        fitting = [key for key in named if _fits(key, alg)]
        if not fitting:
            raise InvalidToken(
                f"signing key kid={kid} ({named[0].key_type}) cannot verify algorithm {alg}"
            )
        return fitting[0]
    fitting = [key for key in keys if _fits(key, alg)]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        raise UnknownSigningKey(
            f"token has no kid and no signing key fits algorithm {alg}", kid=None
        )
    raise InvalidToken(f"token has no kid and {len(fitting)} signing keys could verify it")


def _numeric_date(claims: Mapping[str, Any], name: str) -> datetime | None:
    """RFC 7519 section 2: a NumericDate is a JSON number of seconds since the epoch."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidToken(f"claim {name} is not a NumericDate")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidToken(f"claim {name} is out of range") from exc


def _string_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _lookup(claims: Mapping[str, Any], path: str, client_id: str) -> list[str]:
    node: object = claims
    for segment in path.split("."):
        if not isinstance(node, Mapping):
            return []
        node = node.get(segment.replace("{client_id}", client_id))
    return _string_list(node)


def validate_token(token: str, keys: KeySet, settings: OidcSettings, now: datetime) -> WebIdentity:
    """Validate a bearer token against trusted keys and return the identity it carries.

    Raises `UnknownSigningKey` when the token's kid is not in `keys` (refetch the JWKS and try
    again), `ExpiredToken` past `exp` + leeway, and `InvalidToken` for everything else; the
    message names the failed check. Never raises anything else for any input string.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    header = _read_header(token)
    alg = _check_algorithm(header, settings)
    key = _select_key(header, alg, keys)
    try:
        # joserfc ignores `algorithms` when given a registry: the allow-list goes in the registry.
        registry = _VerifyRegistry(algorithms=[alg], strict_check_header=False)
        decoded = jwt.decode(token, key, registry=registry)
    except BadSignatureError as exc:
        raise InvalidToken("signature does not verify") from exc
    except ExceededSizeError as exc:
        raise InvalidToken(f"token part too large: {exc.description}") from exc
    except InvalidPayloadError as exc:
        raise InvalidToken("token payload is not a JSON object") from exc
    except JoseError as exc:
        raise InvalidToken(f"token rejected: {exc.error}: {exc.description}") from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidToken(f"token is malformed: {exc}") from exc
    claims: dict[str, Any] = decoded.claims

    # RFC 7519 4.1.1 / OIDC Core 3.1.3.7 step 2: iss must exactly match the configured issuer.
    issuer = claims.get("iss")
    if issuer != settings.issuer:
        raise InvalidToken(f"issuer {issuer!r} is not {settings.issuer!r}")

    # RFC 7519 4.1.4 exp (required here: a bearer token that never expires is not accepted),
    # 4.1.5 nbf, 4.1.6 iat; each with the small leeway 4.1.4 allows for clock skew.
    expires_at = _numeric_date(claims, "exp")
    if expires_at is None:
        raise InvalidToken("token has no exp claim")
    if now >= expires_at + settings.leeway:
        raise ExpiredToken(f"token expired at {expires_at.isoformat()}")
    not_before = _numeric_date(claims, "nbf")
    if not_before is not None and now + settings.leeway < not_before:
        raise InvalidToken(f"token is not valid before {not_before.isoformat()}")
    issued_at = _numeric_date(claims, "iat")
    if issued_at is not None and now + settings.leeway < issued_at:
        raise InvalidToken(f"token was issued in the future at {issued_at.isoformat()}")

    # RFC 7519 4.1.3 aud; OIDC Core 2 azp. See OidcSettings for the rule and why.
    raw_aud = claims.get("aud")
    if raw_aud is not None and not (
        isinstance(raw_aud, str)
        or (isinstance(raw_aud, list) and all(isinstance(a, str) for a in raw_aud))
    ):
        raise InvalidToken("claim aud is not a string or a list of strings")
    audience = tuple(_string_list(raw_aud))
    azp = claims.get("azp")
    if azp is not None and not isinstance(azp, str):
        raise InvalidToken("claim azp is not a string")
    if raw_aud is not None:
        if not set(audience) & set(settings.audiences):
            raise InvalidToken(
                f"audience {list(audience)} not accepted (expected one of "
                f"{list(settings.audiences)})"
            )
    elif azp is None or azp not in settings.audiences:
        raise InvalidToken(
            f"token has no aud and azp {azp!r} is not one of {list(settings.audiences)}"
        )

    # Keycloak marks its tokens with a typ claim; an ID or refresh token is not an access token.
    token_type = claims.get("typ")
    if settings.token_types and token_type is not None and token_type not in settings.token_types:
        raise InvalidToken(
            f"token type {token_type!r} is not accepted (expected {list(settings.token_types)})"
        )

    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("token has no sub claim")
    username = claims.get(settings.username_claim)
    if not isinstance(username, str) or not username:
        username = subject

    roles = {r for path in settings.role_claims for r in _lookup(claims, path, settings.client_id)}
    groups = {
        g for path in settings.group_claims for g in _lookup(claims, path, settings.client_id)
    }
    return WebIdentity(
        subject=subject,
        username=username,
        issuer=settings.issuer,
        audience=audience,
        authorized_party=azp,
        roles=frozenset(roles),
        groups=frozenset(groups),
        expires_at=expires_at,
        issued_at=issued_at,
        claims=MappingProxyType({k: v for k, v in claims.items() if isinstance(v, str)}),
        key_id=key.kid,
    )
