"""Interop: signatures made by openssl (and cosign, when installed) verify in ZAS, and ZAS
signatures verify with those tools using the key ZAS exports.

The commands here are the ones `zas.supplychain.signatures` documents; if one of them changes,
that docstring must change with it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from zas.supplychain import dsse, keys
from zas.supplychain.keys import PrivateKey, ServerKeyAlgorithm
from zas.supplychain.signatures import (
    decode_signature,
    encode_signature,
    sign_blob,
    sign_blob_digest,
    verify_blob,
)

OPENSSL = shutil.which("openssl")
COSIGN = shutil.which("cosign")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")

DATA = os.urandom(100_000) + b"artifact"
SHA = hashlib.sha256(DATA).digest()
PSS_OPTS = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]


def openssl(*args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    done = subprocess.run(
        [OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


@functools.cache
def server_key(algorithm: ServerKeyAlgorithm) -> PrivateKey:
    return keys.generate(algorithm, key_id=f"zas-{algorithm}")


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "artifact.bin"
    path.write_bytes(DATA)
    return path


def _genpkey(tmp_path: Path, *spec: str) -> tuple[Path, Path]:
    key, pub = tmp_path / "key.pem", tmp_path / "pub.pem"
    openssl("genpkey", *spec, "-out", key)
    openssl("pkey", "-in", key, "-pubout", "-out", pub)
    return key, pub


def _export(tmp_path: Path, key: PrivateKey, signature: bytes) -> tuple[Path, Path]:
    pub, sig = tmp_path / "zas-pub.pem", tmp_path / "zas.sig"
    pub.write_text(key.public.public_pem)
    sig.write_bytes(signature)
    return pub, sig


# --- openssl signs, ZAS verifies -----------------------------------------------------------


def test_openssl_ecdsa_signature_verifies_in_zas(tmp_path: Path, artifact: Path) -> None:
    key, pub = _genpkey(tmp_path, "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    sig = tmp_path / "artifact.sig"
    openssl("dgst", "-sha256", "-sign", key, "-out", sig, artifact)
    public = keys.load_public_pem(pub.read_bytes(), "ci")
    assert public.algorithm == "ecdsa-p256"
    result = verify_blob(public, decode_signature(sig.read_bytes()), sha256=SHA)
    assert result.ok, result.reason
    other = hashlib.sha256(DATA + b"x").digest()
    assert not verify_blob(public, sig.read_bytes(), sha256=other).ok


@pytest.mark.parametrize(
    "saltlen", [["-sigopt", "rsa_pss_saltlen:digest"], ["-sigopt", "rsa_pss_saltlen:max"], []]
)
def test_openssl_rsa_pss_signature_verifies_in_zas(
    tmp_path: Path, artifact: Path, saltlen: list[str]
) -> None:
    key, pub = _genpkey(tmp_path, "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072")
    sig = tmp_path / "artifact.sig"
    openssl(
        "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", *saltlen, "-sign", key,
        "-out", sig, artifact,
    )  # fmt: skip
    public = keys.load_public_pem(pub.read_text(), "ci")
    assert public.algorithm == "rsa-3072-pss"
    result = verify_blob(public, sig.read_bytes(), sha256=SHA)
    assert result.ok, result.reason


def test_openssl_rsa_pkcs1v15_signature_verifies_under_that_scheme_only(
    tmp_path: Path, artifact: Path
) -> None:
    key, pub = _genpkey(tmp_path, "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
    sig = tmp_path / "artifact.sig"
    openssl("dgst", "-sha256", "-sign", key, "-out", sig, artifact)
    as_v15 = keys.load_public_pem(pub.read_text(), "ci", rsa_scheme="rsa-pkcs1v15")
    assert verify_blob(as_v15, sig.read_bytes(), sha256=SHA).ok
    as_pss = keys.load_public_pem(pub.read_text(), "ci")
    assert as_pss.algorithm == "rsa-pss"
    assert not verify_blob(as_pss, sig.read_bytes(), sha256=SHA).ok


def test_openssl_ed25519_rawin_signature_verifies_in_zas(tmp_path: Path, artifact: Path) -> None:
    key, pub = _genpkey(tmp_path, "-algorithm", "ED25519")
    sig = tmp_path / "artifact.sig"
    openssl("pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", artifact, "-out", sig)
    public = keys.load_public_pem(pub.read_bytes(), "dev")
    assert public.algorithm == "ed25519"
    result = verify_blob(public, sig.read_bytes(), sha256=SHA, data=DATA)
    assert result.ok, result.reason


def test_base64_signature_file_as_cosign_writes_it(tmp_path: Path, artifact: Path) -> None:
    # cosign's --output-signature file is base64 of the DER signature (no trailing newline;
    # `base64` adds one, which must not matter).
    key, pub = _genpkey(tmp_path, "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    der, b64 = tmp_path / "artifact.der", tmp_path / "artifact.sig"
    openssl("dgst", "-sha256", "-sign", key, "-out", der, artifact)
    openssl("base64", "-A", "-in", der, "-out", b64)
    assert b64.read_bytes().strip() == base64.b64encode(der.read_bytes())
    public = keys.load_public_pem(pub.read_bytes(), "ci")
    assert verify_blob(public, decode_signature(b64.read_bytes()), sha256=SHA).ok
    assert verify_blob(public, decode_signature(b64.read_text()), sha256=SHA).ok


def test_openssl_private_key_can_be_loaded_and_used_by_zas(tmp_path: Path, artifact: Path) -> None:
    key, pub = _genpkey(tmp_path, "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    private = keys.load_private_pem(key.read_bytes())
    sig = tmp_path / "zas.sig"
    sig.write_bytes(sign_blob_digest(private, SHA))
    openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, artifact)


# --- ZAS signs, openssl verifies with the exported key -------------------------------------


def test_zas_ecdsa_signature_verifies_with_openssl(tmp_path: Path, artifact: Path) -> None:
    key = server_key("ecdsa-p256")
    pub, sig = _export(tmp_path, key, sign_blob_digest(key, SHA))
    done = openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, artifact)
    assert "Verified OK" in done.stdout
    (tmp_path / "tampered").write_bytes(DATA + b"x")
    bad = openssl(
        "dgst", "-sha256", "-verify", pub, "-signature", sig, tmp_path / "tampered", ok=False
    )
    assert bad.returncode == 1
    assert "Verification failure" in bad.stdout + bad.stderr


def test_zas_rsa_pss_signature_verifies_with_openssl(tmp_path: Path, artifact: Path) -> None:
    key = server_key("rsa-3072-pss")
    pub, sig = _export(tmp_path, key, sign_blob_digest(key, SHA))
    done = openssl("dgst", "-sha256", *PSS_OPTS, "-verify", pub, "-signature", sig, artifact)
    assert "Verified OK" in done.stdout
    # without the PSS options openssl expects PKCS#1 v1.5 and refuses it
    assert (
        openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, artifact, ok=False).returncode
        == 1
    )


def test_zas_ed25519_signature_verifies_with_openssl(tmp_path: Path, artifact: Path) -> None:
    key = server_key("ed25519")
    pub, sig = _export(tmp_path, key, sign_blob(key, [DATA[:4096], DATA[4096:]]))
    done = openssl(
        "pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", pub, "-in", artifact, "-sigfile", sig
    )
    assert "Signature Verified Successfully" in done.stdout


@pytest.mark.parametrize("algorithm", ["ed25519", "ecdsa-p256", "rsa-3072-pss"])
def test_zas_private_pem_is_pkcs8_openssl_reads(
    tmp_path: Path, artifact: Path, algorithm: ServerKeyAlgorithm
) -> None:
    # The in-memory PKCS#8 and the exported public key are what openssl expects; the public
    # key openssl derives is byte-for-byte the one ZAS exports.
    key = server_key(algorithm)
    (tmp_path / "key.pem").write_text(key.private_pem)
    derived = openssl("pkey", "-in", tmp_path / "key.pem", "-pubout").stdout
    assert derived == key.public.public_pem


def test_zas_dsse_signature_checks_with_openssl_over_the_pae(tmp_path: Path) -> None:
    # DSSE signs PAE(type, payload) exactly as a raw blob signature signs a file.
    key = server_key("ecdsa-p256")
    payload = dsse.statement_payload(
        dsse.statement("b/k", SHA.hex(), "https://example.com/predicate/v1", {})
    )
    envelope = dsse.parse_envelope(dsse.sign_envelope(key, dsse.PAYLOAD_TYPE_INTOTO, payload))
    (tmp_path / "pae").write_bytes(dsse.pae(envelope.payload_type, envelope.payload))
    pub, sig = _export(tmp_path, key, envelope.signatures[0].sig)
    openssl("dgst", "-sha256", "-verify", pub, "-signature", sig, tmp_path / "pae")


# --- cosign (when installed) ---------------------------------------------------------------

cosign_only = pytest.mark.skipif(COSIGN is None, reason="cosign is not installed")


def cosign(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert COSIGN is not None
    env = {**os.environ, "COSIGN_PASSWORD": "", "COSIGN_YES": "true"}
    done = subprocess.run(
        [COSIGN, *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False, cwd=cwd, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@cosign_only
def test_cosign_signature_verifies_in_zas(tmp_path: Path, artifact: Path) -> None:
    cosign("generate-key-pair", cwd=tmp_path)
    cosign(
        "sign-blob", "--key", "cosign.key", "--tlog-upload=false",
        "--output-signature", "artifact.sig", artifact, cwd=tmp_path,
    )  # fmt: skip
    public = keys.load_public_pem((tmp_path / "cosign.pub").read_bytes(), "cosign")
    signature = decode_signature((tmp_path / "artifact.sig").read_bytes())
    result = verify_blob(public, signature, sha256=SHA)
    assert result.ok, result.reason


@cosign_only
@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_zas_signature_verifies_with_cosign(
    tmp_path: Path, artifact: Path, algorithm: ServerKeyAlgorithm
) -> None:
    key = server_key(algorithm)
    (tmp_path / "zas.pub").write_text(key.public.public_pem)
    (tmp_path / "zas.sig").write_text(encode_signature(sign_blob(key, DATA)))
    cosign(
        "verify-blob", "--key", "zas.pub", "--signature", "zas.sig",
        "--insecure-ignore-tlog=true", artifact, cwd=tmp_path,
    )  # fmt: skip


@cosign_only
@pytest.mark.parametrize(
    "algorithm",
    [
        "ecdsa-p256",
        "rsa-3072-pss",
        pytest.param(
            "ed25519",
            marks=pytest.mark.xfail(
                reason="cosign <= 2.6.5 panics signing a blob with an Ed25519 key and "
                "--tlog-upload=false (fixed by sigstore/cosign PR #4880)",
                strict=False,
            ),
        ),
    ],
)
def test_cosign_with_an_imported_key_signs_what_zas_verifies(
    tmp_path: Path, artifact: Path, algorithm: ServerKeyAlgorithm
) -> None:
    key = server_key(algorithm)
    (tmp_path / "zas.pem").write_text(key.private_pem)
    cosign("import-key-pair", "--key", "zas.pem", "--output-key-prefix", "imported", cwd=tmp_path)
    cosign(
        "sign-blob", "--key", "imported.key", "--tlog-upload=false",
        "--output-signature", "artifact.sig", artifact, cwd=tmp_path,
    )  # fmt: skip
    signature = decode_signature((tmp_path / "artifact.sig").read_text())
    # cosign signs with RSA keys as PKCS#1 v1.5: such a key is registered with that scheme.
    public = keys.load_public_pem(key.public.public_pem, "ci", rsa_scheme="rsa-pkcs1v15")
    result = verify_blob(public, signature, sha256=SHA, data=DATA)
    assert result.ok, result.reason
    if algorithm == "rsa-3072-pss":
        assert not verify_blob(key.public, signature, sha256=SHA).ok
