"""The STS endpoint: AssumeRoleWithWebIdentity at `POST /` (or `/sts`), form-encoded.

boto3's STS client pointed at ZAS (`endpoint_url=...`) posts here, unsigned, as it does to
AWS; the Keycloak token in the body is the authentication. The role asked for must be one of
the token's roles (realm or client roles) and be mapped to policies in the configuration;
the session gets exactly that role's policies.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from zas.api.asgi import BodyTooLarge, RequestBody, Response
from zas.auth.authenticate import Authenticator
from zas.auth.sts import form_params, parse_assume_role, render_credentials
from zas.protocol.errors import (
    AccessDenied,
    ExpiredToken,
    InvalidIdentityToken,
    InvalidRequest,
    InvalidToken,
)
from zas.protocol.http import HttpRequest

if TYPE_CHECKING:
    from zas.auth.oidc import WebIdentity

MAX_STS_BODY = 64 * 1024
FORM = "application/x-www-form-urlencoded"
ACTION = "sts:AssumeRoleWithWebIdentity"


def is_sts_request(request: HttpRequest) -> bool:
    if request.method != "POST" or request.raw_path not in ("/", "/sts", "/sts/"):
        return False
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    return content_type == FORM or request.query_value("Action") is not None


class ExpiredTokenException(ExpiredToken):
    code = "ExpiredTokenException"  # STS's name for it


async def assume_role_with_web_identity(
    request: HttpRequest,
    body: RequestBody,
    authenticator: Authenticator,
    now: datetime,
    request_id: str,
) -> tuple[Response, WebIdentity | None]:
    try:
        data = await body.read(MAX_STS_BODY)
    except BodyTooLarge:
        raise InvalidRequest(f"STS requests are limited to {MAX_STS_BODY} bytes") from None
    params = form_params(request.query, data)
    if params.get("Action") != "AssumeRoleWithWebIdentity":
        raise InvalidRequest(
            f"Unsupported STS action {params.get('Action', '')[:64]!r}; ZAS implements "
            "AssumeRoleWithWebIdentity"
        )
    call = parse_assume_role(params)
    if authenticator.oidc is None:
        raise InvalidIdentityToken("No OIDC identity provider is configured.")
    try:
        web = await authenticator.oidc.verify(call.token)
    except ExpiredToken as exc:
        raise ExpiredTokenException(exc.message) from None
    except InvalidToken as exc:
        raise InvalidIdentityToken(exc.message) from None
    if call.role not in web.roles:
        raise AccessDenied(
            f"Not authorized to perform sts:AssumeRoleWithWebIdentity: the token does not "
            f"carry the role {call.role!r}"
        )
    policies = authenticator.oidc.settings.role_policies.get(call.role, ())
    if not policies:
        raise AccessDenied(f"Role {call.role!r} is not mapped to any policy in ZAS's configuration")
    session, token = authenticator.sessions.issue(web, call, policies, now)
    body_xml = render_credentials(session, token, web, request_id)
    return Response(200, [("Content-Type", "text/xml")], body_xml), web
