"""What the enforcement workloads (`get_small_*_enforced`) need on a ZAS server, set up once per
server through the supply-chain JSON API, signed with the root key by the load generator's own
signer (`bench/sigv4.py`).

- A bucket of its own, `bench-enforced`, holding a copy of the GET pool (same key names, same
  4 KiB bodies as `bench`), so the plain bucket and the policy bucket can be compared on one
  server, request by request.
- A server signing key (`POST /supplychain/keys {"algorithm": "ecdsa-p256"}`).
- A verification policy on the bucket (`PUT /supplychain/policy/bench-enforced`):
  `{"mode": "enforce", "require": {"signature": {"keys": [<key id>]}}}`.
- One server-made signature per pool object (`POST /supplychain/sign/<bucket>/<key>?key_id=`).
  Key ids contain ':'; `bench/sigv4.py` percent-encodes query values for the request line and
  the canonical request alike, as SigV4 wants.

Every GET of the bucket then evaluates the policy (`SupplyChain.outcome`, cached per object and
SHA-256, after a metadata lookup of the object) and answers with `x-zas-verification: passed`.
The setup checks that on one object and raises if it is anything else, so a broken setup never
measures a refusal or an unevaluated GET.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from bench.http1 import Endpoint, exchange
from bench.servers import BUCKET

ENFORCED_BUCKET = "bench-enforced"
ALGORITHM = "ecdsa-p256"
VERIFICATION_HEADER = "x-zas-verification"


@attrs.frozen
class EnforcementSetup:
    bucket: str
    key_id: str
    signed: int  # objects signed
    header: str  # x-zas-verification of the probe GET


def policy_document(key_id: str) -> dict[str, Any]:
    return {"mode": "enforce", "require": {"signature": {"keys": [key_id]}}}


def _call(
    root: Endpoint,
    method: str,
    path: str,
    body: bytes = b"",
    query: dict[str, str] | None = None,
    expect: tuple[int, ...] = (200, 201, 204),
) -> Any:
    with root.connect(timeout=30) as sock:
        response = exchange(root, sock, method, path, query, body)
    if response.status not in expect:
        raise RuntimeError(f"{method} {path}: {response.status} {response.body[:300]!r}")
    if response.body and response.headers.get("content-type", "").startswith("application/json"):
        return json.loads(response.body)
    return None


def set_up(
    root: Endpoint, keys: list[str], bucket: str = ENFORCED_BUCKET, body_size: int = 4096
) -> EnforcementSetup:
    """`keys`: object keys (e.g. "small/get-00000"), written into `bucket` unless already
    there with `body_size` bytes, then signed; the policy is set before signing, so the probe
    GET at the end is the first evaluation with all evidence in place."""
    with root.connect(timeout=30) as sock:
        created = exchange(root, sock, "PUT", f"/{bucket}")
        if created.status != 200 and b"BucketAlready" not in created.body:
            raise RuntimeError(f"CreateBucket {bucket}: {created.status} {created.body[:200]!r}")
        for i, key in enumerate(keys):
            body = f"{i:08d}".encode().ljust(body_size, b"z")
            put = exchange(root, sock, "PUT", f"/{bucket}/{key}", body=body)
            if put.status != 200:
                raise RuntimeError(f"PUT {bucket}/{key}: {put.status} {put.body[:200]!r}")
    made = _call(
        root,
        "POST",
        "/supplychain/keys",
        json.dumps({"algorithm": ALGORITHM, "description": "bench enforcement"}).encode(),
    )
    key_id = str(made["key_id"])
    _call(
        root,
        "PUT",
        f"/supplychain/policy/{bucket}",
        json.dumps(policy_document(key_id)).encode(),
    )
    with root.connect(timeout=30) as sock:
        for key in keys:
            signed = exchange(
                root, sock, "POST", f"/supplychain/sign/{bucket}/{key}", {"key_id": key_id}
            )
            if signed.status != 201:
                raise RuntimeError(f"signing {bucket}/{key}: {signed.status} {signed.body[:300]!r}")
        probe = exchange(root, sock, "GET", f"/{bucket}/{keys[0]}")
    header = probe.headers.get(VERIFICATION_HEADER, "")
    if probe.status != 200 or header != "passed":
        raise RuntimeError(
            f"GET {bucket}/{keys[0]} after setup: {probe.status}, "
            f"{VERIFICATION_HEADER}: {header!r} (want 200 and 'passed'): {probe.body[:300]!r}"
        )
    return EnforcementSetup(bucket, key_id, len(keys), header)


def check_plain(root: Endpoint, key: str, bucket: str = BUCKET) -> None:
    """The plain bucket's GET carries no verdict (no policy there)."""
    with root.connect(timeout=30) as sock:
        probe = exchange(root, sock, "GET", f"/{bucket}/{key}")
    if probe.status != 200 or VERIFICATION_HEADER in probe.headers:
        raise RuntimeError(
            f"GET {bucket}/{key}: {probe.status}, {VERIFICATION_HEADER}: "
            f"{probe.headers.get(VERIFICATION_HEADER)!r} (want 200 and no header)"
        )
