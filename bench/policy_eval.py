"""Micro-benchmark of the policy engine: microseconds per `authorize` decision.

    .venv/bin/python -m bench.policy_eval [--runs 7] [--seconds 0.2]

The set is what a realistic non-root user carries: three identity policies of five statements
each (read, write-own-home, management, supply chain; a couple of Denies) and one bucket policy
of four statements. Each scenario is timed in its own loop; the figure printed is the median of
`--runs` runs. The issue's budget is auth < 10% of a small GET; at the ~400-5,000 GETs/s ZAS
serves on the 2-core machine that is 20-250 µs per request, so this should print single digits.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from zas.auth.policy import AuthzRequest, Decision, Policy, authorize, parse_policy

ALICE = "arn:aws:iam:::user/alice"
BUCKET = "artifacts"
B = f"arn:aws:s3:::{BUCKET}"


def _policy(name: str, statements: list[dict[str, Any]], bucket: str | None = None) -> Policy:
    document = {"Version": "2012-10-17", "Statement": statements}
    return parse_policy(document, policy_id=name, bucket=bucket)


def plain_policies() -> list[Policy]:
    """Three identity policies, no conditions."""
    return [
        _policy(
            "management",
            [
                {"Effect": "Allow", "Action": ["zas:GetUser", "zas:ListUsers"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "zas:*AccessKey*",
                    "Resource": "arn:zas:iam:::user/alice",
                },
                {"Effect": "Allow", "Action": "zas:Authorize", "Resource": "*"},
                {"Effect": "Deny", "Action": "zas:*Policy", "Resource": "*"},
                {"Effect": "Allow", "Action": ["zas:ReadAudit", "zas:QueryAudit"], "Resource": "*"},
            ],
        ),
        _policy(
            "supply-chain",
            [
                {"Effect": "Allow", "Action": "zas:Get*", "Resource": f"{B}/*"},
                {"Effect": "Allow", "Action": "zas:VerifyObject", "Resource": f"{B}/*"},
                {
                    "Effect": "Allow",
                    "Action": ["zas:PutSbom", "zas:PutAttestation"],
                    "Resource": f"{B}/releases/*",
                },
                {"Effect": "Deny", "Action": "zas:Manage*", "Resource": "*"},
                {"Effect": "Allow", "Action": "zas:SignObject", "Resource": f"{B}/releases/*"},
            ],
        ),
        _policy(
            "artifacts-rw",
            [
                {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": B,
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectTagging"],
                    "Resource": f"{B}/*",
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                    "Resource": f"{B}/home/alice/*",
                },
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{B}/releases/*"},
            ],
        ),
    ]


def conditional_policies() -> list[Policy]:
    """The same shape, with variables and the issue's condition operators on the S3 side."""
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    return [
        *plain_policies()[:2],
        _policy(
            "artifacts-rw-conditional",
            [
                {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": B,
                    "Condition": {
                        "StringLike": {"s3:prefix": ["home/${aws:username}/*", "releases/*"]},
                        "NumericLessThanEquals": {"s3:max-keys": "1000"},
                    },
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectTagging"],
                    "Resource": f"{B}/*",
                    "Condition": {
                        **tls,
                        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
                        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                    },
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                    "Resource": f"{B}/home/${{aws:username}}/*",
                    "Condition": tls,
                },
                {
                    "Effect": "Deny",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {
                        "NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}
                    },
                },
            ],
        ),
    ]


def bucket_policy() -> Policy:
    return _policy(
        f"bucket:{BUCKET}",
        [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"{B}/public/*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam:::user/ci"},
                "Action": "s3:PutObject",
                "Resource": f"{B}/releases/*",
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [B, f"{B}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": B},
        ],
        bucket=BUCKET,
    )


CONTEXT = {
    "aws:username": "alice",
    "aws:userid": "AIDALICE",
    "aws:sourceip": "10.20.30.40",
    "aws:securetransport": "true",
    "aws:currenttime": "2026-11-27T12:00:00Z",
    "aws:epochtime": "1795780800",
    "aws:principaltype": "User",
}


def _user(action: str, resource: str, **extra: str) -> AuthzRequest:
    return AuthzRequest(action, resource, frozenset({ALICE}), False, {**CONTEXT, **extra})


Scenario = tuple[str, AuthzRequest, Sequence[Policy], Policy | None, bool]


def scenarios() -> list[Scenario]:
    plain, conditional, bucket = plain_policies(), conditional_policies(), bucket_policy()
    get = _user("s3:GetObject", f"{B}/releases/v1/app.tar.gz")
    put_home = _user("s3:PutObject", f"{B}/home/alice/build.log")
    listing = _user("s3:ListBucket", B, **{"s3:prefix": "home/alice/", "s3:max-keys": "1000"})
    denied = _user("s3:PutObject", f"{B}/releases/v1/app.tar.gz")
    anonymous = AuthzRequest("s3:GetObject", f"{B}/public/logo.png", frozenset(), True, CONTEXT)
    return [
        ("GetObject allowed, no conditions", get, plain, bucket, True),
        ("GetObject allowed, conditions", get, conditional, bucket, True),
        ("PutObject own home, variable+cond", put_home, conditional, bucket, True),
        ("ListBucket prefix+max-keys", listing, conditional, bucket, True),
        ("PutObject implicit deny (full scan)", denied, conditional, bucket, False),
        ("anonymous GetObject via Principal *", anonymous, conditional, bucket, True),
    ]


def _time(call: Callable[[], Decision], seconds: float) -> float:
    """µs per call over a loop of about `seconds`."""
    n = 1
    while True:  # calibrate
        start = time.perf_counter()
        for _ in range(n):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4:
            break
        n *= 2
    n = max(1, int(n * seconds / elapsed))
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2, help="per run")
    args = parser.parse_args(argv)

    print(f"{'scenario':<40} {'µs/decision':>12}  (median of {args.runs} runs)")
    for name, req, identities, bucket, expect_allowed in scenarios():
        decision = authorize(req, identities, bucket)
        assert decision.allowed is expect_allowed, (name, decision)

        def call(
            req: AuthzRequest = req, ids: Sequence[Policy] = identities, bp: Policy | None = bucket
        ) -> Decision:
            return authorize(req, ids, bp)

        runs = [_time(call, args.seconds) for _ in range(args.runs)]
        print(f"{name:<40} {statistics.median(runs):>12.2f}")

    started = time.perf_counter()
    for _ in range(100):
        conditional_policies()
        bucket_policy()
    parse_ms = (time.perf_counter() - started) / 100 * 1e3
    print(f"{'(parse+compile the 4 policies, ms)':<40} {parse_ms:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
