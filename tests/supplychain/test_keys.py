"""Signing keys: generation, PEM import rules, JWK export, sealing under the master key."""

from __future__ import annotations

import base64
import functools
import re

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa, x25519
from joserfc.jwk import ECKey, OKPKey, RSAKey

from zas.auth.sealing import MasterKey, SealError
from zas.protocol.errors import InvalidArgument
from zas.supplychain import keys
from zas.supplychain.keys import InvalidSigningKey, PrivateKey, PublicKey, ServerKeyAlgorithm

ALGORITHMS: tuple[ServerKeyAlgorithm, ...] = ("ed25519", "ecdsa-p256", "rsa-3072-pss")


@functools.cache
def server_key(algorithm: ServerKeyAlgorithm) -> PrivateKey:
    # RSA-3072 generation takes a noticeable fraction of a second: one key per algorithm.
    return keys.generate(algorithm, key_id=f"test-{algorithm}")


def _pem(public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed448.Ed448PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_generated_key_public_half_reimports_equal(algorithm: ServerKeyAlgorithm) -> None:
    # Given a server key, When its public PEM is imported again, Then it is the same PublicKey
    key = server_key(algorithm)
    assert key.algorithm == algorithm
    assert key.public.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert key.private_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert keys.load_public_pem(key.public.public_pem, key.public.key_id) == key.public


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_private_key_repr_hides_the_pem(algorithm: ServerKeyAlgorithm) -> None:
    key = server_key(algorithm)
    text = repr(key) + str(key)
    assert "PRIVATE" not in text
    assert key.public.key_id in text


def test_default_key_id_is_a_fingerprint_of_the_der_key() -> None:
    # Given an RSA key spelled as PKCS#1 and as SPKI, Then both have the same id
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = _pem(private.public_key())
    pkcs1 = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert b"RSA PUBLIC KEY" in pkcs1
    key_id = keys.key_id_for(spki)
    assert re.fullmatch(r"sha256:[0-9a-f]{32}", key_id)
    assert keys.key_id_for(pkcs1) == key_id
    assert keys.load_public_pem(pkcs1).key_id == key_id
    assert keys.load_public_pem(pkcs1).public_pem == spki.decode()
    assert keys.generate("ed25519").public.key_id.startswith("sha256:")


def test_public_key_built_from_a_stored_row_parses_and_checks_its_algorithm() -> None:
    key = server_key("ecdsa-p256")
    row = PublicKey("k1", "ecdsa-p256", key.public.public_pem)
    assert row.der() == key.public.der()
    with pytest.raises(InvalidSigningKey, match="not an ed25519 key"):
        PublicKey("k1", "ed25519", key.public.public_pem)
    rsa_pem = server_key("rsa-3072-pss").public.public_pem
    assert PublicKey("k2", "rsa-pkcs1v15", rsa_pem).key_size == 3072
    external = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    with pytest.raises(InvalidSigningKey, match="3072"):
        PublicKey("k3", "rsa-3072-pss", external.decode())


@pytest.mark.parametrize(
    ("make", "rsa_scheme", "algorithm"),
    [
        (lambda: keys.generate("ed25519").public.public_pem, "rsa-pss", "ed25519"),
        (lambda: keys.generate("ecdsa-p256").public.public_pem, "rsa-pss", "ecdsa-p256"),
        (lambda: server_key("rsa-3072-pss").public.public_pem, "rsa-pss", "rsa-3072-pss"),
        (
            lambda: _pem(
                rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
            ),
            "rsa-pss",
            "rsa-pss",
        ),
        (lambda: server_key("rsa-3072-pss").public.public_pem, "rsa-pkcs1v15", "rsa-pkcs1v15"),
    ],
)
def test_load_public_pem_detects_the_algorithm(
    make: object, rsa_scheme: keys.RsaScheme, algorithm: str
) -> None:
    assert callable(make)
    pem = make()
    public = keys.load_public_pem(pem, "ci", rsa_scheme=rsa_scheme)
    assert public.algorithm == algorithm
    assert public.key_id == "ci"


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (lambda: _pem(ec.generate_private_key(ec.SECP384R1()).public_key()), "secp384r1"),
        (lambda: _pem(ec.generate_private_key(ec.SECP256K1()).public_key()), "secp256k1"),
        (
            lambda: _pem(
                rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
            ),
            "1024 bits",
        ),
        (lambda: _pem(ed448.Ed448PrivateKey.generate().public_key()), "Ed448"),
        (
            lambda: (
                x25519.X25519PrivateKey.generate()
                .public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ),
            "X25519",
        ),
        (lambda: b"not a key at all", "not a PEM public key"),
        (lambda: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM"),
        (lambda: keys.generate("ed25519").private_pem, "private key"),
        (lambda: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate"),
    ],
)
def test_load_public_pem_rejects_unsupported_keys_with_a_clear_error(
    pem: object, message: str
) -> None:
    assert callable(pem)
    with pytest.raises(InvalidSigningKey, match=message) as info:
        keys.load_public_pem(pem())
    assert isinstance(info.value, InvalidArgument)
    assert info.value.http_status == 400
    assert info.value.code == "InvalidSigningKey"


def test_generate_rejects_an_unknown_algorithm() -> None:
    with pytest.raises(InvalidSigningKey, match="unknown key algorithm"):
        keys.generate("dsa-1024")  # type: ignore[arg-type]


def test_load_private_pem_round_trip_and_rejections() -> None:
    key = server_key("ecdsa-p256")
    again = keys.load_private_pem(key.private_pem, key.public.key_id)
    assert again.public == key.public
    with pytest.raises(InvalidSigningKey, match="private key"):
        keys.load_private_pem("garbage")
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidSigningKey, match="P-256"):
        keys.load_private_pem(p384)


# --- JWK (RFC 7517, RFC 7518 section 6, RFC 8037) ----------------------------------------------


def _b64url_decode(text: str) -> bytes:
    assert "=" not in text and "+" not in text and "/" not in text  # base64url, unpadded
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jose(jwk: dict[str, str]) -> dict[str, str | list[str]]:
    return dict(jwk)


def test_jwk_ed25519_is_an_okp_key() -> None:
    key = server_key("ed25519")
    jwk = key.public.jwk()
    assert set(jwk) == {"kty", "crv", "x", "alg", "kid", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert jwk["kid"] == key.public.key_id
    assert len(_b64url_decode(jwk["x"])) == 32
    imported = OKPKey.import_key(_jose(jwk))
    assert imported.as_pem(private=False).decode() == key.public.public_pem


def test_jwk_ecdsa_is_an_ec_p256_key() -> None:
    key = server_key("ecdsa-p256")
    jwk = key.public.jwk()
    assert set(jwk) == {"kty", "crv", "x", "y", "alg", "kid", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert len(_b64url_decode(jwk["x"])) == 32
    assert len(_b64url_decode(jwk["y"])) == 32
    assert ECKey.import_key(_jose(jwk)).as_pem(private=False).decode() == key.public.public_pem


def test_jwk_rsa_says_ps256_or_rs256_by_scheme() -> None:
    key = server_key("rsa-3072-pss")
    jwk = key.public.jwk()
    assert set(jwk) == {"kty", "n", "e", "alg", "kid", "use"}
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "PS256", "sig")
    assert _b64url_decode(jwk["e"]) == b"\x01\x00\x01"
    assert len(_b64url_decode(jwk["n"])) == 384  # no leading zero octet
    assert RSAKey.import_key(_jose(jwk)).as_pem(private=False).decode() == key.public.public_pem
    pkcs1 = keys.load_public_pem(key.public.public_pem, "x", rsa_scheme="rsa-pkcs1v15")
    assert pkcs1.jwk()["alg"] == "RS256"


# --- sealing -------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sealed_private_key_opens_to_the_same_key(algorithm: ServerKeyAlgorithm) -> None:
    # Given a key sealed under a master key, When opened with its id, Then it signs as before
    master = MasterKey(bytes(32))
    key = server_key(algorithm)
    sealed = keys.seal_private(key, master)
    assert key.private_pem.encode() not in sealed
    opened = keys.open_private(sealed, master, key.public.key_id, key.public)
    assert opened.private_pem == key.private_pem
    assert opened.public == key.public


def test_sealed_private_key_does_not_open_under_another_id_or_master() -> None:
    master = MasterKey(bytes(32))
    key = server_key("ed25519")
    sealed = keys.seal_private(key, master)
    with pytest.raises(SealError):
        keys.open_private(sealed, master, "another-key", key.public)
    with pytest.raises(SealError):
        keys.open_private(sealed, MasterKey(b"\x01" * 32), key.public.key_id, key.public)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealError):
        keys.open_private(tampered, master, key.public.key_id, key.public)


def test_sealed_private_key_must_match_the_stored_public_key() -> None:
    # Given key A's sealed private half stored with key B's public key under A's id
    master = MasterKey(bytes(32))
    key = server_key("ecdsa-p256")
    other = keys.generate("ecdsa-p256", key_id=key.public.key_id)
    sealed = keys.seal_private(key, master)
    with pytest.raises(SealError, match="does not match"):
        keys.open_private(sealed, master, key.public.key_id, other.public)


def test_sealing_context_binds_the_key_id() -> None:
    assert keys.sealing_context("k1") == b"zas-signing-key:k1"
    key = server_key("ed25519")
    renamed = attrs.evolve(key, public=attrs.evolve(key.public, key_id="k2"))
    master = MasterKey(bytes(32))
    sealed = keys.seal_private(renamed, master)
    assert master.open(sealed, context=b"zas-signing-key:k2") == key.private_pem.encode()
