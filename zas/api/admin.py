"""`/admin`: users and their access keys (the `zas user` / `zas key` CLI speaks to this).

    GET    /admin/whoami                         who the caller is (any authenticated caller)
    GET    /admin/users                          zas:ListUsers
    POST   /admin/users {"name", "policies"}     zas:CreateUser
    GET    /admin/users/<name>                   zas:GetUser
    DELETE /admin/users/<name>                   zas:DeleteUser (and its keys)
    POST   /admin/users/<name>/policies {"policy"}   zas:AttachUserPolicy
    DELETE /admin/users/<name>/policies/<id>     zas:DetachUserPolicy
    GET    /admin/users/<name>/keys              zas:ListAccessKeys
    POST   /admin/users/<name>/keys              zas:CreateAccessKey (the secret, once)
    PATCH  /admin/users/<name>/keys/<id> {"status": "Active"|"Inactive"}   zas:UpdateAccessKey
    DELETE /admin/users/<name>/keys/<id>         zas:DeleteAccessKey

Resources are `arn:zas:iam:::user/<name>`, so a policy with `${aws:username}` can let users
manage their own keys.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify

from zas.api.guard import Guard, json_body, user_arn
from zas.auth.iam import IamDirectory
from zas.meta.iam import AccessKeyRecord, UserRecord
from zas.protocol.errors import InvalidRequest


def _user_json(user: UserRecord) -> dict[str, Any]:
    return {
        "name": user.name,
        "arn": f"arn:aws:iam:::user/{user.name}",
        "created": user.created.isoformat(),
        "policies": list(user.policies),
    }


def _key_json(key: AccessKeyRecord) -> dict[str, Any]:
    return {
        "access_key_id": key.access_key_id,
        "user": key.user_name,
        "status": key.status,
        "created": key.created.isoformat(),
    }


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name!r} must be a non-empty string")
    return value


def admin_blueprint(guard: Guard, iam: IamDirectory) -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix="/admin")

    @bp.get("/whoami")
    async def whoami() -> Response:
        identity = await guard.identity()
        return jsonify(
            {
                "name": identity.name,
                "kind": identity.kind,
                "method": identity.method,
                "arns": sorted(identity.arns),
                "policies": [policy.id for policy in identity.policies],
            }
        )

    @bp.get("/users")
    async def list_users() -> Response:
        await guard.check("zas:ListUsers", user_arn("*"))
        return jsonify({"users": [_user_json(user) for user in iam.users()]})

    @bp.post("/users")
    async def create_user() -> tuple[Response, int]:
        body = await json_body()
        name = _string(body, "name")
        await guard.check("zas:CreateUser", user_arn(name))
        policies = body.get("policies", [])
        if not isinstance(policies, list) or not all(isinstance(p, str) for p in policies):
            raise InvalidRequest("'policies' must be a list of policy names")
        user = await iam.create_user(name, policies)
        return jsonify(_user_json(user)), 201

    @bp.get("/users/<name>")
    async def get_user(name: str) -> Response:
        await guard.check("zas:GetUser", user_arn(name))
        return jsonify(_user_json(iam.user(name)))

    @bp.delete("/users/<name>")
    async def delete_user(name: str) -> tuple[str, int]:
        await guard.check("zas:DeleteUser", user_arn(name))
        await iam.delete_user(name)
        return "", 204

    @bp.post("/users/<name>/policies")
    async def attach_policy(name: str) -> Response:
        body = await json_body()
        await guard.check("zas:AttachUserPolicy", user_arn(name))
        await iam.attach_policy(name, _string(body, "policy"))
        return jsonify(_user_json(iam.user(name)))

    @bp.delete("/users/<name>/policies/<policy_id>")
    async def detach_policy(name: str, policy_id: str) -> Response:
        await guard.check("zas:DetachUserPolicy", user_arn(name))
        await iam.detach_policy(name, policy_id)
        return jsonify(_user_json(iam.user(name)))

    @bp.get("/users/<name>/keys")
    async def list_keys(name: str) -> Response:
        await guard.check("zas:ListAccessKeys", user_arn(name))
        return jsonify({"access_keys": [_key_json(key) for key in iam.access_keys(name)]})

    @bp.post("/users/<name>/keys")
    async def create_key(name: str) -> tuple[Response, int]:
        await guard.check("zas:CreateAccessKey", user_arn(name))
        key = await iam.create_access_key(name)
        return jsonify(
            {
                "access_key_id": key.access_key_id,
                "secret_access_key": key.secret_access_key,
                "user": key.user_name,
                "status": "Active",
                "created": key.created.isoformat(),
            }
        ), 201

    @bp.route("/users/<name>/keys/<access_key_id>", methods=["PATCH", "PUT"])
    async def update_key(name: str, access_key_id: str) -> tuple[str, int]:
        body = await json_body()
        await guard.check("zas:UpdateAccessKey", user_arn(name))
        await iam.set_access_key_status(name, access_key_id, _string(body, "status"))
        return "", 204

    @bp.delete("/users/<name>/keys/<access_key_id>")
    async def delete_key(name: str, access_key_id: str) -> tuple[str, int]:
        await guard.check("zas:DeleteAccessKey", user_arn(name))
        await iam.delete_access_key(name, access_key_id)
        return "", 204

    return bp
