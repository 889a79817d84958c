"""What the identity workloads (`get_small_*_user`, `get_small_*_anon`) need on a ZAS server,
set up once per server through its admin API, signed with the root key by the load generator's
own signer (`bench/sigv4.py`, service "s3", as the `zas` CLI does).

- An IAM user, `bench-user`, whose only access is three attached custom policies of five
  statements each: one written for `${aws:username}` home prefixes, one for other buckets and
  prefixes (Allows that do not match, Denies that are checked), and one with conditions
  (`IpAddress aws:SourceIp 127.0.0.0/8` and `DateLessThan aws:CurrentTime` far ahead) whose
  first statement is the one that allows the GET. Nine of the fifteen statements cover
  s3:GetObject (the engine indexes statements by action), so a GET evaluates four Allows that
  do not match, the conditioned Allow that does, four Denies (one with a NotIpAddress
  condition) and the bucket policy's Deny before the identity Allow stands.
- A bucket policy on the bench bucket: an explicit Deny for everyone on an unrelated prefix, a
  public read (`Principal "*"`) of the GET pool for the anonymous workload, and a ListBucket
  grant naming the user. The root account's requests never reach the engine
  (`Authorizer.decide` returns before it), so the root workloads do not see any of this.

The setup checks its result with the engine's dry run (`POST /rbac/authorize`) and says which
statement decided, so a policy change that made the GET pass by another route would show.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from bench.http1 import Endpoint, exchange
from bench.servers import BUCKET

USER = "bench-user"
FAR_FUTURE = "2099-12-31T23:59:59Z"
LOOPBACK = "127.0.0.0/8"


def _arn(rest: str) -> str:
    return f"arn:aws:s3:::{rest}"


def identity_policies(bucket: str = BUCKET) -> dict[str, dict[str, Any]]:
    """The user's three policies, in attachment order (the engine walks them in that order)."""
    home = f"{bucket}/home/${{aws:username}}"
    return {
        "bench-home": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnHomeObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": _arn(f"{home}/*"),
                },
                {
                    "Sid": "ListOwnHome",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": _arn(bucket),
                    "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
                },
                {
                    "Sid": "OwnHomeTags",
                    "Effect": "Allow",
                    "Action": ["s3:GetObjectTagging", "s3:PutObjectTagging"],
                    "Resource": _arn(f"{home}/*"),
                },
                {
                    "Sid": "NoAdminHome",
                    "Effect": "Deny",
                    "Action": "s3:*",
                    "Resource": _arn(f"{bucket}/home/admin/*"),
                },
                {
                    "Sid": "OwnSharedBucket",
                    "Effect": "Allow",
                    "Action": "s3:Get*",
                    "Resource": _arn("shared-${aws:username}/*"),
                },
            ],
        },
        "bench-releases": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadReleases",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": _arn("releases/*"),
                },
                {
                    "Sid": "ListReleases",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": _arn("releases"),
                },
                {
                    "Sid": "ReleasesAreImmutable",
                    "Effect": "Deny",
                    "Action": ["s3:PutObject", "s3:DeleteObject"],
                    "Resource": _arn("releases/*"),
                },
                {
                    "Sid": "NoSecrets",
                    "Effect": "Deny",
                    "Action": "s3:GetObject",
                    "Resource": _arn(f"{bucket}/secrets/*"),
                },
                {
                    "Sid": "ReadJsonReports",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectTagging"],
                    "Resource": _arn(f"{bucket}/reports/*.json"),
                },
            ],
        },
        "bench-network": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "GetSmallFromLoopback",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": _arn(f"{bucket}/small/*"),
                    "Condition": {
                        "IpAddress": {"aws:SourceIp": LOOPBACK},
                        "DateLessThan": {"aws:CurrentTime": FAR_FUTURE},
                    },
                },
                {
                    "Sid": "PutSmallFromLoopback",
                    "Effect": "Allow",
                    "Action": "s3:PutObject",
                    "Resource": _arn(f"{bucket}/small/*"),
                    "Condition": {"IpAddress": {"aws:SourceIp": LOOPBACK}},
                },
                {
                    "Sid": "ListSmall",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": _arn(bucket),
                    "Condition": {"StringLike": {"s3:prefix": "small/*"}},
                },
                {
                    "Sid": "NothingFromElsewhere",
                    "Effect": "Deny",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"NotIpAddress": {"aws:SourceIp": [LOOPBACK, "10.0.0.0/8"]}},
                },
                {
                    "Sid": "NoQuarantine",
                    "Effect": "Deny",
                    "Action": "s3:GetObject",
                    "Resource": _arn(f"{bucket}/quarantine/*"),
                },
            ],
        },
    }


def bucket_policy(bucket: str = BUCKET, user: str = USER) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NobodyInPrivate",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": _arn(f"{bucket}/private/*"),
            },
            {
                "Sid": "PublicReadOfTheGetPool",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": _arn(f"{bucket}/small/get-*"),
            },
            {
                "Sid": "BenchUserLists",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam:::user/{user}"},
                "Action": "s3:ListBucket",
                "Resource": _arn(bucket),
            },
        ],
    }


@attrs.frozen
class AuthSetup:
    user: Endpoint  # the root endpoint with the user's access key
    user_decided_by: str  # "policy#Sid" the dry run names for a GET of the pool
    anon_decided_by: str


def _call(
    root: Endpoint,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    expect: tuple[int, ...] = (200, 201, 204),
) -> Any:
    data = b"" if body is None else json.dumps(body).encode()
    with root.connect(timeout=30) as sock:
        response = exchange(root, sock, method, path, query, data)
    if response.status not in expect:
        raise RuntimeError(f"{method} {path}: {response.status} {response.body[:300]!r}")
    if response.body and response.headers.get("content-type", "").startswith("application/json"):
        return json.loads(response.body)
    return None


def _decided_by(root: Endpoint, principal: dict[str, Any], resource: str) -> str:
    answer = _call(
        root,
        "POST",
        "/rbac/authorize",
        {
            "principal": principal,
            "action": "s3:GetObject",
            "resource": resource,
            "context": {"aws:SourceIp": "127.0.0.1"},
        },
    )
    if not answer or not answer.get("allowed"):
        raise RuntimeError(f"the dry run refuses the GET for {principal}: {answer}")
    statement = answer.get("statement") or {}
    return f"{statement.get('policy')}#{statement.get('sid')}"


def set_up(root: Endpoint, probe_key: str, bucket: str = BUCKET, user: str = USER) -> AuthSetup:
    """Create the policies, the user and its key, and the bucket policy; `probe_key` (an
    object of the GET pool, e.g. "small/get-00000") is what the dry run is asked about."""
    policies = identity_policies(bucket)
    for policy_id, document in policies.items():
        _call(
            root,
            "POST",
            "/rbac/policies",
            {"id": policy_id, "document": document, "description": "bench identity workload"},
        )
    _call(root, "POST", "/admin/users", {"name": user, "policies": list(policies)})
    key = _call(root, "POST", f"/admin/users/{user}/keys")
    _call(root, "PUT", f"/{bucket}", bucket_policy(bucket, user), query={"policy": ""})
    resource = _arn(f"{bucket}/{probe_key}")
    return AuthSetup(
        user=attrs.evolve(
            root, access_key=key["access_key_id"], secret_key=key["secret_access_key"]
        ),
        user_decided_by=_decided_by(root, {"user": user}, resource),
        anon_decided_by=_decided_by(root, {"anonymous": True}, resource),
    )
