"""Raw artifact signatures: round trips, tampering, wrong keys, encodings, known answers."""

from __future__ import annotations

import base64
import functools
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from zas.supplychain import keys
from zas.supplychain.keys import PrivateKey, ServerKeyAlgorithm
from zas.supplychain.signatures import (
    InvalidSignature,
    SignatureFormUnsupported,
    decode_signature,
    encode_signature,
    needs_artifact_bytes,
    sign_blob,
    sign_blob_digest,
    verify_blob,
)

ALGORITHMS: tuple[ServerKeyAlgorithm, ...] = ("ed25519", "ecdsa-p256", "rsa-3072-pss")
DATA = b"artifact bytes\n" * 1000
SHA = hashlib.sha256(DATA).digest()


@functools.cache
def server_key(algorithm: ServerKeyAlgorithm, n: int = 0) -> PrivateKey:
    return keys.generate(algorithm, key_id=f"{algorithm}-{n}")


def _chunks(data: bytes, size: int = 777) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sign_blob_then_verify_blob_is_ok(algorithm: ServerKeyAlgorithm) -> None:
    key = server_key(algorithm)
    for data in (DATA, _chunks(DATA), iter(_chunks(DATA))):
        signature = sign_blob(key, data)
        result = verify_blob(key.public, signature, sha256=SHA, data=DATA)
        assert result.ok, result.reason
        assert bool(result)
        assert key.public.key_id in result.reason


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "rsa-3072-pss"])
def test_digest_only_signatures_need_no_bytes(algorithm: ServerKeyAlgorithm) -> None:
    # Given only the stored object's SHA-256, When signed and checked, Then it verifies
    key = server_key(algorithm)
    assert not needs_artifact_bytes(key.algorithm)
    signature = sign_blob_digest(key, SHA)
    assert verify_blob(key.public, signature, sha256=SHA).ok
    # and it is the same kind of signature as one over the bytes
    assert verify_blob(key.public, sign_blob(key, DATA), sha256=SHA).ok


def test_ed25519_has_no_digest_form() -> None:
    key = server_key("ed25519")
    assert needs_artifact_bytes("ed25519")
    with pytest.raises(SignatureFormUnsupported, match="bytes"):
        sign_blob_digest(key, SHA)
    with pytest.raises(ValueError, match="data="):
        verify_blob(key.public, sign_blob(key, DATA), sha256=SHA)


def test_ed25519_bytes_must_match_the_digest() -> None:
    # Given a valid signature over other bytes than the object's, Then it is refused
    key = server_key("ed25519")
    other = b"other bytes"
    result = verify_blob(key.public, sign_blob(key, other), sha256=SHA, data=other)
    assert not result.ok
    assert "do not match the given SHA-256" in result.reason


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tampered_data_fails_with_a_reason(algorithm: ServerKeyAlgorithm) -> None:
    key = server_key(algorithm)
    signature = sign_blob(key, DATA)
    tampered = DATA[:-1] + b"?"
    result = verify_blob(
        key.public, signature, sha256=hashlib.sha256(tampered).digest(), data=tampered
    )
    assert not result.ok
    assert "does not verify with key" in result.reason


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tampered_signature_fails(algorithm: ServerKeyAlgorithm) -> None:
    key = server_key(algorithm)
    signature = bytearray(sign_blob(key, DATA))
    signature[len(signature) // 2] ^= 0x01
    result = verify_blob(key.public, bytes(signature), sha256=SHA, data=DATA)
    assert not result.ok
    assert result.reason


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_wrong_key_fails(algorithm: ServerKeyAlgorithm) -> None:
    signature = sign_blob(server_key(algorithm), DATA)
    result = verify_blob(server_key(algorithm, 1).public, signature, sha256=SHA, data=DATA)
    assert not result.ok
    assert f"{algorithm}-1" in result.reason


def test_signature_of_another_algorithm_fails_without_raising() -> None:
    ed_sig = sign_blob(server_key("ed25519"), DATA)
    for algorithm in ("ecdsa-p256", "rsa-3072-pss"):
        result = verify_blob(server_key(algorithm).public, ed_sig, sha256=SHA)
        assert not result.ok
    ecdsa_sig = sign_blob(server_key("ecdsa-p256"), DATA)
    assert not verify_blob(server_key("ed25519").public, ecdsa_sig, sha256=SHA, data=DATA).ok
    assert not verify_blob(server_key("ed25519").public, b"", sha256=SHA, data=DATA).ok


def test_length_and_encoding_reasons() -> None:
    result = verify_blob(server_key("rsa-3072-pss").public, b"\x01" * 10, sha256=SHA)
    assert "384 bytes, got 10" in result.reason
    result = verify_blob(server_key("ecdsa-p256").public, b"\x01" * 10, sha256=SHA)
    assert "neither DER nor 64-byte r||s" in result.reason
    result = verify_blob(server_key("ed25519").public, b"\x01" * 10, sha256=SHA, data=DATA)
    assert "64 bytes, got 10" in result.reason


def test_digest_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        verify_blob(server_key("ecdsa-p256").public, b"x", sha256=SHA.hex().encode())
    with pytest.raises(ValueError, match="32-byte"):
        sign_blob_digest(server_key("ecdsa-p256"), SHA[:20])


def test_ecdsa_raw_r_s_is_accepted_like_der() -> None:
    # Given a DER signature re-encoded as IEEE P1363 r||s (JWS style), Then it verifies
    key = server_key("ecdsa-p256")
    r, s = utils.decode_dss_signature(sign_blob_digest(key, SHA))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert verify_blob(key.public, raw, sha256=SHA).ok


def test_rsa_pss_any_salt_length_verifies_but_server_signs_with_digest_length() -> None:
    key = server_key("rsa-3072-pss")
    private = key.crypto_key
    assert isinstance(private, rsa.RSAPrivateKey)
    max_salt = private.sign(
        DATA,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )
    assert verify_blob(key.public, max_salt, sha256=SHA).ok
    # The server's own signature checks with an explicit 32-byte salt length.
    public = key.public.crypto_key
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        sign_blob_digest(key, SHA),
        DATA,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_rsa_scheme_is_the_registered_one_only() -> None:
    # Given an external key registered for PKCS#1 v1.5, Then PSS signatures are refused, and
    # the other way round: a key's scheme is fixed when it is registered.
    key = server_key("rsa-3072-pss")
    private = key.crypto_key
    assert isinstance(private, rsa.RSAPrivateKey)
    v15 = private.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    as_v15 = keys.load_public_pem(key.public.public_pem, "ci", rsa_scheme="rsa-pkcs1v15")
    assert verify_blob(as_v15, v15, sha256=SHA).ok
    assert not verify_blob(as_v15, sign_blob_digest(key, SHA), sha256=SHA).ok
    assert not verify_blob(key.public, v15, sha256=SHA).ok
    # A PKCS#1 v1.5 private key (an external tool's) signs that way too.
    signer = keys.load_private_pem(key.private_pem, rsa_scheme="rsa-pkcs1v15")
    assert verify_blob(as_v15, sign_blob_digest(signer, SHA), sha256=SHA).ok


def test_ed25519_rfc8032_known_answer() -> None:
    # RFC 8032 section 7.1, TEST 1: empty message.
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pem = ed25519.Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = keys.load_private_pem(pem)
    expected = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert sign_blob(key, b"") == expected
    assert verify_blob(key.public, expected, sha256=hashlib.sha256(b"").digest(), data=b"").ok


# --- decode_signature ------------------------------------------------------------------------


def test_decode_signature_accepts_binary_and_base64_forms() -> None:
    der = sign_blob_digest(server_key("ecdsa-p256"), SHA)
    assert decode_signature(der) == der  # openssl writes binary DER
    b64 = encode_signature(der)
    assert base64.b64decode(b64) == der
    assert decode_signature(b64) == der  # cosign writes base64
    assert decode_signature(b64.encode() + b"\n") == der  # a .sig file with a newline
    urlsafe = base64.urlsafe_b64encode(der).rstrip(b"=")
    assert decode_signature(urlsafe) == der
    assert decode_signature(urlsafe.decode()) == der
    wrapped = b"\n".join(b64.encode()[i : i + 20] for i in range(0, len(b64), 20))
    assert decode_signature(wrapped.decode()) == der
    rsa_sig = sign_blob_digest(server_key("rsa-3072-pss"), SHA)
    lines = base64.encodebytes(rsa_sig)  # 76-column lines, as `base64` and openssl write
    assert lines.count(b"\n") > 5
    assert decode_signature(lines) == rsa_sig
    ed = sign_blob(server_key("ed25519"), DATA)
    assert decode_signature(ed) == ed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        (b"", "empty"),
        ("   \n", "empty"),
        ("not base64 at all!", "not base64"),
        ("sig\u00e9", "not base64"),
        (b"\x00" * 5000, "longer than 4096"),
    ],
)
def test_decode_signature_rejects(value: bytes | str, message: str) -> None:
    with pytest.raises(InvalidSignature, match=message) as info:
        decode_signature(value)
    assert info.value.http_status == 400
    assert info.value.code == "InvalidSignature"
