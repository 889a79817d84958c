"""Smoke tests of the test identity provider itself (a real Keycloak, tests/idp/keycloak.py).

They prove the claims ZAS's OIDC tests rely on. Signatures are not checked here (ZAS does
that); tokens are only decoded.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.idp.keycloak import (
    ADMIN,
    CLIENT_ROLE_SIGNER,
    GROUP_AUDITORS,
    GROUP_PLATFORM,
    GROUPS_CLAIM,
    NOBODY,
    OTHER_CLIENT_ID,
    READER,
    REALM,
    ROLE_ADMIN,
    ROLE_READONLY,
    ROLE_WRITER,
    SHORT_CLIENT_ID,
    SHORT_TOKEN_LIFESPAN,
    TOKEN_LIFESPAN,
    WRITER,
    ZAS_CLIENT_ID,
    Keycloak,
    KeycloakError,
    decode_jwt,
)


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud", [])
    return [aud] if isinstance(aud, str) else list(aud)


def userinfo_status(keycloak: Keycloak, token: str) -> int:
    req = urllib.request.Request(
        f"{keycloak.issuer}/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as e:
        return e.code


def test_discovery_document(keycloak: Keycloak) -> None:
    assert keycloak.issuer == f"http://127.0.0.1:{keycloak.port}/realms/{REALM}"
    doc = keycloak.discovery()
    assert doc["issuer"] == keycloak.issuer
    assert doc["jwks_uri"] == keycloak.jwks_uri
    assert doc["token_endpoint"] == keycloak.token_endpoint
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert "password" in doc["grant_types_supported"]


def test_reader_token_claims(keycloak: Keycloak) -> None:
    before = int(time.time())
    header, claims = decode_jwt(keycloak.token(READER))
    assert header["alg"] == "RS256"
    assert header["kid"] in {k["kid"] for k in keycloak.jwks()["keys"]}
    assert claims["iss"] == keycloak.issuer
    assert ZAS_CLIENT_ID in audiences(claims)
    assert claims["azp"] == ZAS_CLIENT_ID
    assert claims["preferred_username"] == READER
    assert claims["realm_access"]["roles"] == [ROLE_READONLY]
    assert "resource_access" not in claims
    assert GROUPS_CLAIM not in claims or claims[GROUPS_CLAIM] == []
    assert claims["typ"] == "Bearer"
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5
    assert claims["exp"] - claims["iat"] == TOKEN_LIFESPAN
    assert claims["sub"]


def test_writer_token_claims(keycloak: Keycloak) -> None:
    _, claims = decode_jwt(keycloak.token(WRITER))
    assert claims["preferred_username"] == WRITER
    assert claims["realm_access"]["roles"] == [ROLE_WRITER]
    assert claims[GROUPS_CLAIM] == [GROUP_PLATFORM]


def test_admin_token_has_client_roles_and_groups(keycloak: Keycloak) -> None:
    _, claims = decode_jwt(keycloak.token(ADMIN))
    assert claims["preferred_username"] == ADMIN
    assert ZAS_CLIENT_ID in audiences(claims)
    assert claims["azp"] == ZAS_CLIENT_ID
    assert claims["realm_access"]["roles"] == [ROLE_ADMIN]
    assert claims["resource_access"][ZAS_CLIENT_ID]["roles"] == [CLIENT_ROLE_SIGNER]
    assert claims[GROUPS_CLAIM] == [GROUP_AUDITORS]


def test_nobody_has_no_roles(keycloak: Keycloak) -> None:
    _, claims = decode_jwt(keycloak.token(NOBODY))
    assert claims["preferred_username"] == NOBODY
    assert ZAS_CLIENT_ID in audiences(claims)
    assert claims.get("realm_access", {}).get("roles", []) == []
    assert "resource_access" not in claims
    assert claims.get(GROUPS_CLAIM, []) == []


def test_other_app_token_is_not_for_zas(keycloak: Keycloak) -> None:
    _, claims = decode_jwt(keycloak.token(ADMIN, client_id=OTHER_CLIENT_ID))
    assert claims["iss"] == keycloak.issuer  # same issuer, same keys: only aud/azp differ
    assert ZAS_CLIENT_ID not in audiences(claims)
    assert audiences(claims) == [OTHER_CLIENT_ID]
    assert claims["azp"] == OTHER_CLIENT_ID
    assert claims["preferred_username"] == ADMIN
    assert claims["realm_access"]["roles"] == [ROLE_ADMIN]
    assert ZAS_CLIENT_ID not in claims.get("resource_access", {})


def test_wrong_password_is_refused(keycloak: Keycloak) -> None:
    with pytest.raises(KeycloakError, match=r"HTTP 400.*invalid_grant"):
        keycloak.token(READER, "not-the-password")


def test_short_token_expires_within_its_lifespan(keycloak: Keycloak) -> None:
    response = keycloak.token_response(READER, "reader-pass", client_id=SHORT_CLIENT_ID)
    assert response["expires_in"] == SHORT_TOKEN_LIFESPAN
    token = response["access_token"]
    _, claims = decode_jwt(token)
    assert ZAS_CLIENT_ID in audiences(claims)
    assert claims["azp"] == SHORT_CLIENT_ID
    assert claims["exp"] - claims["iat"] == SHORT_TOKEN_LIFESPAN
    assert userinfo_status(keycloak, token) == 200
    # Keycloak itself refuses it once exp has passed (bounded wait: the lifespan plus 2 s).
    time.sleep(max(0.0, claims["exp"] - time.time()) + 2)
    assert userinfo_status(keycloak, token) == 401


def test_signing_key_rotation(keycloak: Keycloak) -> None:
    old_token = keycloak.token(READER)
    old_kid = decode_jwt(old_token)[0]["kid"]
    new_kid = keycloak.rotate_signing_key()
    assert new_kid != old_kid
    header, claims = decode_jwt(keycloak.token(WRITER))
    assert header["kid"] == new_kid
    assert header["alg"] == "RS256"
    assert claims["iss"] == keycloak.issuer
    jwks = {k["kid"]: k for k in keycloak.jwks()["keys"]}
    assert {old_kid, new_kid} <= set(jwks)
    for kid in (old_kid, new_kid):
        assert jwks[kid]["kty"] == "RSA"
        assert jwks[kid]["alg"] == "RS256"
        assert jwks[kid]["use"] == "sig"
    # The old key was not retired: a token it signed is still accepted by Keycloak.
    assert userinfo_status(keycloak, old_token) == 200
    assert keycloak.active_signing_kid() == new_kid
