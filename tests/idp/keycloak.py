"""A real Keycloak for the tests: install lookup, start/stop, tokens, JWKS and key rotation.

Keycloak (org.keycloak:keycloak-quarkus-dist from Maven Central) is installed and pre-built by
scripts/install-keycloak.sh into ${ZAS_TEST_CACHE:-~/.cache/zas-test}/keycloak-<version>; each
start gets a home of its own under the caller's workdir (bin/ copied, lib/conf/providers/themes
linked to the install), so its data/ (import dir, H2, transaction logs) never touches the shared
install and several Keycloaks can run at once. The realm in realm-zas.json beside this file is
imported at every start (`--import-realm`), into an in-memory H2 database (`dev-mem`): every
start is a fresh realm with the users, clients, roles and groups named by the constants below.

Only the standard library is used (urllib for HTTP), so this needs nothing beyond the JDK.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

KEYCLOAK_VERSION = os.environ.get("ZAS_KEYCLOAK_VERSION", "26.7.3")
REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-keycloak.sh"
REALM_FILE = Path(__file__).with_name("realm-zas.json")
# Build-time options: the same as scripts/install-keycloak.sh builds with, so that
# `start --optimized` is accepted without re-augmentation.
BUILD_OPTIONS = ("--db=dev-mem",)

REALM = "zas"

# The master-realm admin that each start creates from KC_BOOTSTRAP_ADMIN_USERNAME/PASSWORD;
# rotate_signing_key() uses it for the admin REST API.
ADMIN_USERNAME = "kcadmin"
ADMIN_PASSWORD = "kcadmin-pass"

# Clients of realm zas. All confidential (client-secret), password grant on, standard flow off.
ZAS_CLIENT_ID = "zas"  # aud "zas", azp "zas"
ZAS_CLIENT_SECRET = "zas-test-client-secret"
OTHER_CLIENT_ID = "other-app"  # aud "other-app" only, never "zas"; azp "other-app"
OTHER_CLIENT_SECRET = "other-app-test-client-secret"
SHORT_CLIENT_ID = "zas-short"  # aud "zas", azp "zas-short", tokens live SHORT_TOKEN_LIFESPAN s
SHORT_CLIENT_SECRET = "zas-short-test-client-secret"
SHORT_TOKEN_LIFESPAN = 5  # seconds (client attribute access.token.lifespan)
TOKEN_LIFESPAN = 1800  # seconds: the realm's access-token lifespan for zas and other-app

CLIENT_SECRETS = {
    ZAS_CLIENT_ID: ZAS_CLIENT_SECRET,
    OTHER_CLIENT_ID: OTHER_CLIENT_SECRET,
    SHORT_CLIENT_ID: SHORT_CLIENT_SECRET,
}

# Realm roles (claim realm_access.roles), the client role of client zas
# (claim resource_access.zas.roles) and groups (claim "groups", full paths with the leading "/").
ROLE_READONLY = "zas-readonly"
ROLE_WRITER = "zas-writer"
ROLE_ADMIN = "zas-admin"
CLIENT_ROLE_SIGNER = "artifact-signer"
GROUP_PLATFORM = "/platform"
GROUP_AUDITORS = "/auditors"
GROUPS_CLAIM = "groups"
GROUPS_FULL_PATH = True

# Users of realm zas (emails verified, no required actions).
READER = "reader"  # realm role zas-readonly
WRITER = "writer"  # realm role zas-writer, group /platform
ADMIN = "admin"  # realm role zas-admin, client role zas/artifact-signer, group /auditors
NOBODY = "nobody"  # no roles, no groups: its tokens have no realm_access/resource_access/groups
PASSWORDS = {
    READER: "reader-pass",
    WRITER: "writer-pass",
    ADMIN: "admin-pass",
    NOBODY: "nobody-pass",
}


class KeycloakError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("ZAS_TEST_CACHE") or Path.home() / ".cache" / "zas-test")


def install_dir(*, install: bool = True) -> Path:
    """The pre-built Keycloak; runs scripts/install-keycloak.sh (idempotent) when it is missing."""
    home = cache_dir() / f"keycloak-{KEYCLOAK_VERSION}"
    if (home / ".zas-installed").is_file():
        return home
    if not install:
        raise KeycloakError(f"Keycloak is not installed at {home}: run {INSTALL_SCRIPT}")
    done = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        capture_output=True,
        text=True,
        env={**os.environ, "ZAS_KEYCLOAK_VERSION": KEYCLOAK_VERSION},
        timeout=900,
    )
    if done.returncode != 0:
        raise KeycloakError(f"{INSTALL_SCRIPT} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    home = Path(done.stdout.strip().splitlines()[-1])
    if not (home / ".zas-installed").is_file():
        raise KeycloakError(f"{INSTALL_SCRIPT} printed {home}, which is not an install")
    return home


def java_home(install: Path) -> str:
    """The JDK (21+) the install was built with, unless ZAS_KEYCLOAK_JAVA_HOME says otherwise."""
    override = os.environ.get("ZAS_KEYCLOAK_JAVA_HOME")
    if override:
        return override
    return (install / "zas-java-home").read_text().strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _b64url_json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWS, WITHOUT checking the signature."""
    header, payload, _signature = token.split(".")
    return _b64url_json(header), _b64url_json(payload)


def _request(
    url: str,
    *,
    form: dict[str, str] | None = None,
    body: Any = None,
    bearer: str | None = None,
    method: str | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    headers: dict[str, str] = {"Accept": "application/json"}
    data: bytes | None = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _json(url: str, **kwargs: Any) -> Any:
    status, _headers, payload = _request(url, **kwargs)
    if status != 200:
        raise KeycloakError(f"{url}: HTTP {status}: {payload[:2000]!r}")
    return json.loads(payload)


class Keycloak:
    """One Keycloak process. Start with Keycloak.start(workdir); stop with stop() (or `with`)."""

    def __init__(self, home: Path, workdir: Path, port: int, process: subprocess.Popen[bytes]):
        self.home = home
        self.workdir = workdir
        self.port = port
        self.process = process
        self.base_url = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.base_url}/realms/{REALM}"
        self.log_path = workdir / "keycloak.log"
        self.token_endpoint = f"{self.issuer}/protocol/openid-connect/token"
        self.jwks_uri = f"{self.issuer}/protocol/openid-connect/certs"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.startup_seconds = 0.0
        self._rotations = 0

    # --- life cycle -------------------------------------------------------------------------

    @classmethod
    def start(cls, workdir: Path, *, timeout: float = 180, install: bool = True) -> Keycloak:
        """Start Keycloak on a free 127.0.0.1 port with realm zas imported; wait until it answers.

        Raises KeycloakError (with the tail of workdir/keycloak.log) if it exits or is not
        ready within `timeout` seconds."""
        workdir = Path(workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        installed = install_dir(install=install)
        home = _make_home(installed, workdir / "keycloak-home")
        started = time.monotonic()
        attempts = 2  # the free port may be taken between picking and binding: retry once
        for attempt in range(attempts):
            port = free_port()
            kc = cls(home, workdir, port, _spawn(installed, home, port, workdir / "keycloak.log"))
            try:
                kc._wait_ready(started + timeout)
            except KeycloakError:
                kc.stop()
                if attempt + 1 < attempts and "Address already in use" in kc.log():
                    continue
                raise
            kc.startup_seconds = time.monotonic() - started
            return kc
        raise AssertionError("unreachable")

    def _wait_ready(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                raise KeycloakError(
                    f"Keycloak exited with {self.process.returncode} before it was ready; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                status, _h, payload = _request(self.discovery_url, timeout=5)
                if status == 200:
                    issuer = json.loads(payload).get("issuer")
                    if issuer != self.issuer:
                        raise KeycloakError(f"issuer is {issuer!r}, expected {self.issuer!r}")
                    return
            except (OSError, ValueError):
                pass
            if time.monotonic() >= deadline:
                raise KeycloakError(
                    f"Keycloak was not ready within the timeout; log {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (graceful), then SIGKILL of the process group after `timeout`. Idempotent."""
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)  # kc.sh forwards it to the JVM
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            # Whatever is left of the process group (the JVM if kc.sh was killed).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        return self.process.returncode

    def __enter__(self) -> Keycloak:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def java_pid(self) -> int | None:
        """The JVM's pid (a child of kc.sh)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids = [int(p) for p in children.read_text().split()]
        except (OSError, ValueError):
            return None
        for pid in pids:
            try:
                if Path(f"/proc/{pid}/exe").resolve().name == "java":
                    return pid
            except OSError:
                continue
        return pids[0] if pids else None

    def rss_bytes(self) -> int | None:
        pid = self.java_pid()
        if pid is None:
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    # --- OIDC -------------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        doc: dict[str, Any] = _json(self.discovery_url)
        return doc

    def token_response(
        self,
        username: str,
        password: str,
        client_id: str = ZAS_CLIENT_ID,
        client_secret: str | None = None,
    ) -> dict[str, Any]:
        """The whole token endpoint answer of a password grant (access_token, expires_in, ...).

        client_secret defaults to the constant secret of client_id."""
        if client_secret is None:
            client_secret = CLIENT_SECRETS[client_id]
        response: dict[str, Any] = _json(
            self.token_endpoint,
            form={
                "grant_type": "password",
                "client_id": client_id,
                "client_secret": client_secret,
                "username": username,
                "password": password,
                "scope": "openid",
            },
        )
        return response

    def token(
        self,
        username: str,
        password: str | None = None,
        client_id: str = ZAS_CLIENT_ID,
        client_secret: str | None = None,
    ) -> str:
        """An access token (compact JWS, RS256) for a password grant; password defaults to the
        user's constant, client_secret to the client's."""
        if password is None:
            password = PASSWORDS[username]
        access_token: str = self.token_response(username, password, client_id, client_secret)[
            "access_token"
        ]
        return access_token

    def jwks(self) -> dict[str, Any]:
        keys: dict[str, Any] = _json(self.jwks_uri)
        return keys

    # --- admin REST API ---------------------------------------------------------------------

    def admin_token(self) -> str:
        response = _json(
            f"{self.base_url}/realms/master/protocol/openid-connect/token",
            form={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN_USERNAME,
                "password": ADMIN_PASSWORD,
            },
        )
        token: str = response["access_token"]
        return token

    def keys(self, admin_token: str | None = None) -> dict[str, Any]:
        """GET /admin/realms/zas/keys: {"active": {alg: kid}, "keys": [{kid, providerId, ...}]}."""
        bearer = admin_token or self.admin_token()
        keys: dict[str, Any] = _json(f"{self.base_url}/admin/realms/{REALM}/keys", bearer=bearer)
        return keys

    def active_signing_kid(self) -> str:
        kid: str = self.keys()["active"]["RS256"]
        return kid

    def rotate_signing_key(self) -> str:
        """Rotate the realm's RS256 signing key the way an operator would: add a new
        rsa-generated key provider with a higher priority than every existing RS256 key. The old
        keys stay enabled and active (still in the JWKS, tokens they signed still verify); tokens
        issued from now on are signed with the new key. Returns the new key's kid."""
        bearer = self.admin_token()
        realm_id = _json(f"{self.base_url}/admin/realms/{REALM}", bearer=bearer)["id"]
        before = self.keys(bearer)
        priorities = [
            int(k.get("providerPriority", 0))
            for k in before["keys"]
            if k.get("algorithm") == "RS256"
        ]
        self._rotations += 1
        component = {
            "name": f"rsa-rotated-{self._rotations}",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id,
            "config": {
                "priority": [str(max(priorities, default=100) + 100)],
                "enabled": ["true"],
                "active": ["true"],
                "algorithm": ["RS256"],
                "keySize": ["2048"],
            },
        }
        status, headers, payload = _request(
            f"{self.base_url}/admin/realms/{REALM}/components", body=component, bearer=bearer
        )
        if status != 201:
            raise KeycloakError(f"creating the key provider: HTTP {status}: {payload[:2000]!r}")
        location = {k.lower(): v for k, v in headers.items()}["location"]
        provider_id = location.rstrip("/").rsplit("/", 1)[-1]
        after = self.keys(bearer)
        new = [
            k["kid"]
            for k in after["keys"]
            if k.get("providerId") == provider_id and k.get("algorithm") == "RS256"
        ]
        if len(new) != 1:
            raise KeycloakError(f"no RS256 key of provider {provider_id} in {after}")
        if after["active"].get("RS256") != new[0]:
            raise KeycloakError(f"the new key {new[0]} is not the active RS256 key: {after}")
        kid: str = new[0]
        return kid


def _make_home(installed: Path, home: Path) -> Path:
    """A Keycloak home of this run's own: bin/ copied (kc.sh takes its home from its own real
    path), lib/ conf/ providers/ themes/ linked to the install, data/import/ holding the realm."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    shutil.copytree(installed / "bin", home / "bin", symlinks=True)
    for name in ("lib", "conf", "providers", "themes", "version.txt"):
        if (installed / name).exists():
            (home / name).symlink_to(installed / name)
    (home / "data" / "import").mkdir(parents=True)
    shutil.copyfile(REALM_FILE, home / "data" / "import" / REALM_FILE.name)
    return home


def _spawn(installed: Path, home: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    # A clean environment for Keycloak: none of the caller's KC_*/QUARKUS_*/JAVA_OPTS* settings.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KC_", "KEYCLOAK_", "QUARKUS_", "JAVA_OPTS", "QUARKUS"))
    }
    env.update(
        JAVA_HOME=java_home(installed),
        KC_BOOTSTRAP_ADMIN_USERNAME=ADMIN_USERNAME,
        KC_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
        JAVA_OPTS_KC_HEAP=os.environ.get("ZAS_KEYCLOAK_HEAP", "-Xms64m -Xmx512m"),
    )
    # C1 only: about 40% less CPU to get to ready on 2 cores (C2 buys nothing in a test run).
    env["JAVA_OPTS_APPEND"] = os.environ.get("ZAS_KEYCLOAK_JAVA_OPTS", "-XX:TieredStopAtLevel=1")
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(home / "bin" / "kc.sh"),
        "start",
        "--optimized",
        "--http-enabled=true",
        "--http-host=127.0.0.1",
        f"--http-port={port}",
        f"--hostname={url}",
        "--hostname-strict=true",
        "--cache=local",
        "--import-realm",
    ]
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            cmd,
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_term_when_parent_dies,
        )


def _term_when_parent_dies() -> None:
    """In the child before exec: SIGTERM kc.sh if the Python process that started it dies
    without stop() (kc.sh passes it on to the JVM), so no Keycloak outlives a killed pytest."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
