"""The AWS IAM JSON policy language: parse and compile once, decide many times.

Pure: no I/O, no clock (the caller puts `aws:CurrentTime` in the request context). Two halves:

- `parse_policy` validates a document the way AWS does (a bucket policy with an unknown
  action, a bad date or a resource outside its bucket is `MalformedPolicy`, with a message
  naming the statement and the problem) and compiles it into a `Policy`: patterns, dates,
  CIDRs and numbers are turned into ready-to-compare values, and each statement is indexed
  under every known action it covers, so a decision never parses anything and only looks at
  the statements that can apply to its action.
- `authorize` combines the identity policies of the caller with the bucket policy, following
  AWS's same-account evaluation logic, and says which statement decided (for the audit log and
  for the dry-run `zas:Authorize` endpoint).

Condition operators, wildcards and policy variables live in `zas.auth.policy_conditions`.

Size caps (documented choices, both AWS's own limits):
- bucket policies: 20 KiB of JSON, as S3
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html);
- identity policies: 6,144 characters not counting whitespace, as IAM managed policies
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import attrs

from zas.auth.actions import KNOWN_ACTIONS_LOWER
from zas.auth.policy_conditions import (
    AnyCondition,
    Context,
    PatternSet,
    compile_conditions,
    compile_patterns,
)
from zas.protocol.errors import MalformedPolicy

__all__ = [
    "BUCKET_POLICY_MAX_BYTES",
    "IDENTITY_POLICY_MAX_CHARS",
    "VERSION_2008",
    "VERSION_2012",
    "AuthzRequest",
    "Decision",
    "Effect",
    "Policy",
    "Statement",
    "StatementRef",
    "authorize",
    "parse_policy",
]

Effect: TypeAlias = Literal["Allow", "Deny"]

BUCKET_POLICY_MAX_BYTES = 20 * 1024
IDENTITY_POLICY_MAX_CHARS = 6144  # not counting whitespace

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
#   "2012-10-17. This is the current version of the policy language ..."
#   "2008-10-17. This was an earlier version of the policy language. ... policy variables
#    aren't recognized" -- "If you do not include a Version element, the value defaults to
#    2008-10-17".
VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"

_POLICY_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction"}
    | {"Resource", "NotResource", "Condition"}
)
_NO_CONTEXT: Context = MappingProxyType({})


@attrs.frozen
class StatementRef:
    """Which statement decided: printed "readonly#AllowRead" or "readonly#Statement[0]"."""

    policy_id: str | None
    sid: str | None
    index: int

    def __str__(self) -> str:
        name = self.sid if self.sid else f"Statement[{self.index}]"
        return f"{self.policy_id or '(unnamed policy)'}#{name}"

    def to_json(self) -> dict[str, str | int | None]:
        return {"policy": self.policy_id, "sid": self.sid, "index": self.index}


@attrs.frozen
class Statement:
    """One compiled statement. `principals` etc. are only meaningful in bucket policies."""

    ref: StatementRef
    effect: Effect
    actions: PatternSet  # lower-cased
    not_action: bool
    resources: PatternSet
    not_resource: bool
    conditions: tuple[AnyCondition, ...]
    has_principal: bool = False
    principals: frozenset[str] = frozenset()
    any_principal: bool = False
    not_principal: bool = False

    def matches_action(self, action: str) -> bool:
        """`action` lower-cased."""
        return self.actions.match(action, _NO_CONTEXT) != self.not_action

    def matches_principal(self, request: AuthzRequest) -> bool:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
        #   "Principal": "*" / {"AWS": "*"} is everyone, anonymous users included.
        if not self.has_principal:
            return True
        # An anonymous request is nobody in particular, whatever `principals` holds.
        hit = self.any_principal or (
            not request.anonymous and not self.principals.isdisjoint(request.principals)
        )
        return hit != self.not_principal

    def matches_request(self, request: AuthzRequest) -> bool:
        """Resource and Condition (the Action is settled by the index, the Principal apart)."""
        context = request.context
        if self.resources.match(request.resource, context) == self.not_resource:
            return False
        for condition in self.conditions:  # noqa: SIM110 (hot path: no generator frame)
            if not condition.holds(context):
                return False
        return True


@attrs.frozen(eq=False)
class Policy:
    """A compiled policy. Keeps the document as given, for GetBucketPolicy and the API.

    Compares by identity: compare `.document` for content.
    """

    id: str | None
    document: dict[str, Any]
    statements: tuple[Statement, ...]
    version: str = VERSION_2008
    bucket: str | None = None
    # lower-cased known action -> the statements whose Action/NotAction covers it, in order.
    _by_action: Mapping[str, tuple[Statement, ...]] = attrs.field(factory=dict, repr=False)

    def statements_for(self, action: str) -> tuple[Statement, ...]:
        """The statements that can apply to `action` (lower-cased)."""
        hit = self._by_action.get(action)
        if hit is None:  # not a known action: no index entry, decide it the slow way
            return tuple(s for s in self.statements if s.matches_action(action))
        return hit


@attrs.frozen
class AuthzRequest:
    """What is being asked: who (principals) does what (action) to what (resource), and how.

    `context` keys are lower-cased condition keys ("aws:sourceip", "s3:prefix", "jwt:sub"),
    values a string or a list of strings (multivalued keys, for ForAllValues/ForAnyValue).
    """

    action: str
    resource: str
    principals: frozenset[str] = frozenset()
    anonymous: bool = False
    context: Context = attrs.field(factory=dict)


@attrs.frozen
class Decision:
    effect: Effect
    explicit: bool
    statement: StatementRef | None
    reason: str

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"

    def to_json(self) -> dict[str, Any]:
        return {
            "effect": self.effect,
            "explicit": self.explicit,
            "statement": None if self.statement is None else self.statement.to_json(),
            "reason": self.reason,
        }


# --- Evaluation -------------------------------------------------------------------------------
#
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
#   "By default, all requests are implicitly denied ... An explicit deny overrides an explicit
#    allow."
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
#   "When access to a resource is requested, AWS evaluates all the permissions granted by the
#    policies for at least one Allow within the same account. An explicit deny in any of the
#    policies overrides the allow." / "If either the identity-based policy or the
#    resource-based policy within the same account allows the request and the other doesn't,
#    the request is still allowed."
# Anonymous callers have no identity policies: only a bucket policy statement whose Principal
# matches everyone ("*", {"AWS": "*"}) or whose NotPrincipal excludes them can apply.


def authorize(
    request: AuthzRequest, identity_policies: Sequence[Policy], bucket_policy: Policy | None
) -> Decision:
    """Decide `request` against the caller's identity policies and the bucket's policy.

    The account root is not handled here (the caller short-circuits it). The first matching
    Deny wins at once; otherwise the first matching Allow is reported.
    """
    action = request.action.lower()
    allowed_by: StatementRef | None = None
    if not request.anonymous:
        for policy in identity_policies:
            for statement in policy.statements_for(action):
                if statement.effect == "Allow" and allowed_by is not None:
                    continue  # already allowed; only a Deny can change the outcome
                if statement.matches_request(request):
                    if statement.effect == "Deny":
                        return _deny(statement.ref)
                    allowed_by = statement.ref
    if bucket_policy is not None:
        for statement in bucket_policy.statements_for(action):
            if statement.effect == "Allow" and allowed_by is not None:
                continue
            if statement.matches_principal(request) and statement.matches_request(request):
                if statement.effect == "Deny":
                    return _deny(statement.ref)
                allowed_by = statement.ref
    if allowed_by is not None:
        return Decision("Allow", True, allowed_by, f"allowed by {allowed_by}")
    return Decision(
        "Deny", False, None, f"no statement allows {request.action} on {request.resource}"
    )


def _deny(ref: StatementRef) -> Decision:
    return Decision("Deny", True, ref, f"explicitly denied by {ref}")


# --- Parsing ----------------------------------------------------------------------------------


def parse_policy(
    text: str | bytes | dict[str, Any],
    *,
    policy_id: str | None = None,
    bucket: str | None = None,
) -> Policy:
    """Validate and compile a policy document, or raise MalformedPolicy saying what is wrong.

    `bucket=None` parses an identity policy (no Principal allowed); `bucket="name"` a bucket
    policy (Principal required, every resource inside that bucket).
    """
    document = _load(text, bucket)
    unknown = sorted(set(document) - _POLICY_KEYS)
    if unknown:
        raise MalformedPolicy(f"Policy has unknown field: {unknown[0]}")
    version = document.get("Version", VERSION_2008)
    if version not in (VERSION_2012, VERSION_2008):
        raise MalformedPolicy(
            f"Policy has invalid Version {version!r} (use {VERSION_2012!r} or {VERSION_2008!r})"
        )
    if "Id" in document and not isinstance(document["Id"], str):
        raise MalformedPolicy("Policy Id must be a string")
    if "Statement" not in document:
        raise MalformedPolicy("Missing required field Statement")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicy("Statement must be a statement object or a non-empty list of them")
    statements = tuple(
        _parse_statement(raw, index, policy_id, bucket, variables=version == VERSION_2012)
        for index, raw in enumerate(raw_statements)
    )
    sids = [s.ref.sid for s in statements if s.ref.sid is not None]
    for sid in sids:
        if sids.count(sid) > 1:
            raise MalformedPolicy(f"Statement ids (Sid) must be unique: {sid!r} is repeated")
    by_action = {
        action: tuple(s for s in statements if s.matches_action(action))
        for action in KNOWN_ACTIONS_LOWER
    }
    return Policy(policy_id, document, statements, version, bucket, by_action)


def _reject_constant(name: str) -> None:
    raise MalformedPolicy(f"Policies must be valid JSON: {name} is not a JSON value")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Duplicate keys are rejected: two "Effect"s would mean different things to different
    readers of the same document (this parser keeps the last, others the first)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedPolicy(f"Policies must be valid JSON: duplicate key {key!r}")
        result[key] = value
    return result


def _load(text: str | bytes | dict[str, Any], bucket: str | None) -> dict[str, Any]:
    if isinstance(text, dict):
        try:
            data = json.dumps(text, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise MalformedPolicy(f"Policies must be valid JSON: {exc}") from None
        document: object = text
    else:
        data = text.encode() if isinstance(text, str) else bytes(text)
    if bucket is not None and len(data) > BUCKET_POLICY_MAX_BYTES:
        raise MalformedPolicy(
            f"Policy exceeds the maximum allowed document size ({BUCKET_POLICY_MAX_BYTES} bytes)"
        )
    if bucket is None:
        significant = len(data) - sum(data.count(c) for c in (b" ", b"\t", b"\r", b"\n"))
        if significant > IDENTITY_POLICY_MAX_CHARS:
            raise MalformedPolicy(
                f"Policy exceeds the maximum allowed size ({IDENTITY_POLICY_MAX_CHARS} "
                "characters, not counting whitespace)"
            )
    if not isinstance(text, dict):
        try:
            document = json.loads(
                data.decode("utf-8"),
                object_pairs_hook=_no_duplicates,
                parse_constant=_reject_constant,
            )
        except UnicodeDecodeError:
            raise MalformedPolicy("Policies must be valid UTF-8 JSON") from None
        except json.JSONDecodeError as exc:
            raise MalformedPolicy(f"Policies must be valid JSON: {exc}") from None
        except RecursionError:  # "[[[[..." deeper than the interpreter's recursion limit
            raise MalformedPolicy("Policies must be valid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    return document


def _strings(statement: dict[str, Any], field: str, where: str) -> tuple[str, ...]:
    value = statement[field]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise MalformedPolicy(f"{where}: {field} must be a string or a non-empty list of strings")
    for item in items:
        if not isinstance(item, str) or not item:
            raise MalformedPolicy(f"{where}: {field} entries must be non-empty strings")
    return tuple(items)


def _one_of(statement: dict[str, Any], field: str, where: str) -> tuple[tuple[str, ...], bool]:
    """Exactly one of `field` / `Not<field>`: (values, negated)."""
    negated_field = f"Not{field}"
    if (field in statement) == (negated_field in statement):
        if field in statement:
            raise MalformedPolicy(f"{where}: use either {field} or {negated_field}, not both")
        raise MalformedPolicy(f"{where}: Missing required field {field} (or {negated_field})")
    if field in statement:
        return _strings(statement, field, where), False
    return _strings(statement, negated_field, where), True


def _parse_statement(
    raw: object, index: int, policy_id: str | None, bucket: str | None, *, variables: bool
) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, dict):
        raise MalformedPolicy(f"{where}: a statement must be a JSON object")
    unknown = sorted(set(raw) - _STATEMENT_KEYS)
    if unknown:
        raise MalformedPolicy(f"{where}: unknown field {unknown[0]}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicy(f"{where}: Sid must be a string")
    effect = raw.get("Effect")
    if effect is None:
        raise MalformedPolicy(f"{where}: Missing required field Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy(f'{where}: Effect must be "Allow" or "Deny", not {effect!r}')

    action_texts, not_action = _one_of(raw, "Action", where)
    actions = _compile_actions(action_texts, where)
    resource_texts, not_resource = _one_of(raw, "Resource", where)
    for resource in resource_texts:
        _check_resource(resource, bucket, where, variables=variables)
    resources = compile_patterns(resource_texts, where=where, variables=variables, wildcards=True)
    conditions = compile_conditions(raw.get("Condition", {}), where=where, variables=variables)

    ref = StatementRef(policy_id, sid, index)
    statement = Statement(ref, effect, actions, not_action, resources, not_resource, conditions)
    if bucket is None:
        if "Principal" in raw or "NotPrincipal" in raw:
            raise MalformedPolicy(
                f"{where}: Policy document should not specify a principal "
                "(Principal belongs in bucket policies only)"
            )
        return statement
    principal_texts, not_principal = _parse_principal(raw, where)
    return attrs.evolve(
        statement,
        has_principal=True,
        principals=frozenset(principal_texts) - {"*"},
        any_principal="*" in principal_texts,
        not_principal=not_principal,
    )


def _compile_actions(texts: tuple[str, ...], where: str) -> PatternSet:
    """Action names ignore case; each entry must cover at least one known action."""
    for text in texts:
        one = compile_patterns([text], where=where, variables=False, wildcards=True, fold=True)
        valid = (text == "*" or ":" in text) and any(
            one.match(known, _NO_CONTEXT) for known in KNOWN_ACTIONS_LOWER
        )
        if not valid:
            raise MalformedPolicy(f"{where}: Policy has invalid action: {text}")
    return compile_patterns(texts, where=where, variables=False, wildcards=True, fold=True)


def _check_resource(text: str, bucket: str | None, where: str, *, variables: bool) -> None:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    #   a resource is "*" or an ARN: arn:partition:service:region:account-id:resource
    if text != "*" and not (text.startswith("arn:") and text.count(":") >= 5):
        raise MalformedPolicy(f"{where}: Policy has invalid resource: {text}")
    if bucket is None:
        return
    # A bucket policy may only speak about its own bucket and the objects in it. The literal
    # part before the first wildcard or variable must pin the bucket down.
    bucket_arn = f"arn:aws:s3:::{bucket}"
    cut = len(text)
    for special in ("*", "?", "${") if variables else ("*", "?"):
        found = text.find(special)
        if found != -1:
            cut = min(cut, found)
    literal = text[:cut]
    inside = literal.startswith(bucket_arn + "/") or (cut == len(text) and text == bucket_arn)
    if not inside:
        raise MalformedPolicy(
            f"{where}: Policy has invalid resource: {text} (a policy on bucket {bucket!r} may "
            f"only name {bucket_arn} and {bucket_arn}/...)"
        )


def _parse_principal(raw: dict[str, Any], where: str) -> tuple[tuple[str, ...], bool]:
    """Principal "*", {"AWS": "*"} or {"AWS": "arn" | ["arn", ...]}; likewise NotPrincipal."""
    has, has_not = "Principal" in raw, "NotPrincipal" in raw
    if has and has_not:
        raise MalformedPolicy(f"{where}: use either Principal or NotPrincipal, not both")
    if not has and not has_not:
        raise MalformedPolicy(f"{where}: Missing required field Principal")
    field = "Principal" if has else "NotPrincipal"
    value = raw[field]
    if value == "*":
        return ("*",), has_not
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy(f'{where}: {field} must be "*" or {{"AWS": ...}}')
    for kind in value:
        if kind != "AWS":
            raise MalformedPolicy(
                f'{where}: unsupported principal type {kind!r} in {field} (ZAS has only "AWS")'
            )
    principals = _strings(value, "AWS", f"{where}: {field}")
    for principal in principals:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
        #   "You cannot use a wildcard to match part of a principal name or ARN."
        if principal != "*" and ("*" in principal or "?" in principal):
            raise MalformedPolicy(f"{where}: Policy has invalid principal: {principal}")
    return principals, has_not
