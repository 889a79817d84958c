"""Pure OIDC token validation: every rejection rule and the Keycloak claim mapping, with keys
generated here and a fixed `now` (no network, no clock)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import random
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jws, jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, KeySet, OctKey, OKPKey, RSAKey

from zas.auth.oidc_token import (
    MAX_TOKEN_LENGTH,
    OidcSettings,
    UnknownSigningKey,
    WebIdentity,
    parse_discovery,
    parse_jwks,
    policies_for,
    validate_token,
)
from zas.protocol.errors import ExpiredToken, InvalidToken

ISSUER = "http://127.0.0.1:8180/realms/zas"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = OidcSettings(issuer=ISSUER, audiences=("zas",), client_id="zas")


def _private(key: Key, kid: str, **params: str) -> Any:
    data = key.as_dict(private=True)
    data.update({"kid": kid, **params})
    return type(key).import_key(data)


RSA = _private(RSAKey.generate_key(2048), "rsa-1")
RSA_OTHER = _private(RSAKey.generate_key(2048), "rsa-2")
EC = _private(ECKey.generate_key("P-256"), "ec-1")
ED = _private(OKPKey.generate_key("Ed25519"), "ed-1")


def public_set(*keys: Key) -> KeySet:
    return KeySet([type(k).import_key(k.as_dict(private=False)) for k in keys])


KEYS = public_set(RSA, EC, ED)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64(json.dumps(value).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "8f0c-user",
        "aud": "zas",
        "azp": "zas-cli",
        "typ": "Bearer",
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
        "iat": int((NOW - timedelta(minutes=1)).timestamp()),
        "preferred_username": "alice",
        "email": "alice@example.org",
        "realm_access": {"roles": ["offline_access", "developer"]},
        "resource_access": {
            "zas": {"roles": ["zas-admin"]},
            "account": {"roles": ["manage-account"]},
        },
        "groups": ["/release-engineers", "/security"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(
    payload: dict[str, Any],
    key: Key = RSA,
    alg: str = "RS256",
    *,
    typ: str | None = "JWT",
    **header: Any,
) -> str:
    hdr: dict[str, Any] = {"alg": alg, "kid": key.kid, **header}
    hdr = {k: v for k, v in hdr.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # "EdDSA is deprecated via RFC 9864"
        return jwt.encode(hdr, payload, key, algorithms=[alg], default_type=typ)


def check(token: str, keys: KeySet = KEYS, settings: OidcSettings = SETTINGS) -> WebIdentity:
    return validate_token(token, keys, settings, NOW)


def rejected(token: str, message: str, **kwargs: Any) -> InvalidToken:
    with pytest.raises(InvalidToken) as info:
        check(token, **kwargs)
    assert message in info.value.message
    return info.value


# -- happy paths -----------------------------------------------------------------------------


def test_given_keycloak_access_token_when_validated_then_identity_has_roles_groups_claims() -> None:
    identity = check(sign(claims()))
    assert identity.subject == "8f0c-user"
    assert identity.username == "alice"
    assert identity.issuer == ISSUER
    assert identity.audience == ("zas",)
    assert identity.authorized_party == "zas-cli"
    # realm_access.roles + resource_access.zas.roles, not other clients' roles.
    assert identity.roles == {"offline_access", "developer", "zas-admin"}
    assert identity.groups == {"/release-engineers", "/security"}
    assert identity.expires_at == NOW + timedelta(minutes=5)
    assert identity.issued_at == NOW - timedelta(minutes=1)
    assert identity.key_id == "rsa-1"
    assert identity.claims["email"] == "alice@example.org"
    assert identity.claims["sub"] == "8f0c-user"
    assert "realm_access" not in identity.claims and "exp" not in identity.claims


@pytest.mark.parametrize(
    ("key", "alg"),
    [(RSA, "RS256"), (RSA, "RS512"), (RSA, "PS256"), (EC, "ES256"), (ED, "EdDSA")],
)
def test_given_each_asymmetric_family_when_validated_then_accepted(key: Key, alg: str) -> None:
    assert check(sign(claims(), key, alg)).key_id == key.kid


def test_given_custom_claim_paths_and_dotted_client_id_when_validated_then_roles_read() -> None:
    settings = OidcSettings(
        issuer=ISSUER,
        audiences=("zas",),
        client_id="ci.zas",
        role_claims=("resource_access.{client_id}.roles", "custom.zas_role"),
        group_claims=("org.teams",),
        username_claim="email",
    )
    token = sign(
        claims(
            resource_access={"ci.zas": {"roles": ["uploader"]}},
            custom={"zas_role": "auditor"},  # a single string counts as one role
            org={"teams": ["build", 7, None]},  # non-strings are ignored
        )
    )
    identity = check(token, settings=settings)
    assert identity.roles == {"uploader", "auditor"}
    assert identity.groups == {"build"}
    assert identity.username == "alice@example.org"


def test_given_missing_role_claims_when_validated_then_empty_sets_and_username_falls_back() -> None:
    token = sign(claims(realm_access=None, resource_access=None, groups=None))
    identity = check(token)
    assert identity.roles == frozenset() and identity.groups == frozenset()
    assert check(sign(claims(preferred_username=None))).username == "8f0c-user"


def test_policies_for_maps_roles_and_groups_from_config() -> None:
    settings = OidcSettings(
        issuer=ISSUER,
        audiences=("zas",),
        client_id="zas",
        role_policies={"zas-admin": ["admin"], "developer": ("read", "write")},
        group_policies={"/security": ["audit-read"], "/nobody": ["x"]},
    )
    identity = check(sign(claims()), settings=settings)
    assert policies_for(identity, settings) == {"admin", "read", "write", "audit-read"}


# -- algorithm and key selection (RFC 8725) --------------------------------------------------


def test_given_alg_none_when_validated_then_rejected() -> None:
    for alg in ("none", "None", "NONE"):
        token = f"{b64json({'alg': alg, 'typ': 'JWT'})}.{b64json(claims())}."
        rejected(token, "algorithm none is not allowed")


def test_given_hs256_signed_with_rsa_public_key_when_validated_then_rejected() -> None:
    # The classic confusion: the attacker knows the public key and uses its bytes as an HMAC key.
    secret = RSA.as_pem(private=False)
    signing_input = f"{b64json({'alg': 'HS256', 'kid': 'rsa-1'})}.{b64json(claims())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    rejected(f"{signing_input}.{b64(mac)}", "algorithm HS256 is not allowed")


def test_given_hmac_or_none_in_settings_when_constructed_then_value_error() -> None:
    for alg in ("HS256", "hs512", "none", "XY999"):
        with pytest.raises(ValueError):
            OidcSettings(issuer=ISSUER, audiences=("zas",), client_id="zas", algorithms=(alg,))


def test_given_alg_outside_allow_list_when_validated_then_rejected() -> None:
    settings = OidcSettings(
        issuer=ISSUER, audiences=("zas",), client_id="zas", algorithms=("ES256",)
    )
    rejected(sign(claims()), "algorithm RS256 is not allowed", settings=settings)


def test_given_unknown_kid_when_validated_then_unknown_signing_key_names_it() -> None:
    error = rejected(sign(claims(), RSA_OTHER), "unknown signing key kid=rsa-2")
    assert isinstance(error, UnknownSigningKey) and error.kid == "rsa-2"


def test_given_kid_of_wrong_key_type_when_validated_then_rejected_before_signature() -> None:
    # Signed by the EC key but claiming the RSA key's kid with an EC algorithm.
    rejected(
        sign(claims(), EC, "ES256", kid="rsa-1"), "kid=rsa-1 (RSA) cannot verify algorithm ES256"
    )
    # A P-256 key must not be used for ES384.
    rejected(sign(claims(), ECKey.generate_key("P-384"), "ES384", kid="ec-1"), "cannot verify")


def test_given_jwk_pinned_to_alg_when_token_uses_another_then_rejected() -> None:
    keys = KeySet([RSAKey.import_key({**RSA.as_dict(private=False), "alg": "RS256"})])
    assert check(sign(claims()), keys=keys).key_id == "rsa-1"
    rejected(sign(claims(), alg="PS256"), "cannot verify algorithm PS256", keys=keys)


def test_given_no_kid_when_one_key_fits_then_used_else_rejected() -> None:
    one_rsa = public_set(RSA, EC)
    assert check(sign(claims(), kid=None), keys=one_rsa).subject == "8f0c-user"
    rejected(
        sign(claims(), kid=None), "2 signing keys could verify", keys=public_set(RSA, RSA_OTHER)
    )
    error = rejected(sign(claims(), kid=None), "no signing key fits", keys=public_set(EC))
    assert isinstance(error, UnknownSigningKey) and error.kid is None


def test_given_tampered_or_foreign_signature_when_validated_then_signature_does_not_verify() -> (
    None
):
    header, _payload, signature = sign(claims()).split(".")
    forged = f"{header}.{b64json(claims(sub='admin'))}.{signature}"
    rejected(forged, "signature does not verify")
    rejected(sign(claims(), RSA_OTHER, kid="rsa-1"), "signature does not verify")
    rejected(sign(claims(), EC, "ES256")[:-4] + "AAAA", "signature does not verify")


def test_given_typ_header_when_validated_then_only_jwt_types_accepted() -> None:
    for typ in ("JWT", "jwt", "at+jwt", "application/at+jwt", None):
        assert check(sign(claims(), typ=typ)).subject == "8f0c-user"
    for typ in ("JOSE", "dpop+jwt", "secevent+jwt"):
        rejected(sign(claims(), typ=typ), f"typ {typ!r} is not JWT")


def test_given_unknown_critical_header_when_validated_then_rejected() -> None:
    # RFC 7515 4.1.11: a critical extension we do not understand means reject.
    header = {"alg": "RS256", "kid": "rsa-1", "crit": ["x-zas"], "x-zas": 1}
    signing_input = f"{b64json(header)}.{b64json(claims())}".encode()
    signature = RSA.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    rejected(f"{signing_input.decode()}.{b64(signature)}", "Unsupported ['x-zas']")


# -- time claims (RFC 7519 4.1.4-4.1.6) ------------------------------------------------------


def ts(delta: timedelta) -> int:
    return int((NOW + delta).timestamp())


def test_given_expired_token_when_validated_then_expired_token_error() -> None:
    with pytest.raises(ExpiredToken, match="token expired at 2026-11-27T11:58:00"):
        check(sign(claims(exp=ts(-timedelta(minutes=2)))))
    # Inside the 60 s leeway it is still accepted; at the edge it is not.
    assert check(sign(claims(exp=ts(-timedelta(seconds=59))))).subject
    with pytest.raises(ExpiredToken):
        check(sign(claims(exp=ts(-timedelta(seconds=60)))))


def test_given_no_exp_when_validated_then_rejected() -> None:
    rejected(sign(claims(exp=None)), "token has no exp claim")


def test_given_nbf_or_iat_in_future_when_validated_then_rejected_beyond_leeway() -> None:
    assert check(sign(claims(nbf=ts(timedelta(seconds=50)), iat=ts(timedelta(seconds=50)))))
    rejected(sign(claims(nbf=ts(timedelta(minutes=5)))), "not valid before 2026-11-27T12:05:00")
    rejected(sign(claims(iat=ts(timedelta(minutes=5)))), "issued in the future")


@pytest.mark.parametrize("bad", ["1800000000", True, 1e300, None])
def test_given_non_numeric_dates_when_validated_then_rejected(bad: Any) -> None:
    if bad is None:
        rejected(sign(claims(exp=float("nan"))), "exp is not a NumericDate")
    else:
        rejected(sign(claims(exp=bad)), "exp is")


# -- issuer, audience, token type, subject ---------------------------------------------------


def test_given_other_issuer_when_validated_then_rejected() -> None:
    rejected(sign(claims(iss=ISSUER + "/")), f"issuer '{ISSUER}/' is not '{ISSUER}'")
    rejected(sign(claims(iss="http://127.0.0.1:8180/realms/master")), "is not")
    rejected(sign(claims(iss=None)), "issuer None is not")


def test_given_aud_string_or_list_when_validated_then_any_match_accepted() -> None:
    settings = OidcSettings(issuer=ISSUER, audiences=("zas", "zas-api"), client_id="zas")
    assert check(sign(claims(aud=["account", "zas-api"])), settings=settings).audience == (
        "account",
        "zas-api",
    )
    rejected(sign(claims(aud=["account"])), "audience ['account'] not accepted")
    rejected(sign(claims(aud=5)), "aud is not a string")


def test_given_aud_present_but_foreign_when_azp_matches_then_still_rejected() -> None:
    # RFC 7519 4.1.3: a present aud that does not name us means reject, whatever azp says.
    rejected(sign(claims(aud="account", azp="zas")), "audience ['account'] not accepted")


def test_given_no_aud_when_azp_is_accepted_audience_then_accepted() -> None:
    # Keycloak without an Audience mapper omits aud; azp names the client the token was issued to.
    identity = check(sign(claims(aud=None, azp="zas")))
    assert identity.audience == () and identity.authorized_party == "zas"
    rejected(sign(claims(aud=None, azp="other")), "no aud and azp 'other'")
    rejected(sign(claims(aud=None, azp=None)), "no aud and azp None")


def test_given_keycloak_refresh_or_id_token_when_validated_then_rejected() -> None:
    rejected(sign(claims(typ="Refresh")), "token type 'Refresh' is not accepted")
    rejected(sign(claims(typ="ID")), "token type 'ID'")
    any_type = OidcSettings(issuer=ISSUER, audiences=("zas",), client_id="zas", token_types=())
    assert check(sign(claims(typ="ID")), settings=any_type).subject


def test_given_no_subject_when_validated_then_rejected() -> None:
    rejected(sign(claims(sub=None)), "token has no sub claim")
    rejected(sign(claims(sub=42)), "token has no sub claim")


# -- malformed input -------------------------------------------------------------------------


def test_given_malformed_tokens_when_validated_then_clear_invalid_token() -> None:
    good = sign(claims())
    h, p, s = good.split(".")
    rejected("", "expected 3 dot-separated parts, got 1")
    rejected("a.b", "got 2")
    rejected("a.b.c.d.e", "JWE")
    rejected("é.b.c", "non-ASCII")
    rejected(f"{h}=.{p}.{s}", "header is not base64url")
    rejected(f"{b64(b'not json')}.{p}.{s}", "header is not base64url-encoded JSON")
    rejected(f"{b64json([1, 2])}.{p}.{s}", "header is not a JSON object")
    rejected(f"{b64json({'typ': 'JWT'})}.{p}.{s}", "token header has no alg")
    rejected(f"{b64json({'alg': 'RS256', 'kid': 5})}.{p}.{s}", "kid is not a string")
    rejected("x" * (MAX_TOKEN_LENGTH + 1), "larger than 16384 bytes")
    rejected(f"{b64(b'[' * 5000)}.{p}.{s}", "header is not base64url-encoded JSON")


def test_given_signed_non_json_payload_when_validated_then_rejected() -> None:
    for payload in (b"not json", b"[1,2]"):
        token = jws.serialize_compact({"alg": "RS256", "kid": "rsa-1"}, payload, RSA)
        rejected(token, "payload is not a JSON object")


def test_given_random_mutations_when_validated_then_only_token_errors() -> None:
    """Fuzz invariant (STYLE.md): any input string validates or raises InvalidToken/ExpiredToken."""
    rng = random.Random(7)
    good = sign(claims())
    alphabet = "abcXYZ019-_.=+/ \x00é"
    for _ in range(2000):
        chars = list(good)
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        candidates = ["".join(chars), good[: rng.randrange(len(good))]]
        for candidate in candidates:
            with contextlib.suppress(InvalidToken, ExpiredToken):
                check(candidate)


# -- documents -------------------------------------------------------------------------------


def test_parse_jwks_keeps_signing_keys_and_skips_the_rest() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc warns on 1024-bit RSA
        small = RSAKey.generate_key(1024)
    document = {
        "keys": [
            {**RSA.as_dict(private=False), "use": "sig", "alg": "RS256"},
            {**RSA_OTHER.as_dict(private=False), "use": "enc", "alg": "RSA-OAEP"},
            {**EC.as_dict(private=False), "key_ops": ["verify"]},
            {**ED.as_dict(private=False), "key_ops": ["encrypt"]},
            OctKey.generate_key(256).as_dict(private=True) | {"kid": "hmac"},
            {**small.as_dict(private=False), "kid": "weak"},
            {**OKPKey.generate_key("X25519").as_dict(private=False), "kid": "x"},
            {"kty": "ML-DSA", "kid": "pq"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            "not a key",
        ]
    }
    keys, skipped = parse_jwks(document)
    assert [k.kid for k in keys] == ["rsa-1", "ec-1"]
    assert len(skipped) == 8
    assert any("use='enc'" in s for s in skipped)
    assert any("'oct'" in s for s in skipped)
    assert any("1024 bits" in s for s in skipped)
    assert any("X25519" in s for s in skipped)


def test_parse_jwks_without_usable_keys_raises() -> None:
    document: object
    for document in ({"keys": []}, {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, [], {"k": 1}):
        with pytest.raises(ValueError):
            parse_jwks(document)


def test_parse_discovery_checks_issuer_and_jwks_uri() -> None:
    uri = ISSUER + "/protocol/openid-connect/certs"
    assert parse_discovery({"issuer": ISSUER, "jwks_uri": uri}, SETTINGS) == uri
    with pytest.raises(ValueError, match="issuer"):
        parse_discovery({"issuer": "http://evil/realms/zas", "jwks_uri": uri}, SETTINGS)
    with pytest.raises(ValueError, match="http"):
        parse_discovery({"issuer": ISSUER, "jwks_uri": "file:///etc/passwd"}, SETTINGS)
    with pytest.raises(ValueError, match="jwks_uri"):
        parse_discovery({"issuer": ISSUER}, SETTINGS)


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        OidcSettings(issuer="ftp://x/realms/zas", audiences=("zas",), client_id="zas")
    with pytest.raises(ValueError):
        OidcSettings(issuer=ISSUER, audiences=(), client_id="zas")
    with pytest.raises(ValueError):
        OidcSettings(issuer=ISSUER, audiences=("zas",), client_id="zas", role_claims=("a..b",))
    assert SETTINGS.discovery_url == ISSUER + "/.well-known/openid-configuration"
