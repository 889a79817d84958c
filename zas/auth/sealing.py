"""Secrets at rest: the server master key and authenticated encryption under it.

Access-key secrets, STS session credentials (and, later, private signing keys) are stored or
handed out sealed with XChaCha20-Poly1305 (libsodium via pynacl) under one 32-byte master key.
Each sealed value is bound to what it belongs to through the associated data (`context`): a
secret sealed for access key A cannot be pasted into key B's row and opened there.

The master key comes from ZAS_MASTER_KEY (base64 of 32 bytes; what a Kubernetes Secret would
hold) or, when that is unset, from `master.key` in the data directory, generated 0600 on first
start. Losing it makes every stored secret unreadable: back it up with the data directory, or
better, apart from it.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

import nacl.exceptions
import nacl.secret
import nacl.utils

MASTER_KEY_FILE = "master.key"
KEY_BYTES = nacl.secret.Aead.KEY_SIZE  # 32


class SealError(ValueError):
    """A sealed value that does not open: wrong key, wrong context or tampered bytes."""


class MasterKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes, got {len(key)}")
        self._box = nacl.secret.Aead(key)

    def __repr__(self) -> str:  # never print key material
        return "MasterKey(...)"

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        """nonce (24 bytes) + ciphertext + tag; a fresh random nonce per call."""
        return bytes(self._box.encrypt(plaintext, aad=context))

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        try:
            return bytes(self._box.decrypt(sealed, aad=context))
        except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
            raise SealError("sealed value does not open under this master key") from exc


def load_or_create_master_key(data_dir: Path, configured: str | None) -> MasterKey:
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except binascii.Error as exc:
            raise ValueError("ZAS_MASTER_KEY must be base64 (of 32 random bytes)") from exc
        return MasterKey(key)
    path = data_dir / MASTER_KEY_FILE
    if path.exists():
        return MasterKey(base64.b64decode(path.read_bytes().strip()))
    key = nacl.utils.random(KEY_BYTES)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return MasterKey(key)
