"""A small AWS SigV4 header signer for the load generator.

botocore signs one request in ~200 us; this one caches the signing key per day and costs a few
HMACs, so thousands of requests can be pre-signed up front. Bodies are declared
UNSIGNED-PAYLOAD (as presigned URLs and HTTPS SDK clients do), so the server still hashes what
it stores but the client does not have to hash gigabytes before sending."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import quote

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class Signer:
    def __init__(self, access_key: str, secret_key: str, region: str = "us-east-1") -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self._keys: dict[str, bytes] = {}

    def _signing_key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = _hmac(("AWS4" + self.secret_key).encode(), day)
            for part in (self.region, "s3", "aws4_request"):
                key = _hmac(key, part)
            self._keys[day] = key
        return key

    def headers(
        self,
        method: str,
        host: str,
        path: str,
        query: dict[str, str] | None = None,
        now: dt.datetime | None = None,
    ) -> dict[str, str]:
        """Headers (Host, X-Amz-*, Authorization) for `method path?query`; `path` is sent as is
        (callers use keys that need no percent-encoding)."""
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        canonical_query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
            for k, v in sorted((query or {}).items())
        )
        canonical_headers = (
            f"host:{host}\nx-amz-content-sha256:{UNSIGNED_PAYLOAD}\nx-amz-date:{stamp}\n"
        )
        signed = "host;x-amz-content-sha256;x-amz-date"
        canonical = "\n".join(
            (method, path, canonical_query, canonical_headers, signed, UNSIGNED_PAYLOAD)
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ("AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest())
        )
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "Host": host,
            "X-Amz-Content-Sha256": UNSIGNED_PAYLOAD,
            "X-Amz-Date": stamp,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                f"SignedHeaders={signed}, Signature={signature}"
            ),
        }


def query_string(query: dict[str, str] | None) -> str:
    """The query as sent on the request line (same encoding as the canonical form)."""
    if not query:
        return ""
    return "?" + "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" if v else quote(k, safe="-_.~")
        for k, v in sorted(query.items())
    )
