"""Single-policy evaluation: Action/NotAction, Resource/NotResource wildcards and variables,
conditions inside statements, and the reasons a Decision gives."""

from __future__ import annotations

from typing import Any

import pytest

from zas.auth.policy import AuthzRequest, Decision, Policy, authorize, parse_policy

ALICE = "arn:aws:iam:::user/alice"


def identity(*statements: dict[str, Any], version: str | None = "2012-10-17") -> Policy:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return parse_policy(document, policy_id="p")


def request(
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::b/k",
    context: dict[str, Any] | None = None,
) -> AuthzRequest:
    base = {"aws:username": "alice", "aws:userid": "AIDALICE"}
    return AuthzRequest(action, resource, frozenset({ALICE}), False, {**base, **(context or {})})


def allows(policy: Policy, req: AuthzRequest) -> bool:
    return authorize(req, [policy], None).allowed


# --- Action / NotAction -----------------------------------------------------------------------

ACTION_CASES = [
    ("*", "s3:GetObject", True),
    ("*", "zas:CreateUser", True),
    ("s3:*", "s3:PutObject", True),
    ("s3:*", "zas:CreateUser", False),
    ("zas:*", "zas:ExportAudit", True),
    ("s3:GetObject", "s3:GetObject", True),
    ("s3:getobject", "S3:GETOBJECT", True),  # case-insensitive both ways
    ("s3:GetObject", "s3:GetObjectTagging", False),  # no implicit prefix match
    ("s3:GetObject*", "s3:GetObjectTagging", True),
    ("s3:Get*", "s3:PutObject", False),
    ("s3:*Object", "s3:DeleteObject", True),
    ("s3:*Object", "s3:DeleteObjectTagging", False),
    ("s3:?etObject", "s3:GetObject", True),
    ("s3:?etObject", "s3:PutObject", False),  # "?" is one character: "P" then "ut" != "et"
    ("zas:*Audit", "zas:QueryAudit", True),
    ("zas:Get*", "zas:GetSbom", True),
]


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTION_CASES)
def test_action_patterns(pattern: str, action: str, expected: bool) -> None:
    policy = identity({"Effect": "Allow", "Action": pattern, "Resource": "*"})
    assert allows(policy, request(action)) is expected


NOT_ACTION_CASES = [
    ("s3:DeleteObject", "s3:GetObject", True),
    ("s3:DeleteObject", "s3:DeleteObject", False),
    ("s3:Delete*", "s3:DeleteBucket", False),
    ("s3:*", "zas:CreateUser", True),
    ("s3:*", "s3:ListBucket", False),
    (["s3:Delete*", "zas:*"], "zas:GetUser", False),
    (["s3:Delete*", "zas:*"], "s3:PutObject", True),
]


@pytest.mark.parametrize(("not_action", "action", "expected"), NOT_ACTION_CASES)
def test_not_action(not_action: Any, action: str, expected: bool) -> None:
    policy = identity({"Effect": "Allow", "NotAction": not_action, "Resource": "*"})
    assert allows(policy, request(action)) is expected


def test_unknown_runtime_action_is_decided_without_the_index() -> None:
    policy = identity({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"})
    assert allows(policy, request("s3:GetSomethingNew"))
    assert not allows(policy, request("s3:PutSomethingNew"))


# --- Resource / NotResource -------------------------------------------------------------------

RESOURCE_CASES = [
    ("*", "arn:aws:s3:::b/k", True),
    ("*", "*", True),
    ("arn:aws:s3:::b", "arn:aws:s3:::b", True),
    ("arn:aws:s3:::b", "arn:aws:s3:::b/k", False),  # the bucket is not its objects
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b", False),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/deep/er/k", True),  # * crosses "/"
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/", True),  # * matches empty
    ("arn:aws:s3:::b/*", "arn:aws:s3:::bb/k", False),
    ("arn:aws:s3:::b*", "arn:aws:s3:::bb/k", True),
    ("arn:aws:s3:::B/*", "arn:aws:s3:::b/k", False),  # case-sensitive
    ("arn:aws:s3:::b/K", "arn:aws:s3:::b/k", False),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/k", True),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/kk", False),
    ("arn:aws:s3:::b/*.tar.gz", "arn:aws:s3:::b/rel/v1.tar.gz", True),
    ("arn:aws:s3:::b/*.tar.gz", "arn:aws:s3:::b/rel/v1.tarxgz", False),  # "." is literal
    ("arn:aws:s3:::*/public/*", "arn:aws:s3:::any/public/x", True),
    ("arn:aws:s3:::b/a+b", "arn:aws:s3:::b/a+b", True),
    ("arn:aws:s3:::b/(x)", "arn:aws:s3:::b/(x)", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/line\nbreak", True),
    ("arn:zas:iam:::user/*", "arn:zas:iam:::user/alice", True),
    ("arn:zas:iam:::user/*", "arn:aws:s3:::b/k", False),
]


@pytest.mark.parametrize(("pattern", "resource", "expected"), RESOURCE_CASES)
def test_resource_patterns(pattern: str, resource: str, expected: bool) -> None:
    policy = identity({"Effect": "Allow", "Action": "*", "Resource": pattern})
    assert allows(policy, request(resource=resource)) is expected


def test_resource_list_is_or() -> None:
    policy = identity(
        {"Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]}
    )
    assert allows(policy, request(resource="arn:aws:s3:::a/x"))
    assert allows(policy, request(resource="arn:aws:s3:::b/x"))
    assert not allows(policy, request(resource="arn:aws:s3:::c/x"))


@pytest.mark.parametrize(
    ("resource", "expected"),
    [("arn:aws:s3:::b/secret/k", False), ("arn:aws:s3:::b/public/k", True), ("*", True)],
)
def test_not_resource(resource: str, expected: bool) -> None:
    policy = identity({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::b/secret/*"})
    assert allows(policy, request(resource=resource)) is expected


# --- Policy variables in Resource -------------------------------------------------------------

HOME = "arn:aws:s3:::b/home/${aws:username}/*"
VARIABLE_CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    (HOME, "arn:aws:s3:::b/home/alice/x", {}, True),
    (HOME, "arn:aws:s3:::b/home/bob/x", {}, False),
    (HOME, "arn:aws:s3:::b/home/alice/x", {"aws:username": "bob"}, False),
    ("arn:aws:s3:::b/${aws:userid}", "arn:aws:s3:::b/AIDALICE", {}, True),
    ("arn:aws:s3:::b/${jwt:sub}/*", "arn:aws:s3:::b/u-42/x", {"jwt:sub": "u-42"}, True),
    ("arn:aws:s3:::b/${jwt:sub}/*", "arn:aws:s3:::b/u-42/x", {}, False),  # missing: no match
    ("arn:aws:s3:::b/${jwt:groups}/*", "arn:aws:s3:::b/a/x", {"jwt:groups": ["a"]}, False),
    ("arn:aws:s3:::b/${jwt:team, 'shared'}/*", "arn:aws:s3:::b/shared/x", {}, True),
    ("arn:aws:s3:::b/${jwt:team, 'shared'}/*", "arn:aws:s3:::b/red/x", {"jwt:team": "red"}, True),
    ("arn:aws:s3:::b/${AWS:UserName}", "arn:aws:s3:::b/alice", {}, True),  # keys ignore case
    # a substituted value is literal: a user named "*" gets no wildcard
    (HOME, "arn:aws:s3:::b/home/eve/x", {"aws:username": "*"}, False),
    (HOME, "arn:aws:s3:::b/home/*/x", {"aws:username": "*"}, True),
    ("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/a.c", {"aws:username": "a.c"}, True),
    ("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/abc", {"aws:username": "a.c"}, False),
    # escapes
    ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*", {}, True),
    ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/k", {}, False),
    ("arn:aws:s3:::b/${?}", "arn:aws:s3:::b/?", {}, True),
    ("arn:aws:s3:::b/${$}x", "arn:aws:s3:::b/$x", {}, True),
]


@pytest.mark.parametrize(("pattern", "resource", "context", "expected"), VARIABLE_CASES)
def test_resource_variables(
    pattern: str, resource: str, context: dict[str, Any], expected: bool
) -> None:
    policy = identity({"Effect": "Allow", "Action": "*", "Resource": pattern})
    assert allows(policy, request(resource=resource, context=context)) is expected


def test_variables_not_substituted_without_2012_version() -> None:
    policy = identity({"Effect": "Allow", "Action": "*", "Resource": HOME}, version=None)
    assert not allows(policy, request(resource="arn:aws:s3:::b/home/alice/x"))
    assert allows(policy, request(resource="arn:aws:s3:::b/home/${aws:username}/x"))
    policy_2008 = identity(
        {"Effect": "Allow", "Action": "*", "Resource": HOME}, version="2008-10-17"
    )
    assert not allows(policy_2008, request(resource="arn:aws:s3:::b/home/alice/x"))


def test_many_users_one_policy() -> None:
    """The cached per-user regexes give every user their own answer."""
    policy = identity({"Effect": "Allow", "Action": "*", "Resource": HOME})
    for n in range(50):
        user = f"user{n}"
        own = request(resource=f"arn:aws:s3:::b/home/{user}/f", context={"aws:username": user})
        other = request(resource="arn:aws:s3:::b/home/x/f", context={"aws:username": user})
        assert allows(policy, own)
        assert not allows(policy, other)


# --- Conditions inside statements (the issue's examples) --------------------------------------


def test_list_own_prefix_only() -> None:
    policy = identity(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::b",
            "Condition": {
                "StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}"]},
                "NumericLessThanEquals": {"s3:max-keys": "100"},
            },
        }
    )
    listing = "arn:aws:s3:::b"
    ok = {"s3:prefix": "home/alice/docs/", "s3:max-keys": "100"}
    assert allows(policy, request("s3:ListBucket", listing, ok))
    assert allows(policy, request("s3:ListBucket", listing, {**ok, "s3:prefix": "home/alice"}))
    assert not allows(policy, request("s3:ListBucket", listing, {**ok, "s3:prefix": "home/bob/"}))
    assert not allows(policy, request("s3:ListBucket", listing, {**ok, "s3:max-keys": "1000"}))
    # s3:prefix missing (a list of the whole bucket): StringLike is false
    assert not allows(policy, request("s3:ListBucket", listing, {"s3:max-keys": "10"}))


def test_secure_transport_and_time_window() -> None:
    policy = identity(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {
                "Bool": {"aws:SecureTransport": "true"},
                "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
                "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"},
                "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
            },
        }
    )
    ok = {
        "aws:securetransport": "true",
        "aws:currenttime": "2026-06-01T12:00:00Z",
        "aws:sourceip": "10.1.1.1",
    }
    assert allows(policy, request(context=ok))
    assert allows(policy, request(context={**ok, "aws:sourceip": "2001:db8::5"}))
    assert not allows(policy, request(context={**ok, "aws:securetransport": "false"}))
    assert not allows(policy, request(context={**ok, "aws:currenttime": "2027-06-01T00:00:00Z"}))
    assert not allows(policy, request(context={**ok, "aws:currenttime": "2025-06-01T00:00:00Z"}))
    assert not allows(policy, request(context={**ok, "aws:sourceip": "192.168.1.1"}))


# --- Decision shape ---------------------------------------------------------------------------


def test_decision_reasons() -> None:
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret"},
            ],
        },
        policy_id="readonly",
    )
    allowed = authorize(request(), [policy], None)
    assert allowed == Decision("Allow", True, allowed.statement, "allowed by readonly#Read")
    assert allowed.allowed and allowed.statement is not None
    assert (allowed.statement.sid, allowed.statement.index) == ("Read", 0)

    denied = authorize(request(resource="arn:aws:s3:::b/secret"), [policy], None)
    assert not denied.allowed and denied.explicit
    assert denied.reason == "explicitly denied by readonly#Statement[1]"

    implicit = authorize(request("s3:PutObject"), [policy], None)
    assert (implicit.effect, implicit.explicit, implicit.statement) == ("Deny", False, None)
    assert implicit.reason == "no statement allows s3:PutObject on arn:aws:s3:::b/k"
    assert implicit.to_json() == {
        "effect": "Deny",
        "explicit": False,
        "statement": None,
        "reason": "no statement allows s3:PutObject on arn:aws:s3:::b/k",
    }
    assert denied.to_json()["statement"] == {"policy": "readonly", "sid": None, "index": 1}


def test_no_policies_is_implicit_deny() -> None:
    decision = authorize(request(), [], None)
    assert not decision.allowed and not decision.explicit
