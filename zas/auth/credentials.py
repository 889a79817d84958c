"""The root credentials (users' keys live in zas.auth.iam).

Root credentials come from ZAS_ROOT_ACCESS_KEY / ZAS_ROOT_SECRET_KEY (via the config); when
those are unset they are generated on first start, stored with mode 0600 in the data
directory and printed once, so a fresh `zas serve` is usable and stays stable across restarts.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from pathlib import Path

import attrs

ROOT_CREDENTIALS_FILE = "root-credentials.json"
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits


@attrs.frozen(repr=False)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    principal: str

    def __repr__(self) -> str:  # never print a secret by accident
        return f"AccessKey({self.access_key_id!r}, principal={self.principal!r})"


def load_or_create_root(
    data_dir: Path, access_key: str | None, secret_key: str | None
) -> tuple[AccessKey, bool]:
    """The root key; the flag says it was generated just now (and should be shown once)."""
    if access_key and secret_key:
        return AccessKey(access_key, secret_key, "root"), False
    if access_key or secret_key:
        raise ValueError("set both ZAS_ROOT_ACCESS_KEY and ZAS_ROOT_SECRET_KEY, or neither")
    path = data_dir / ROOT_CREDENTIALS_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        return AccessKey(stored["access_key_id"], stored["secret_access_key"], "root"), False
    key = AccessKey(
        "ZAS" + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(17)),
        secrets.token_urlsafe(30)[:40],
        "root",
    )
    data = json.dumps(
        {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key}
    )
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(path.with_suffix(".tmp"), path)
    return key, True
