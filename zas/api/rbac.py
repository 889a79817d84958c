"""`/rbac`: named policies, dry-run authorization and the audit log.

    GET    /rbac/policies                         zas:ListPolicies
    POST   /rbac/policies {"id", "document", "description"}   zas:CreatePolicy
    GET    /rbac/policies/<id>                    zas:GetPolicy
    PUT    /rbac/policies/<id> {"document", "description"}     zas:UpdatePolicy
    DELETE /rbac/policies/<id>                    zas:DeletePolicy (409 while attached)
    POST   /rbac/authorize {"principal", "action", "resource", "context"}   zas:Authorize
    GET    /rbac/audit?principal&action&resource_prefix&decision&since&until&limit&cursor
                                                  zas:ReadAudit
    POST   /rbac/audit/query {"sql", "max_rows"}  zas:QueryAudit (SELECT over the audit views)
    GET    /rbac/audit/export?since&until         zas:ExportAudit (a Parquet file)

The dry run answers what the engine would decide for a principal that is not the caller:
`{"user": "alice"}`, `{"roles": [...], "groups": [...]}` (a Keycloak identity), or
`{"anonymous": true}`; without a principal, for the caller.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
from quart import Blueprint, Response, jsonify, request

from zas.api.guard import AUDIT_ARN, Guard, json_body, policy_arn, sql_request
from zas.auth.audit import AuditLog, AuditRecord
from zas.auth.authenticate import ANONYMOUS, Authenticator, Identity
from zas.auth.authorize import S3_ARN, Permission, RequestFacts
from zas.auth.iam import IamDirectory
from zas.protocol.errors import InvalidArgument, InvalidRequest, MalformedPolicy

MAX_AUDIT_PAGE = 1000


def _policy_json(iam: IamDirectory, policy_id: str) -> dict[str, Any]:
    policy = iam.policy(policy_id)
    record = iam.policy_record(policy_id)
    return {
        "id": policy_id,
        "builtin": iam.is_builtin(policy_id),
        "description": record.description if record else "built-in policy",
        "document": policy.document,
        "created": record.created.isoformat() if record else None,
        "updated": record.updated.isoformat() if record else None,
    }


def _document(body: dict[str, Any]) -> Any:
    document = body.get("document")
    if not isinstance(document, (dict, str)):
        raise MalformedPolicy("'document' must be the policy as a JSON object (or its text)")
    return document


def _time(name: str) -> datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"{name} must be an ISO 8601 time", ArgumentName=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _record_json(record: AuditRecord) -> dict[str, Any]:
    return {
        "time": record.time.isoformat(),
        "request_id": record.request_id,
        "principal": record.principal,
        "auth_method": record.auth_method,
        "access_key_id": record.access_key_id,
        "source_ip": record.source_ip,
        "method": record.method,
        "path": record.path,
        "action": record.action,
        "resource": record.resource,
        "decision": record.decision,
        "statement": record.statement,
        "status": record.status,
        "error_code": record.error_code,
        "bytes_in": record.bytes_in,
        "bytes_out": record.bytes_out,
        "duration_ms": record.duration_ms,
        "user_agent": record.user_agent,
    }


def _bucket_of(resource: str) -> str | None:
    if not resource.startswith(S3_ARN):
        return None
    return resource[len(S3_ARN) :].partition("/")[0] or None


def rbac_blueprint(
    guard: Guard, iam: IamDirectory, authenticator: Authenticator, audit: AuditLog
) -> Blueprint:
    bp = Blueprint("rbac", __name__, url_prefix="/rbac")

    @bp.get("/policies")
    async def list_policies() -> Response:
        await guard.check("zas:ListPolicies", policy_arn("*"))
        return jsonify({"policies": [_policy_json(iam, pid) for pid in iam.policy_ids()]})

    @bp.post("/policies")
    async def create_policy() -> tuple[Response, int]:
        body = await json_body()
        policy_id = body.get("id")
        if not isinstance(policy_id, str) or not policy_id:
            raise InvalidRequest("'id' must be a non-empty string")
        await guard.check("zas:CreatePolicy", policy_arn(policy_id))
        await iam.put_policy(
            policy_id,
            _document(body),
            description=str(body.get("description", "")),
            create=True,
        )
        return jsonify(_policy_json(iam, policy_id)), 201

    @bp.get("/policies/<policy_id>")
    async def get_policy(policy_id: str) -> Response:
        await guard.check("zas:GetPolicy", policy_arn(policy_id))
        return jsonify(_policy_json(iam, policy_id))

    @bp.put("/policies/<policy_id>")
    async def update_policy(policy_id: str) -> Response:
        body = await json_body()
        await guard.check("zas:UpdatePolicy", policy_arn(policy_id))
        await iam.put_policy(
            policy_id,
            _document(body),
            description=str(body.get("description", "")),
            create=False,
        )
        return jsonify(_policy_json(iam, policy_id))

    @bp.delete("/policies/<policy_id>")
    async def delete_policy(policy_id: str) -> tuple[str, int]:
        await guard.check("zas:DeletePolicy", policy_arn(policy_id))
        await iam.delete_policy(policy_id)
        return "", 204

    @bp.post("/authorize")
    async def dry_run() -> Response:
        body = await json_body()
        caller = await guard.check("zas:Authorize", "*")
        action, resource = body.get("action"), body.get("resource")
        if not isinstance(action, str) or not isinstance(resource, str):
            raise InvalidRequest("'action' and 'resource' must be strings")
        context = body.get("context", {})
        if not isinstance(context, dict):
            raise InvalidRequest("'context' must be an object of condition keys")
        subject = _subject(body.get("principal"), caller, iam, authenticator)
        facts = RequestFacts(
            now=datetime.now(UTC),
            source_ip=None,
            secure_transport=False,
            extra={str(k).lower(): str(v) for k, v in context.items()},
        )
        permission = Permission(action, resource, _bucket_of(resource))
        decision = guard.authorizer.decide(subject, permission, facts)
        return jsonify(
            {
                "principal": subject.name,
                "action": action,
                "resource": resource,
                "decision": decision.effect,
                "allowed": decision.allowed,
                "explicit": decision.explicit,
                "statement": None if decision.statement is None else decision.statement.to_json(),
                "reason": decision.reason,
            }
        )

    @bp.get("/audit")
    async def search_audit() -> Response:
        await guard.check("zas:ReadAudit", AUDIT_ARN)
        try:
            limit = int(request.args.get("limit", "100"))
        except ValueError:
            raise InvalidArgument("limit must be an integer", ArgumentName="limit") from None
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise InvalidArgument(f"limit must be 1-{MAX_AUDIT_PAGE}", ArgumentName="limit")
        await audit.flush()
        records, cursor = await audit.search(
            principal=request.args.get("principal"),
            action=request.args.get("action"),
            resource_prefix=request.args.get("resource_prefix"),
            decision=request.args.get("decision"),
            since=_time("since"),
            until=_time("until"),
            limit=limit,
            cursor=request.args.get("cursor"),
        )
        return jsonify({"records": [_record_json(r) for r in records], "next_cursor": cursor})

    @bp.post("/audit/query")
    async def query_audit() -> Response:
        body = await json_body()
        await guard.check("zas:QueryAudit", AUDIT_ARN)
        sql, max_rows = sql_request(body)
        await audit.flush()
        result = await audit.query(sql, max_rows=max_rows)
        return jsonify(
            {"columns": result.columns, "rows": result.rows, "truncated": result.truncated}
        )

    @bp.get("/audit/export")
    async def export_audit() -> Response:
        await guard.check("zas:ExportAudit", AUDIT_ARN)
        since, until = _time("since"), _time("until")
        await audit.flush()
        with tempfile.TemporaryDirectory(prefix="zas-export-") as tmp:
            dest = Path(tmp) / "audit.parquet"
            rows = await audit.export_parquet(dest, since=since, until=until)
            data = await trio.Path(dest).read_bytes()
        return Response(
            data,
            mimetype="application/vnd.apache.parquet",
            headers={
                "Content-Disposition": 'attachment; filename="audit.parquet"',
                "x-zas-rows": str(rows),
            },
        )

    return bp


def _subject(
    spec: Any, caller: Identity, iam: IamDirectory, authenticator: Authenticator
) -> Identity:
    if spec is None:
        return caller
    if not isinstance(spec, dict):
        raise InvalidRequest("'principal' must be an object")
    if spec.get("anonymous") is True:
        return ANONYMOUS
    if isinstance(spec.get("user"), str):
        iam.user(spec["user"])  # NoSuchEntity for an unknown user
        return authenticator.user_identity(spec["user"], method="dry-run")
    roles, groups = spec.get("roles", []), spec.get("groups", [])
    if not all(isinstance(x, list) and all(isinstance(i, str) for i in x) for x in (roles, groups)):
        raise InvalidRequest("'roles' and 'groups' must be lists of names")
    username = str(spec.get("username", "dry-run"))
    from zas.auth.oidc import WebIdentity  # the JOSE stack only when a dry run needs it

    web = WebIdentity(
        subject=str(spec.get("sub", username)),
        username=username,
        issuer="dry-run",
        audience=(),
        authorized_party=None,
        roles=frozenset(roles),
        groups=frozenset(groups),
        expires_at=datetime.now(UTC),
        issued_at=None,
        claims={"sub": str(spec.get("sub", username)), "preferred_username": username},
        key_id=None,
    )
    return authenticator.web_identity(web, method="dry-run")
