"""OidcVerifier against a real HTTP identity provider on 127.0.0.1: discovery, JWKS caching,
refetch on key rotation, the refetch rate limit, an IdP that starts late, and the guards of the
default fetcher. The IdP is a stdlib http.server in a thread serving Keycloak's URL layout from
a key set the test swaps; time for the rate limit comes from an injected clock."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trio
import trio.testing
from joserfc import jwt
from joserfc.jwk import Key, RSAKey

from zas.auth.oidc import (
    MAX_DOCUMENT_BYTES,
    IdentityProviderUnavailable,
    OidcSettings,
    OidcVerifier,
    UnknownSigningKey,
    default_fetch_json,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REALM = "/realms/zas"
DISCOVERY = REALM + "/.well-known/openid-configuration"
CERTS = REALM + "/protocol/openid-connect/certs"


def rsa(kid: str) -> RSAKey:
    return RSAKey.import_key({**RSAKey.generate_key(2048).as_dict(private=True), "kid": kid})


KEY_A = rsa("key-a")
KEY_B = rsa("key-b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FakeKeycloak:
    """Keycloak's discovery and certs endpoints over real HTTP; `keys` and `overrides` can be
    changed while it runs, `hits` counts requests per path."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}{REALM}"
        self.keys: list[Key] = [KEY_A]
        self.discovery_issuer = self.issuer
        # path -> (status, body, extra headers)
        self.overrides: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.delay = 0.0
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def answer(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.hits[path] += 1
        if path in self.overrides:
            return self.overrides[path]
        document: dict[str, Any]
        if path == DISCOVERY:
            document = {
                "issuer": self.discovery_issuer,
                "jwks_uri": f"http://127.0.0.1:{self.port}{CERTS}",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        elif path == CERTS:
            document = {
                "keys": [
                    {**k.as_dict(private=False), "use": "sig", "alg": "RS256"} for k in self.keys
                ]
            }
        else:
            return 404, b'{"error": "not found"}', {}
        return 200, json.dumps(document).encode(), {}

    @contextmanager
    def running(self) -> Iterator[FakeKeycloak]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, headers = idp.answer(self.path)
                if idp.delay:
                    time.sleep(idp.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is expected in one test

        server = Server(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


@pytest.fixture
def idp() -> Iterator[FakeKeycloak]:
    with FakeKeycloak().running() as server:
        yield server


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def settings_for(issuer: str) -> OidcSettings:
    return OidcSettings(issuer=issuer, audiences=("zas",), client_id="zas", http_timeout=2.0)


def token(issuer: str, key: Key, kid: str | None = None, sub: str = "alice") -> str:
    claims = {
        "iss": issuer,
        "sub": sub,
        "aud": "zas",
        "exp": int((NOW + timedelta(minutes=10)).timestamp()),
        "iat": int(NOW.timestamp()),
        "realm_access": {"roles": ["developer"]},
    }
    return jwt.encode({"alg": "RS256", "kid": kid or key.kid}, claims, key)


def test_given_rotated_key_when_token_has_new_kid_then_one_refetch_and_valid(
    idp: FakeKeycloak,
) -> None:
    async def main() -> None:
        clock = Clock()
        verifier = OidcVerifier(settings_for(idp.issuer), clock=clock)
        await verifier.refresh()
        assert verifier.reachable and verifier.last_refresh == NOW
        assert (await verifier.verify(token(idp.issuer, KEY_A))).roles == {"developer"}
        assert idp.hits == {DISCOVERY: 1, CERTS: 1}

        # The IdP rotates: new tokens are signed with key B, which we have not seen.
        idp.keys = [KEY_B, KEY_A]
        clock.advance(31)
        identity = await verifier.verify(token(idp.issuer, KEY_B, sub="bob"))
        assert identity.subject == "bob" and identity.key_id == "key-b"
        # Exactly one refetch, and discovery stayed cached.
        assert idp.hits == {DISCOVERY: 1, CERTS: 2}
        await verifier.verify(token(idp.issuer, KEY_B))
        await verifier.verify(token(idp.issuer, KEY_A))
        assert idp.hits[CERTS] == 2

    trio.run(main)


def test_given_flood_of_unknown_kids_then_at_most_one_fetch_per_interval(
    idp: FakeKeycloak,
) -> None:
    async def main() -> None:
        clock = Clock()
        verifier = OidcVerifier(settings_for(idp.issuer), clock=clock)
        await verifier.refresh()
        clock.advance(31)
        errors: list[Exception] = []

        async def attempt(index: int) -> None:
            try:
                await verifier.verify(token(idp.issuer, KEY_B, kid=f"rogue-{index}"))
            except UnknownSigningKey as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            for index in range(50):
                nursery.start_soon(attempt, index)
        assert len(errors) == 50
        assert idp.hits[CERTS] == 2, "50 concurrent unknown kids shared one refetch"

        clock.advance(29)  # still inside jwks_min_refresh_interval of that refetch
        for index in range(20):
            await attempt(100 + index)
        assert idp.hits[CERTS] == 2

        clock.advance(2)
        await attempt(200)
        assert idp.hits[CERTS] == 3
        assert len(errors) == 71
        assert "unknown signing key kid=rogue-200" in errors[-1].args[0]

    trio.run(main)


def test_given_idp_down_at_start_when_it_comes_up_then_tokens_validate() -> None:
    idp = FakeKeycloak()  # nothing listens on its port yet

    async def main() -> None:
        clock = Clock()
        verifier = OidcVerifier(settings_for(idp.issuer), clock=clock)
        async with trio.open_nursery() as nursery:
            # The background task's failed first fetch is logged, not raised.
            await nursery.start(verifier.run)
            nursery.cancel_scope.cancel()
        assert not verifier.reachable and verifier.last_error is not None

        good = token(idp.issuer, KEY_A)
        clock.advance(31)
        with pytest.raises(IdentityProviderUnavailable, match="is unreachable") as info:
            await verifier.verify(good)
        assert idp.issuer in info.value.message
        assert not verifier.reachable and verifier.last_error is not None

        with idp.running():
            # Within the rate limit nothing is fetched, so the failure is reported again.
            with pytest.raises(IdentityProviderUnavailable):
                await verifier.verify(good)
            assert idp.hits[CERTS] == 0
            clock.advance(31)
            assert (await verifier.verify(good)).subject == "alice"
            assert verifier.reachable and verifier.last_error is None
            assert verifier.last_refresh == clock.now

    trio.run(main)


def test_given_discovery_names_other_issuer_then_refresh_fails(idp: FakeKeycloak) -> None:
    idp.discovery_issuer = "http://127.0.0.1:1/realms/evil"

    async def main() -> None:
        verifier = OidcVerifier(settings_for(idp.issuer), clock=Clock())
        with pytest.raises(IdentityProviderUnavailable, match="realms/evil"):
            await verifier.refresh()
        assert verifier.keys is None and not verifier.reachable

    trio.run(main)


def test_given_jwks_error_then_keys_kept_and_discovery_repeated(idp: FakeKeycloak) -> None:
    async def main() -> None:
        verifier = OidcVerifier(settings_for(idp.issuer), clock=Clock())
        await verifier.refresh()
        keys = verifier.keys
        idp.overrides[CERTS] = (500, b"{}", {})
        with pytest.raises(IdentityProviderUnavailable, match="HTTP 500"):
            await verifier.refresh()
        assert verifier.keys is keys, "a failed refresh keeps the keys we had"
        assert not verifier.reachable
        del idp.overrides[CERTS]
        await verifier.refresh()
        assert idp.hits[DISCOVERY] == 2, "the JWKS may have moved: discovery is repeated"
        assert verifier.reachable

    trio.run(main)


def test_run_refreshes_every_max_age_and_retries_sooner_while_unreachable() -> None:
    issuer = "http://idp.invalid/realms/zas"
    calls: list[str] = []
    state = {"down": False}

    async def fetch(url: str, time_limit: float) -> dict[str, Any]:
        calls.append(url)
        if state["down"]:
            raise OSError("connection refused")
        if url.endswith("openid-configuration"):
            return {"issuer": issuer, "jwks_uri": "http://idp.invalid/certs"}
        return {"keys": [KEY_A.as_dict(private=False)]}

    async def main() -> None:
        verifier = OidcVerifier(settings_for(issuer), fetch_json=fetch)
        async with trio.open_nursery() as nursery:
            await nursery.start(verifier.run)
            assert len(calls) == 2 and verifier.reachable
            await trio.sleep(3599)
            assert len(calls) == 2
            await trio.sleep(2)
            assert len(calls) == 4, "hourly refresh repeats discovery and the JWKS fetch"
            state["down"] = True
            await trio.sleep(3600)
            assert len(calls) == 5 and not verifier.reachable
            state["down"] = False
            await trio.sleep(31)  # unreachable: retried after jwks_min_refresh_interval
            assert len(calls) == 7 and verifier.reachable
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


# -- the default fetcher ---------------------------------------------------------------------


def fetch(url: str, time_limit: float = 2.0) -> dict[str, Any]:
    return trio.run(default_fetch_json, url, time_limit)


def test_default_fetch_refuses_non_200_large_non_object_and_non_http(idp: FakeKeycloak) -> None:
    base = f"http://127.0.0.1:{idp.port}"
    assert fetch(base + DISCOVERY)["issuer"] == idp.issuer
    with pytest.raises(OSError, match="404"):
        fetch(base + "/nowhere")
    idp.overrides["/nocontent"] = (204, b"", {})
    with pytest.raises(ValueError, match="HTTP 204, expected 200"):
        fetch(base + "/nocontent")
    idp.overrides["/big"] = (200, b" " * MAX_DOCUMENT_BYTES + b"{}", {})
    with pytest.raises(ValueError, match="more than 1048576 bytes"):
        fetch(base + "/big")
    idp.overrides["/list"] = (200, b"[1, 2]", {})
    with pytest.raises(ValueError, match="not answer a JSON object"):
        fetch(base + "/list")
    idp.overrides["/html"] = (200, b"<html>", {})
    with pytest.raises(ValueError):
        fetch(base + "/html")
    with pytest.raises(ValueError, match="non-http"):
        fetch("file:///etc/passwd")
    idp.overrides["/redirect"] = (302, b"", {"Location": "ftp://127.0.0.1/jwks"})
    with pytest.raises(ValueError, match="refusing redirect"):
        fetch(base + "/redirect")
    idp.overrides["/redirect"] = (302, b"", {"Location": "file:///etc/passwd"})
    with pytest.raises(OSError, match="HTTP 302"):
        fetch(base + "/redirect")
    idp.overrides["/moved"] = (302, b"", {"Location": base + DISCOVERY})
    assert fetch(base + "/moved")["issuer"] == idp.issuer


def test_default_fetch_times_out(idp: FakeKeycloak) -> None:
    idp.delay = 1.0
    with pytest.raises(OSError):
        fetch(f"http://127.0.0.1:{idp.port}{DISCOVERY}", 0.2)
