"""parse_policy: what is accepted, what is compiled, and every MalformedPolicy message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from zas.auth.actions import KNOWN_ACTIONS, KNOWN_ACTIONS_LOWER, canonical_action
from zas.auth.policy import (
    BUCKET_POLICY_MAX_BYTES,
    IDENTITY_POLICY_MAX_CHARS,
    VERSION_2008,
    VERSION_2012,
    StatementRef,
    parse_policy,
)
from zas.protocol.errors import MalformedPolicy

ALLOW_GET = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


def doc(*statements: Any, version: str | None = VERSION_2012) -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def bucket_stmt(**extra: Any) -> dict[str, Any]:
    return {"Principal": "*", **ALLOW_GET, **extra}


def without(statement: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in fields}


# --- Accepted documents -----------------------------------------------------------------------


@pytest.mark.parametrize("form", ["str", "bytes", "dict"])
def test_accepts_str_bytes_and_dict(form: str) -> None:
    document = doc(ALLOW_GET)
    text: Any = {"str": json.dumps(document), "bytes": json.dumps(document).encode()}.get(
        form, document
    )
    policy = parse_policy(text, policy_id="p")
    assert policy.id == "p"
    assert policy.document == document
    assert policy.version == VERSION_2012
    assert len(policy.statements) == 1
    assert policy.statements[0].effect == "Allow"


def test_single_statement_object_and_defaults() -> None:
    policy = parse_policy({"Statement": ALLOW_GET})
    assert policy.version == VERSION_2008  # absent Version -> 2008 semantics
    assert policy.statements[0].ref == StatementRef(None, None, 0)


def test_id_and_sids() -> None:
    policy = parse_policy(
        {
            "Version": VERSION_2012,
            "Id": "doc-1",
            "Statement": [{"Sid": "A", **ALLOW_GET}, ALLOW_GET],
        },
        policy_id="readonly",
    )
    assert str(policy.statements[0].ref) == "readonly#A"
    assert str(policy.statements[1].ref) == "readonly#Statement[1]"
    assert policy.statements[1].ref.to_json() == {"policy": "readonly", "sid": None, "index": 1}


def test_actions_are_indexed_case_insensitively() -> None:
    policy = parse_policy(doc({**ALLOW_GET, "Action": ["S3:getobject", "s3:List*"]}))
    statement = policy.statements[0]
    assert policy.statements_for("s3:getobject") == (statement,)
    assert policy.statements_for("s3:listbucket") == (statement,)
    assert policy.statements_for("s3:listbucketmultipartuploads") == (statement,)
    assert policy.statements_for("s3:putobject") == ()
    # not a known action: decided without the index, same answer
    assert policy.statements_for("s3:listsomethingnew") == (statement,)


def test_not_action_index() -> None:
    policy = parse_policy(doc({**without(ALLOW_GET, "Action"), "NotAction": "s3:Delete*"}))
    assert policy.statements_for("s3:getobject") == policy.statements
    assert policy.statements_for("s3:deleteobject") == ()
    assert policy.statements_for("zas:createuser") == policy.statements


@pytest.mark.parametrize(
    "action",
    [
        "*",
        "s3:*",
        "zas:*",
        "s3:GetObjectVersion",
        "s3:GetObjectAttributes",
        "s3:PutBucketAcl",
        "zas:SignObject",
        "zas:Get*",
        "s3:?etObject",
        "S3:GETOBJECT",
        "zas:authorize",
    ],
)
def test_valid_actions(action: str) -> None:
    parse_policy(doc({**ALLOW_GET, "Action": action}))


def test_action_vocabulary() -> None:
    assert "s3:GetObject" in KNOWN_ACTIONS
    assert "zas:ExportAudit" in KNOWN_ACTIONS
    assert "zas:GetVerificationPolicy" in KNOWN_ACTIONS
    assert canonical_action("S3:GETOBJECT") == "s3:GetObject"
    assert canonical_action("s3:Frob") is None
    assert len(KNOWN_ACTIONS_LOWER) == len(KNOWN_ACTIONS)  # no two differ only by case
    assert all(a.startswith(("s3:", "zas:")) for a in KNOWN_ACTIONS)


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:s3:::b",
        "arn:aws:s3:::b/",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::b/${aws:username}/*",
        "arn:aws:s3:::b/a?c",
        ["arn:aws:s3:::b", "arn:aws:s3:::b/x/*"],
    ],
)
def test_bucket_policy_resources_inside_the_bucket(resource: Any) -> None:
    parse_policy(doc(bucket_stmt(Resource=resource)), bucket="b")


def test_bucket_policy_principals() -> None:
    statements = [
        bucket_stmt(Sid="a"),
        bucket_stmt(Sid="b", Principal={"AWS": "*"}),
        bucket_stmt(Sid="c", Principal={"AWS": "arn:aws:iam:::user/alice"}),
        bucket_stmt(Sid="d", Principal={"AWS": ["arn:aws:iam:::user/a", "arn:aws:iam:::user/b"]}),
        {**ALLOW_GET, "Sid": "e", "NotPrincipal": {"AWS": "arn:aws:iam:::user/a"}},
    ]
    policy = parse_policy(doc(*statements), bucket="b", policy_id="bucket:b")
    a, b, c, d, e = policy.statements
    assert a.any_principal and b.any_principal and not c.any_principal
    assert c.principals == frozenset({"arn:aws:iam:::user/alice"})
    assert d.principals == frozenset({"arn:aws:iam:::user/a", "arn:aws:iam:::user/b"})
    assert e.not_principal and e.principals == frozenset({"arn:aws:iam:::user/a"})
    assert policy.bucket == "b"


def test_size_caps() -> None:
    padding = "x" * (BUCKET_POLICY_MAX_BYTES - 200)
    parse_policy(doc(bucket_stmt(Sid=padding)), bucket="b")  # just under 20 KiB
    with pytest.raises(MalformedPolicy, match="maximum allowed document size"):
        parse_policy(doc(bucket_stmt(Sid=padding + "x" * 300)), bucket="b")
    # identity policies: 6,144 characters, whitespace not counted
    pretty = json.dumps(doc(ALLOW_GET, ALLOW_GET), indent=400)
    assert len(pretty) > IDENTITY_POLICY_MAX_CHARS
    parse_policy(pretty)
    with pytest.raises(MalformedPolicy, match="6144 characters"):
        parse_policy(doc({**ALLOW_GET, "Sid": "x" * IDENTITY_POLICY_MAX_CHARS}))


# --- Rejected documents: each message names the problem --------------------------------------

MALFORMED: list[tuple[Any, str | None, str]] = [
    # (document, bucket, expected message fragment)
    ("not json", None, "Policies must be valid JSON"),
    (b"\xff\xfe{}", None, "valid UTF-8 JSON"),
    ("[]", None, "first byte must be '{'"),
    ('"text"', None, "first byte must be '{'"),
    ('{"Statement": [], "Statement": []}', None, "duplicate key 'Statement'"),
    ('{"Version": NaN}', None, "NaN is not a JSON value"),
    ({"Statement": [{**ALLOW_GET, "Sid": float("nan")}]}, None, "Policies must be valid JSON"),
    ({"Statement": [ALLOW_GET], "Extra": 1}, None, "Policy has unknown field: Extra"),
    (doc(ALLOW_GET, version="2012-10-18"), None, "invalid Version '2012-10-18'"),
    ({"Version": 2012, "Statement": [ALLOW_GET]}, None, "invalid Version 2012"),
    ({"Id": 5, "Statement": [ALLOW_GET]}, None, "Policy Id must be a string"),
    ({"Version": VERSION_2012}, None, "Missing required field Statement"),
    (doc(), None, "non-empty list"),
    ({"Statement": "allow"}, None, "non-empty list"),
    (doc("statement"), None, "Statement[0]: a statement must be a JSON object"),
    (
        doc(ALLOW_GET, {**ALLOW_GET, "Effects": "Allow"}),
        None,
        "Statement[1]: unknown field Effects",
    ),
    (doc({**ALLOW_GET, "Sid": 1}), None, "Statement[0]: Sid must be a string"),
    (doc({"Sid": "x", **ALLOW_GET}, {"Sid": "x", **ALLOW_GET}), None, "'x' is repeated"),
    (doc(without(ALLOW_GET, "Effect")), None, "Missing required field Effect"),
    (
        doc({**ALLOW_GET, "Effect": "allow"}),
        None,
        'Effect must be "Allow" or "Deny", not \'allow\'',
    ),
    (doc({**ALLOW_GET, "Effect": True}), None, "Effect must be"),
    (doc({"Effect": "Allow", "Resource": "*"}), None, "Missing required field Action"),
    (doc({**ALLOW_GET, "NotAction": "s3:PutObject"}), None, "either Action or NotAction, not both"),
    (doc({"Effect": "Allow", "Action": "s3:GetObject"}), None, "Missing required field Resource"),
    (doc({**ALLOW_GET, "NotResource": "*"}), None, "either Resource or NotResource"),
    (
        doc({**ALLOW_GET, "Action": "s3:Frob"}),
        None,
        "Statement[0]: Policy has invalid action: s3:Frob",
    ),
    (
        doc({**ALLOW_GET, "Action": ["s3:GetObject", "s3:GetObjcet"]}),
        None,
        "invalid action: s3:GetObjcet",
    ),
    (doc({**ALLOW_GET, "Action": "iam:CreateUser"}), None, "invalid action: iam:CreateUser"),
    (doc({**ALLOW_GET, "Action": "s3:Frob*"}), None, "invalid action: s3:Frob*"),
    (doc({**ALLOW_GET, "Action": "GetObject"}), None, "invalid action: GetObject"),
    (doc({**ALLOW_GET, "Action": []}), None, "Action must be a string or a non-empty list"),
    (doc({**ALLOW_GET, "Action": [""]}), None, "Action entries must be non-empty strings"),
    (doc({**ALLOW_GET, "Action": 5}), None, "Action must be a string"),
    (doc({**ALLOW_GET, "Resource": "mybucket/*"}), None, "invalid resource: mybucket/*"),
    (doc({**ALLOW_GET, "Resource": "arn:aws:s3"}), None, "invalid resource: arn:aws:s3"),
    (doc({**ALLOW_GET, "Resource": ["*", 3]}), None, "Resource entries must be non-empty strings"),
    (
        doc({**ALLOW_GET, "Resource": "arn:aws:s3:::b/${aws:username"}),
        None,
        "invalid policy variable",
    ),
    (doc({**ALLOW_GET, "Principal": "*"}), None, "should not specify a principal"),
    (doc({**ALLOW_GET, "NotPrincipal": "*"}), None, "should not specify a principal"),
    (
        doc({**ALLOW_GET, "Condition": {"StringEqualz": {"k": "v"}}}),
        None,
        "Statement[0]: unknown condition operator StringEqualz",
    ),
    (
        doc(ALLOW_GET, {**ALLOW_GET, "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4/40"}}}),
        None,
        "Statement[1]: IpAddress aws:SourceIp: invalid IP address or CIDR '1.2.3.4/40'",
    ),
    (
        doc({**ALLOW_GET, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "soon"}}}),
        None,
        "invalid date value 'soon'",
    ),
    (
        doc({**ALLOW_GET, "Condition": {"NumericLessThanEquals": {"s3:max-keys": "x"}}}),
        None,
        "invalid numeric value 'x'",
    ),
    (doc({**ALLOW_GET, "Condition": []}), None, "Condition must be an object"),
    # bucket policies
    (doc(ALLOW_GET), "b", "Statement[0]: Missing required field Principal"),
    (doc(bucket_stmt(NotPrincipal="*")), "b", "either Principal or NotPrincipal"),
    (doc(bucket_stmt(Principal="alice")), "b", 'Principal must be "*" or {"AWS": ...}'),
    (doc(bucket_stmt(Principal={})), "b", "Principal must be"),
    (
        doc(bucket_stmt(Principal={"Service": "x.amazonaws.com"})),
        "b",
        "unsupported principal type 'Service'",
    ),
    (doc(bucket_stmt(Principal={"AWS": []})), "b", "AWS must be a string or a non-empty list"),
    (
        doc(bucket_stmt(Principal={"AWS": "arn:aws:iam:::user/*"})),
        "b",
        "invalid principal: arn:aws:iam:::user/*",
    ),
    (doc(bucket_stmt(Resource="*")), "b", "Policy has invalid resource: *"),
    (
        doc(bucket_stmt(Resource="arn:aws:s3:::other/*")),
        "b",
        "invalid resource: arn:aws:s3:::other/*",
    ),
    (doc(bucket_stmt(Resource="arn:aws:s3:::b*")), "b", "invalid resource: arn:aws:s3:::b*"),
    (doc(bucket_stmt(Resource="arn:aws:s3:::bb")), "b", "invalid resource: arn:aws:s3:::bb"),
    (doc(bucket_stmt(Resource="arn:aws:s3:::b${aws:username}")), "b", "invalid resource"),
    (doc(bucket_stmt(Resource="arn:aws:s3:::b?/x")), "b", "invalid resource"),
    (
        doc({**without(bucket_stmt(), "Resource"), "NotResource": "arn:aws:s3:::c/*"}),
        "b",
        "invalid resource",
    ),
    (doc(bucket_stmt(Resource="arn:zas:iam:::user/alice")), "b", "may only name arn:aws:s3:::b"),
]


@pytest.mark.parametrize(("document", "bucket", "message"), MALFORMED)
def test_malformed(document: Any, bucket: str | None, message: str) -> None:
    with pytest.raises(MalformedPolicy) as info:
        parse_policy(document, bucket=bucket)
    assert info.value.code == "MalformedPolicy"
    assert info.value.http_status == 400
    assert message in info.value.message


def test_2008_policy_keeps_variables_literal() -> None:
    # In a 2008 policy "${" is just text, so an unterminated one is not an error...
    policy = parse_policy(doc({**ALLOW_GET, "Resource": "arn:aws:s3:::b/${x"}, version=None))
    assert policy.version == VERSION_2008
    # ... and a bucket-policy resource check treats it as literal text too
    parse_policy(
        doc(bucket_stmt(Resource="arn:aws:s3:::b/${aws:username}"), version=None), bucket="b"
    )


# --- Invariant: any document parses or raises MalformedPolicy, nothing else -------------------

JUNK: list[Any] = [None, 0, -1.5, True, "", "x", "*", [], [None], [1, "a"], {}, {"a": 1}, [[]]]
FULL_STATEMENT: dict[str, Any] = {
    "Sid": "S",
    "Effect": "Allow",
    "Principal": {"AWS": ["arn:aws:iam:::user/a"]},
    "Action": ["s3:GetObject"],
    "Resource": ["arn:aws:s3:::b/*"],
    "Condition": {
        "StringLike": {"s3:prefix": ["a/*"]},
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
    },
}


def _variants(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Every field of a full statement (and its nested values) set to junk."""
    variants: list[dict[str, Any]] = []
    for junk in JUNK:
        variants.append({"Version": junk, "Statement": [base]})
        variants.append({"Version": VERSION_2012, "Statement": junk})
        variants.append({"Version": VERSION_2012, "Statement": [junk]})
        for field in base:
            variants.append(doc({**base, field: junk}))
        variants.append(doc({**base, "Principal": {"AWS": junk}}))
        variants.append(doc({**base, "Condition": {"StringLike": junk}}))
        variants.append(doc({**base, "Condition": {"StringLike": {"k": junk}}}))
        variants.append(doc({**base, "Condition": {"DateLessThan": {"k": junk}}}))
        variants.append(doc({**base, "Condition": {"NumericEquals": {"k": junk}}}))
        variants.append(doc({**base, "Condition": {"IpAddress": {"k": junk}}}))
        variants.append(doc({**base, "Condition": {"Null": {"k": junk}}}))
        variants.append(doc({**base, "Condition": {"BinaryEquals": {"k": junk}}}))
    return variants


@pytest.mark.parametrize("bucket", [None, "b"])
def test_junk_parses_or_raises_malformed_policy(bucket: str | None) -> None:
    outcomes = {"accepted": 0, "rejected": 0}
    base = FULL_STATEMENT if bucket else without(FULL_STATEMENT, "Principal")
    for document in _variants(base):
        for form in (document, json.dumps(document)):
            try:
                parse_policy(form, bucket=bucket)
            except MalformedPolicy:
                outcomes["rejected"] += 1
            else:
                outcomes["accepted"] += 1
    # Junk is mostly refused, but e.g. a missing Sid or a "*" Principal is fine.
    assert outcomes["accepted"] > 0
    assert outcomes["rejected"] > 5 * outcomes["accepted"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "}",
        "{}",
        "null",
        "[{}]",
        '{"Statement": {}}',
        '{"Statement": [{}]}',
        "\x00",
        "{" * 5000,
        "[" * 6000,
        '{"a":' * 3000,
    ],
)
@pytest.mark.parametrize("bucket", [None, "b"])
def test_junk_text(text: str, bucket: str | None) -> None:
    with pytest.raises(MalformedPolicy):
        parse_policy(text, bucket=bucket)
