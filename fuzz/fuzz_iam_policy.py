"""Fuzz target: IAM policy documents (`zas.auth.policy`).

The input is a policy document (JSON text), parsed both as an identity policy and as a
bucket policy for bucket "b". Invariant: parsing returns a `Policy` or raises `MalformedPolicy`
(an `S3Error`); a policy that parses can decide a few fixed requests (allowed or not) without
raising, and the decision names a statement of that policy or none.
"""

from __future__ import annotations

from fuzz._harness import attempt, run
from zas.auth.policy import AuthzRequest, Policy, authorize, parse_policy

REQUESTS = (
    AuthzRequest(
        "s3:GetObject",
        "arn:aws:s3:::b/home/alice/x",
        frozenset({"arn:aws:iam:::user/alice"}),
        False,
        {
            "aws:username": "alice",
            "aws:sourceip": "127.0.0.1",
            "aws:currenttime": "2026-11-27T12:00:00Z",
            "aws:securetransport": "false",
            "s3:prefix": "home/",
            "s3:max-keys": "1000",
        },
    ),
    AuthzRequest("s3:PutObject", "arn:aws:s3:::b/x", frozenset(), True, {}),
    AuthzRequest("zas:CreateUser", "arn:zas:iam:::user/bob", frozenset(), False, {}),
)


def check(policy: Policy, *, bucket: bool) -> None:
    for request in REQUESTS:
        decision = authorize(request, (), policy) if bucket else authorize(request, (policy,), None)
        assert decision.effect in ("Allow", "Deny")
        if decision.statement is not None:
            assert decision.statement.policy_id == policy.id
            assert 0 <= decision.statement.index < len(policy.statements)


def test_one_input(data: bytes) -> None:
    identity = attempt(parse_policy, data, policy_id="fuzz")
    if identity is not None:
        check(identity, bucket=False)
    bucket = attempt(parse_policy, data, policy_id="bucket:b", bucket="b")
    if bucket is not None:
        check(bucket, bucket=True)


def main() -> None:
    run(test_one_input)


if __name__ == "__main__":
    main()
