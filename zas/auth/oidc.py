"""OIDC bearer tokens from Keycloak (or any OIDC provider): the I/O half.

`OidcVerifier` owns the provider's key set: it finds the JWKS through OIDC Discovery, keeps it
in memory, refreshes it in the background (`run`, started in the server's nursery) and refetches
it when a token names a key it does not know (key rotation), at most once per
`jwks_min_refresh_interval` however many such tokens arrive. All token rules live in the pure
`zas.auth.oidc_token` (re-exported here, so callers import from this one module); this module
only fetches documents and decides *when* to fetch. It knows nothing of requests, policies or
the audit log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

import trio
from joserfc.jwk import KeySet

from zas.auth.oidc_token import (
    IdentityProviderUnavailable,
    OidcSettings,
    UnknownSigningKey,
    WebIdentity,
    parse_discovery,
    parse_jwks,
    policies_for,
    validate_token,
)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "FetchJson",
    "IdentityProviderUnavailable",
    "OidcSettings",
    "OidcVerifier",
    "UnknownSigningKey",
    "WebIdentity",
    "default_fetch_json",
    "now_utc",
    "policies_for",
    "validate_token",
]

log = logging.getLogger(__name__)

# A Keycloak JWKS is a few KiB and its discovery document about 6 KiB; a larger answer is a
# misconfigured URL (or a hostile server) and is not read into memory.
MAX_DOCUMENT_BYTES = 1024 * 1024

# (url, timeout in seconds) -> parsed JSON object. Must raise OSError or ValueError on failure.
FetchJson = Callable[[str, float], Awaitable[dict[str, Any]]]


def now_utc() -> datetime:
    return datetime.now(UTC)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s): urllib's default also follows one to ftp://."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme not in ("http", "https"):
            fp.close()
            raise ValueError(f"refusing redirect from {req.full_url} to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch_json_blocking(url: str, timeout: float) -> dict[str, Any]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"refusing to fetch non-http(s) URL {url}")
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection; left to the GC it leaks a socket
        raise OSError(f"GET {url} answered HTTP {exc.code}, expected 200") from exc
    with response:
        status = response.status
        if status != 200:
            raise ValueError(f"GET {url} answered HTTP {status}, expected 200")
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"GET {url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"GET {url} did not answer a JSON object")
    return document


async def default_fetch_json(url: str, time_limit: float) -> dict[str, Any]:
    """GET a JSON object with urllib in a worker thread (the event loop never blocks on the IdP).

    Non-200 answers, bodies over 1 MiB and non-http(s) URLs or redirects are refused. The
    thread is abandoned if the trio-side deadline passes first; urllib's own socket timeout
    then ends it.
    """
    try:
        with trio.fail_after(time_limit + 1):
            return await trio.to_thread.run_sync(
                _fetch_json_blocking, url, time_limit, abandon_on_cancel=True
            )
    except trio.TooSlowError as exc:
        raise TimeoutError(f"GET {url} took longer than {time_limit} s") from exc


class OidcVerifier:
    """Validates bearer tokens against the issuer's current JWKS, fetching it when needed.

    Concurrency: validation itself never waits. Fetches are serialised by one `trio.Lock`, and
    a caller that waited for the lock while another fetched uses that fetch's result instead of
    fetching again, so a burst of tokens signed with a new key costs one request to the IdP.
    """

    def __init__(
        self,
        settings: OidcSettings,
        *,
        clock: Callable[[], datetime] = now_utc,
        fetch_json: FetchJson | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._fetch_json = fetch_json or default_fetch_json
        self._lock = trio.Lock()
        self._keys: KeySet | None = None
        self._jwks_uri: str | None = None
        self._attempts = 0
        self._last_attempt: datetime | None = None
        self._last_refresh: datetime | None = None
        self._last_error: str | None = None

    # -- state for /health ---------------------------------------------------------------

    @property
    def reachable(self) -> bool:
        """Whether the most recent discovery + JWKS fetch succeeded."""
        return self._last_refresh is not None and self._last_error is None

    @property
    def last_error(self) -> str | None:
        """Why the most recent fetch failed, or None after a success."""
        return self._last_error

    @property
    def last_refresh(self) -> datetime | None:
        """When keys were last fetched successfully."""
        return self._last_refresh

    @property
    def keys(self) -> KeySet | None:
        return self._keys

    # -- tokens --------------------------------------------------------------------------

    async def verify(self, token: str) -> WebIdentity:
        """Validate `token`; on an unknown kid refetch the JWKS (rate-limited) and retry once."""
        attempts_seen = self._attempts
        keys = self._keys
        if keys is None:
            # Never fetched successfully (IdP down at start-up): try now, rate-limited like
            # rotation so a stream of requests does not become a stream of fetches.
            await self._refetch(attempts_seen)
            keys = self._keys
            if keys is None:
                raise IdentityProviderUnavailable(
                    f"identity provider {self.settings.issuer} is unreachable: {self._last_error}"
                )
            attempts_seen = self._attempts
        try:
            return validate_token(token, keys, self.settings, self._clock())
        except UnknownSigningKey:
            await self._refetch(attempts_seen)
            if self._keys is keys or self._keys is None:
                raise
        # A fetch happened since this token was first tried; one retry, no further refetch.
        return validate_token(token, self._keys, self.settings, self._clock())

    async def _refetch(self, attempts_seen: int) -> None:
        async with self._lock:
            if self._attempts != attempts_seen:
                return  # someone fetched while we waited for the lock: use their result
            last = self._last_attempt
            if last is not None and self._clock() - last < self.settings.jwks_min_refresh_interval:
                return
            # A failure is recorded in last_error; the caller reports its own failure.
            with contextlib.suppress(IdentityProviderUnavailable):
                await self._refresh(rediscover=False)

    # -- fetching ------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Fetch the JWKS now (discovery only if not cached); raise IdentityProviderUnavailable."""
        async with self._lock:
            await self._refresh(rediscover=False)

    async def _refresh(self, *, rediscover: bool) -> None:
        self._attempts += 1
        self._last_attempt = self._clock()
        timeout = self.settings.http_timeout
        url = self.settings.discovery_url
        try:
            if rediscover or self._jwks_uri is None:
                self._jwks_uri = parse_discovery(
                    await self._fetch_json(url, timeout), self.settings
                )
            url = self._jwks_uri
            keys, skipped = parse_jwks(await self._fetch_json(url, timeout))
        except (OSError, ValueError) as exc:
            # The JWKS may have moved: look it up again next time.
            self._jwks_uri = None
            self._last_error = f"{url}: {exc}"
            log.warning("OIDC: cannot fetch keys of %s: %s", self.settings.issuer, self._last_error)
            raise IdentityProviderUnavailable(
                f"identity provider {self.settings.issuer} is unreachable: {self._last_error}"
            ) from exc
        for reason in skipped:
            log.debug("OIDC: JWKS %s: skipped %s", url, reason)
        self._keys = keys
        self._last_refresh = self._clock()
        self._last_error = None
        log.info("OIDC: %d signing keys from %s: %s", len(keys.keys), url, [k.kid for k in keys])

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the keys fresh: fetch once (before reporting started), then every jwks_max_age.

        A failed fetch is logged, not raised: the IdP may start after ZAS, and until it does
        bearer tokens fail with IdentityProviderUnavailable while SigV4 keeps working. While
        the IdP is unreachable we retry every jwks_min_refresh_interval so /health recovers
        promptly. Discovery is repeated on each periodic refresh in case the IdP moved its JWKS.
        """
        await self._periodic_refresh()
        task_status.started()
        while True:
            interval = (
                self.settings.jwks_max_age
                if self.reachable
                else self.settings.jwks_min_refresh_interval
            )
            await trio.sleep(interval.total_seconds())
            await self._periodic_refresh()

    async def _periodic_refresh(self) -> None:
        async with self._lock:
            # Logged by _refresh; visible through reachable/last_error.
            with contextlib.suppress(IdentityProviderUnavailable):
                await self._refresh(rediscover=True)
