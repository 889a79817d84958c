"""authorize(): identity policies and the bucket policy combined as AWS does in one account.

Explicit Deny anywhere (that applies) beats any Allow; an Allow from either side suffices;
otherwise implicit deny. Anonymous callers only get what a bucket policy grants to "*".
"""

from __future__ import annotations

from typing import Any

import pytest

from zas.auth.policy import AuthzRequest, Decision, Policy, authorize, parse_policy

ALICE = "arn:aws:iam:::user/alice"
BOB = "arn:aws:iam:::user/bob"
OBJECT = "arn:aws:s3:::b/k"


def identity(name: str, effect: str, action: str = "s3:GetObject", **extra: Any) -> Policy:
    statement = {"Effect": effect, "Action": action, "Resource": "*", **extra}
    return parse_policy({"Version": "2012-10-17", "Statement": [statement]}, policy_id=name)


def bucket(*statements: dict[str, Any]) -> Policy:
    return parse_policy(
        {"Version": "2012-10-17", "Statement": list(statements)}, policy_id="bucket:b", bucket="b"
    )


def stmt(effect: str, principal: Any, action: str = "s3:GetObject", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": OBJECT, **extra}


def as_user(principal: str = ALICE, action: str = "s3:GetObject", **context: str) -> AuthzRequest:
    return AuthzRequest(action, OBJECT, frozenset({principal}), False, context)


ANONYMOUS = AuthzRequest("s3:GetObject", OBJECT, frozenset(), True, {})

ALLOW_ID = identity("allow-read", "Allow")
DENY_ID = identity("deny-read", "Deny")
UNRELATED_ID = identity("put-only", "Allow", "s3:PutObject")

ALLOW_ALL = bucket(stmt("Allow", "*"))
ALLOW_ALICE = bucket(stmt("Allow", {"AWS": ALICE}))
ALLOW_AWS_STAR = bucket(stmt("Allow", {"AWS": "*"}))
DENY_ALL = bucket(stmt("Deny", "*"))
DENY_ALICE = bucket(stmt("Deny", {"AWS": [BOB, ALICE]}))
DENY_BOB = bucket(stmt("Deny", {"AWS": BOB}))
ALLOW_ALL_BUT_BOB = bucket(
    {"Effect": "Allow", "NotPrincipal": {"AWS": BOB}, "Action": "s3:GetObject", "Resource": OBJECT}
)
DENY_ALL_BUT_ALICE = bucket(
    {"Effect": "Deny", "NotPrincipal": {"AWS": ALICE}, "Action": "s3:GetObject", "Resource": OBJECT}
)

COMBINATIONS: list[tuple[str, AuthzRequest, list[Policy], Policy | None, str, bool, str | None]] = [
    # (case, request, identity policies, bucket policy, effect, explicit, deciding statement)
    ("nothing at all", as_user(), [], None, "Deny", False, None),
    ("identity allow", as_user(), [ALLOW_ID], None, "Allow", True, "allow-read#Statement[0]"),
    ("unrelated identity", as_user(), [UNRELATED_ID], None, "Deny", False, None),
    (
        "identity deny beats identity allow",
        as_user(),
        [ALLOW_ID, DENY_ID],
        None,
        "Deny",
        True,
        "deny-read#Statement[0]",
    ),
    (
        "order does not matter",
        as_user(),
        [DENY_ID, ALLOW_ID],
        None,
        "Deny",
        True,
        "deny-read#Statement[0]",
    ),
    (
        "bucket allow without identity policy",
        as_user(),
        [],
        ALLOW_ALICE,
        "Allow",
        True,
        "bucket:b#Statement[0]",
    ),
    ("bucket allow to everyone", as_user(), [], ALLOW_ALL, "Allow", True, "bucket:b#Statement[0]"),
    (
        'bucket allow to {"AWS": "*"}',
        as_user(),
        [],
        ALLOW_AWS_STAR,
        "Allow",
        True,
        "bucket:b#Statement[0]",
    ),
    ("bucket allow for someone else", as_user(BOB), [], ALLOW_ALICE, "Deny", False, None),
    (
        "bucket deny beats identity allow",
        as_user(),
        [ALLOW_ID],
        DENY_ALL,
        "Deny",
        True,
        "bucket:b#Statement[0]",
    ),
    (
        "bucket deny naming the caller",
        as_user(),
        [ALLOW_ID],
        DENY_ALICE,
        "Deny",
        True,
        "bucket:b#Statement[0]",
    ),
    (
        "bucket deny for someone else",
        as_user(),
        [ALLOW_ID],
        DENY_BOB,
        "Allow",
        True,
        "allow-read#Statement[0]",
    ),
    (
        "identity deny beats bucket allow",
        as_user(),
        [DENY_ID],
        ALLOW_ALICE,
        "Deny",
        True,
        "deny-read#Statement[0]",
    ),
    (
        "both allow: identity reported",
        as_user(),
        [ALLOW_ID],
        ALLOW_ALICE,
        "Allow",
        True,
        "allow-read#Statement[0]",
    ),
    (
        "NotPrincipal allow: not bob",
        as_user(),
        [],
        ALLOW_ALL_BUT_BOB,
        "Allow",
        True,
        "bucket:b#Statement[0]",
    ),
    ("NotPrincipal allow: bob", as_user(BOB), [], ALLOW_ALL_BUT_BOB, "Deny", False, None),
    (
        "NotPrincipal deny: alice exempt",
        as_user(),
        [ALLOW_ID],
        DENY_ALL_BUT_ALICE,
        "Allow",
        True,
        "allow-read#Statement[0]",
    ),
    (
        "NotPrincipal deny: bob denied",
        as_user(BOB),
        [ALLOW_ID],
        DENY_ALL_BUT_ALICE,
        "Deny",
        True,
        "bucket:b#Statement[0]",
    ),
    # anonymous callers
    ("anonymous via Principal *", ANONYMOUS, [], ALLOW_ALL, "Allow", True, "bucket:b#Statement[0]"),
    (
        'anonymous via {"AWS": "*"}',
        ANONYMOUS,
        [],
        ALLOW_AWS_STAR,
        "Allow",
        True,
        "bucket:b#Statement[0]",
    ),
    ("anonymous not granted by identity policy", ANONYMOUS, [ALLOW_ID], None, "Deny", False, None),
    ("anonymous not granted by a named principal", ANONYMOUS, [], ALLOW_ALICE, "Deny", False, None),
    (
        "anonymous and a bucket deny to *",
        ANONYMOUS,
        [],
        DENY_ALL,
        "Deny",
        True,
        "bucket:b#Statement[0]",
    ),
    (
        "anonymous is not exempt by NotPrincipal",
        ANONYMOUS,
        [],
        DENY_ALL_BUT_ALICE,
        "Deny",
        True,
        "bucket:b#Statement[0]",
    ),
    (
        "anonymous allowed by NotPrincipal allow",
        ANONYMOUS,
        [],
        ALLOW_ALL_BUT_BOB,
        "Allow",
        True,
        "bucket:b#Statement[0]",
    ),
    (
        "anonymous identity deny is ignored too",
        ANONYMOUS,
        [DENY_ID],
        ALLOW_ALL,
        "Allow",
        True,
        "bucket:b#Statement[0]",
    ),
]


@pytest.mark.parametrize(
    ("case", "req", "identities", "bucket_policy", "effect", "explicit", "statement"),
    COMBINATIONS,
    ids=[c[0] for c in COMBINATIONS],
)
def test_combination(
    case: str,
    req: AuthzRequest,
    identities: list[Policy],
    bucket_policy: Policy | None,
    effect: str,
    explicit: bool,
    statement: str | None,
) -> None:
    decision = authorize(req, identities, bucket_policy)
    assert decision.effect == effect
    assert decision.explicit is explicit
    assert (None if decision.statement is None else str(decision.statement)) == statement


def test_principal_match_is_exact() -> None:
    policy = bucket(stmt("Allow", {"AWS": ALICE}))
    assert not authorize(as_user("arn:aws:iam:::user/alice2"), [], policy).allowed
    assert not authorize(as_user("arn:aws:iam:::user/ALICE"), [], policy).allowed
    several = AuthzRequest("s3:GetObject", OBJECT, frozenset({"x", ALICE}), False, {})
    assert authorize(several, [], policy).allowed


def test_bucket_statement_must_match_action_resource_and_condition() -> None:
    policy = bucket(
        stmt("Allow", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    )
    assert authorize(as_user(**{"aws:sourceip": "10.0.0.1"}), [], policy).allowed
    assert not authorize(as_user(**{"aws:sourceip": "11.0.0.1"}), [], policy).allowed
    assert not authorize(
        as_user(action="s3:PutObject", **{"aws:sourceip": "10.0.0.1"}), [], policy
    ).allowed
    other = AuthzRequest(
        "s3:GetObject",
        "arn:aws:s3:::b/other",
        frozenset({ALICE}),
        False,
        {"aws:sourceip": "10.0.0.1"},
    )
    assert not authorize(other, [], policy).allowed


def test_conditional_deny_in_bucket_policy() -> None:
    """The classic "deny unless TLS" bucket policy beats an identity allow only over plain HTTP."""
    policy = bucket(
        stmt("Allow", "*"),
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    tls = authorize(as_user(**{"aws:securetransport": "true"}), [ALLOW_ID], policy)
    plain = authorize(as_user(**{"aws:securetransport": "false"}), [ALLOW_ID], policy)
    assert tls.allowed
    assert (plain.effect, plain.explicit, str(plain.statement)) == (
        "Deny",
        True,
        "bucket:b#Statement[1]",
    )


def test_first_deny_reported_across_policies() -> None:
    first = identity("first", "Deny")
    second = identity("second", "Deny")
    decision = authorize(as_user(), [ALLOW_ID, first, second], DENY_ALL)
    assert decision == Decision(
        "Deny", True, first.statements[0].ref, "explicitly denied by first#Statement[0]"
    )


def test_deny_after_allow_in_same_policy_still_wins() -> None:
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:GetObject", "Resource": OBJECT},
            ],
        },
        policy_id="mixed",
    )
    decision = authorize(as_user(), [policy], None)
    assert (decision.effect, str(decision.statement)) == ("Deny", "mixed#Statement[2]")
    allowed = authorize(as_user(action="s3:PutObject"), [policy], None)
    assert str(allowed.statement) == "mixed#Statement[0]"


def test_anonymous_request_matches_no_named_principal() -> None:
    confused = AuthzRequest("s3:GetObject", OBJECT, frozenset({ALICE}), True, {})
    assert not authorize(confused, [], ALLOW_ALICE).allowed
    assert authorize(confused, [], ALLOW_ALL).allowed
