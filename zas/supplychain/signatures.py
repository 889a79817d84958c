"""Raw signatures over artifact bytes, bound to the artifact's SHA-256.

A "raw" (detached) signature is the bytes a general-purpose tool writes next to a file. Which
tool invocation makes and checks the same bytes as ZAS, per key algorithm:

    ecdsa-p256    ECDSA P-256 over SHA-256(file), DER (X9.62 Ecdsa-Sig-Value, as RFC 5480)
                    openssl dgst -sha256 -sign key.pem -out file.sig file
                    openssl dgst -sha256 -verify pub.pem -signature file.sig file
                    cosign sign-blob --key cosign.key --tlog-upload=false \
                      --output-signature file.sig file          (base64 of the same DER)
                    cosign verify-blob --key pub.pem --signature file.sig \
                      --insecure-ignore-tlog=true file
    rsa-3072-pss  RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32 (= digest length)
    rsa-pss         openssl dgst -sha256 -sigopt rsa_padding_mode:pss \\
                      -sigopt rsa_pss_saltlen:digest -sign key.pem -out file.sig file
                    openssl dgst -sha256 -sigopt rsa_padding_mode:pss \\
                      -verify pub.pem -signature file.sig file
                  ZAS verifies any salt length (PSS.AUTO), so signatures made with openssl's
                  default salt length ("max" when signing) are accepted too.
    rsa-pkcs1v15  RSASSA-PKCS1-v1_5 with SHA-256 (external keys only)
                    openssl dgst -sha256 -sign key.pem ... / -verify pub.pem ...
                    cosign sign-blob / verify-blob with an RSA key
                      (cosign import-key-pair --key key.pem turns a PEM key into cosign's)
    ed25519       pure Ed25519 (RFC 8032 section 5.1) over the file's bytes: Ed25519 signs the
                  message itself (hashing it with SHA-512 internally), never a SHA-256 digest
                    openssl pkeyutl -sign -rawin -inkey key.pem -in file -out file.sig
                    openssl pkeyutl -verify -rawin -pubin -inkey pub.pem -in file -sigfile file.sig
                    cosign verify-blob --key pub.pem (sign-blob: see the caveats below)
                  (`openssl dgst -sha256` cannot use Ed25519 keys.)

cosign caveats (checked with cosign v2.6.5): `cosign verify-blob --key pub.pem` checks RSA
signatures as PKCS#1 v1.5, so it cannot check a server RSA-PSS signature (openssl can); an RSA
key cosign signs with belongs in ZAS as an external "rsa-pkcs1v15" key. With an Ed25519 key,
`cosign sign-blob` signs Ed25519ph (RFC 8032 prehash) when it uploads to Rekor, which ZAS does
not verify, and pure Ed25519 with --tlog-upload=false (this panics up to v2.6.5, fixed by
sigstore/cosign PR #4880); `cosign verify-blob` checks ZAS's pure Ed25519 signatures.

So ECDSA and RSA signatures are made and checked from the SHA-256 alone (`sign_blob_digest`,
`verify_blob(sha256=...)`): the server has the digest of a stored object without reading it
back. Ed25519 needs the artifact bytes (`sign_blob`, `verify_blob(data=...)`), which a caller
must stream out of storage; `needs_artifact_bytes` says which case applies.

Signatures arrive binary (openssl) or base64 text (cosign); `decode_signature` takes either.
Checking never raises on a bad signature: it answers a `VerifyResult` with the reason, and
raises only on programmer errors (a digest that is not 32 bytes, Ed25519 without the bytes).
Pure: no storage, no HTTP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable

import attrs
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from zas.protocol.errors import InvalidArgument
from zas.supplychain.keys import KeyAlgorithm, PrivateKey, PublicKey

__all__ = [
    "InvalidSignature",
    "SignatureFormUnsupported",
    "VerifyResult",
    "decode_signature",
    "encode_signature",
    "needs_artifact_bytes",
    "sign_blob",
    "sign_blob_digest",
    "sign_message",
    "verify_blob",
    "verify_message",
]

SHA256_BYTES = 32
# Largest signature any supported key makes: RSA-8192 is 1024 bytes; base64 of it ~1.4 KB.
MAX_SIGNATURE_BYTES = 4096

_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/_\-]+={0,2}")


class InvalidSignature(InvalidArgument):
    """A signature that cannot even be decoded (not one that fails to verify)."""

    code = "InvalidSignature"
    default_message = "The signature is not valid."


class SignatureFormUnsupported(InvalidArgument):
    code = "SignatureFormUnsupported"
    default_message = "This key cannot make that form of signature."


@attrs.frozen
class VerifyResult:
    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def needs_artifact_bytes(algorithm: KeyAlgorithm) -> bool:
    """True when a raw signature under this algorithm covers the bytes, not a digest."""
    return algorithm == "ed25519"


def _pss() -> padding.PSS:
    # RFC 8017 section 9.1 with SHA-256 and MGF1(SHA-256); salt as long as the digest,
    # what `openssl dgst -sigopt rsa_pss_saltlen:digest` writes and most verifiers expect.
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def _pss_verify() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


def _check_digest(sha256: bytes) -> None:
    if not isinstance(sha256, bytes) or len(sha256) != SHA256_BYTES:
        raise ValueError("sha256 must be the 32-byte binary SHA-256 digest")


def _join(data: bytes | Iterable[bytes]) -> bytes:
    return data if isinstance(data, bytes) else b"".join(data)


def _sign_prehashed(key: PrivateKey, sha256: bytes) -> bytes:
    private = key.crypto_key
    prehashed = utils.Prehashed(hashes.SHA256())
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(sha256, ec.ECDSA(prehashed))
    if isinstance(private, rsa.RSAPrivateKey):
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15() if key.algorithm == "rsa-pkcs1v15" else _pss()
        )
        return private.sign(sha256, pad, prehashed)
    raise SignatureFormUnsupported(
        "Ed25519 signs the artifact bytes, not a digest; sign the bytes instead"
    )


def sign_blob_digest(key: PrivateKey, sha256: bytes) -> bytes:
    """A raw signature over an artifact, made from its SHA-256 (ECDSA and RSA keys).

    ECDSA answers DER, RSA the modulus-sized signature; see the module docstring for the
    openssl/cosign commands that check them. Raises `SignatureFormUnsupported` for Ed25519.
    """
    _check_digest(sha256)
    return _sign_prehashed(key, sha256)


def sign_message(key: PrivateKey, message: bytes) -> bytes:
    """Sign a whole message (a small one: a DSSE PAE, or an artifact already in memory)."""
    signer = key.nacl_signing_key
    if signer is not None:
        return bytes(signer.sign(message).signature)
    return _sign_prehashed(key, hashlib.sha256(message).digest())


def sign_blob(key: PrivateKey, data: bytes | Iterable[bytes]) -> bytes:
    """A raw signature over the artifact bytes, for any key.

    ECDSA and RSA hash the chunks as they come; pure Ed25519 needs the whole message at once
    (RFC 8032 hashes R before the message, so it cannot be streamed), so the chunks are joined:
    the caller decides how large an Ed25519-signed artifact it will hold in memory.
    """
    if key.nacl_signing_key is not None:
        return sign_message(key, _join(data))
    if isinstance(data, bytes):
        return _sign_prehashed(key, hashlib.sha256(data).digest())
    digest = hashlib.sha256()
    for chunk in data:
        digest.update(chunk)
    return _sign_prehashed(key, digest.digest())


def encode_signature(signature: bytes) -> str:
    """Standard base64, as cosign writes a `.sig` file."""
    return base64.b64encode(signature).decode("ascii")


def decode_signature(value: bytes | str) -> bytes:
    """The binary signature from what a client sent: raw bytes (openssl) or base64 (cosign).

    Text is base64, standard or URL-safe, padding optional, surrounding whitespace ignored.
    Bytes are taken as base64 when, whitespace aside (line-wrapped `base64` output), they are
    nothing but base64 characters, else as binary: a DER ECDSA signature has 0x02 bytes that
    are not base64 characters, and an RSA or Ed25519 signature of random-looking bytes is
    all-base64 with negligible probability (below 2^-100).
    """
    if not value.strip():
        raise InvalidSignature("the signature is empty")
    if isinstance(value, str):
        try:
            text = value.strip().encode("ascii")
        except UnicodeEncodeError as exc:
            raise InvalidSignature("the signature text is not base64") from exc
        decoded = _b64decode(text)
        if decoded is None:
            raise InvalidSignature("the signature text is not base64")
    else:
        decoded = _b64decode(value)  # None unless it is base64 text, maybe line-wrapped
        if decoded is None:
            decoded = value
    if not decoded:
        raise InvalidSignature("the signature is empty")
    if len(decoded) > MAX_SIGNATURE_BYTES:
        raise InvalidSignature(f"the signature is longer than {MAX_SIGNATURE_BYTES} bytes")
    return decoded


def _b64decode(text: bytes) -> bytes | None:
    text = b"".join(text.split())
    if not _BASE64_TEXT.fullmatch(text):
        return None
    text = text.replace(b"-", b"+").replace(b"_", b"/")
    text += b"=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def _ecdsa_der(signature: bytes) -> bytes | None:
    """DER as given, or DER from a 64-byte r||s (IEEE P1363, as JWS and some DSSE signers use).

    Sigstore and openssl write DER; accepting r||s too costs nothing in security, the pair
    (r, s) being the same signature either way.
    """
    try:
        utils.decode_dss_signature(signature)
        return signature
    except ValueError:
        pass
    if len(signature) == 64:
        return utils.encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
    return None


def _failed(public: PublicKey, what: str) -> VerifyResult:
    return VerifyResult(
        False, f"{what} does not verify with key {public.key_id} ({public.algorithm})"
    )


def _verify_prehashed(
    public: PublicKey, signature: bytes, sha256: bytes, what: str
) -> VerifyResult:
    key = public.crypto_key
    prehashed = utils.Prehashed(hashes.SHA256())
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            der = _ecdsa_der(signature)
            if der is None:
                return VerifyResult(False, "the ECDSA signature is neither DER nor 64-byte r||s")
            key.verify(der, sha256, ec.ECDSA(prehashed))
        elif isinstance(key, rsa.RSAPublicKey):
            expected = (key.key_size + 7) // 8
            if len(signature) != expected:
                return VerifyResult(
                    False,
                    f"an RSA signature under key {public.key_id} is {expected} bytes, "
                    f"got {len(signature)}",
                )
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15() if public.algorithm == "rsa-pkcs1v15" else _pss_verify()
            )
            key.verify(signature, sha256, pad, prehashed)
        else:  # pragma: no cover - callers route Ed25519 elsewhere
            raise AssertionError("Ed25519 has no prehashed form")
    except (CryptoInvalidSignature, ValueError):
        return _failed(public, what)
    return VerifyResult(True, f"{what} verified with key {public.key_id} ({public.algorithm})")


def _verify_ed25519(public: PublicKey, signature: bytes, message: bytes, what: str) -> VerifyResult:
    key = public.crypto_key
    assert isinstance(key, ed25519.Ed25519PublicKey)
    if len(signature) != 64:
        return VerifyResult(False, f"an Ed25519 signature is 64 bytes, got {len(signature)}")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        nacl.signing.VerifyKey(raw).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return _failed(public, what)
    return VerifyResult(True, f"{what} verified with key {public.key_id} ({public.algorithm})")


def verify_message(public: PublicKey, signature: bytes, message: bytes) -> VerifyResult:
    """Check a signature over a whole (small) message, such as a DSSE PAE."""
    if needs_artifact_bytes(public.algorithm):
        return _verify_ed25519(public, signature, message, "signature")
    return _verify_prehashed(public, signature, hashlib.sha256(message).digest(), "signature")


def verify_blob(
    public: PublicKey,
    signature: bytes,
    *,
    sha256: bytes,
    data: bytes | Iterable[bytes] | None = None,
) -> VerifyResult:
    """Check a raw signature over the artifact whose SHA-256 is `sha256`.

    ECDSA and RSA need only the digest. Ed25519 needs `data`, the artifact bytes; they are
    checked against `sha256` first, so a signature is never accepted for other bytes than
    the object's. Passing Ed25519 without `data` is a programmer error (ValueError).
    """
    _check_digest(sha256)
    if not signature:
        return VerifyResult(False, "the signature is empty")
    if not needs_artifact_bytes(public.algorithm):
        return _verify_prehashed(public, signature, sha256, "signature")
    if data is None:
        raise ValueError("Ed25519 signatures cover the artifact bytes: pass data=")
    message = _join(data)
    if hashlib.sha256(message).digest() != sha256:
        return VerifyResult(False, "the artifact bytes do not match the given SHA-256")
    return _verify_ed25519(public, signature, message, "signature")
