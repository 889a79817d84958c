"""Who is asking: SigV4 (root key, user keys, STS session keys), OIDC bearer tokens, or nobody.

Every route authenticates here, then authorizes (`zas.auth.authorize`). An unsigned request is
not refused at this step: it becomes the anonymous identity, which only a bucket policy with
`"Principal": "*"` can grant anything. A request that tries to authenticate and fails (bad
signature, unknown key, expired token) is refused here, never downgraded to anonymous.

Identities carry what authorization needs, computed once: the ARNs a bucket policy's Principal
is matched against, the identity policies, and the condition keys (`aws:username`, `jwt:sub`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from zas.auth.credentials import AccessKey
from zas.auth.iam import IamDirectory
from zas.auth.policy import Policy
from zas.auth.sts import Session, SessionTokens
from zas.protocol import sigv4
from zas.protocol.errors import InvalidAccessKeyId, InvalidRequest, InvalidToken
from zas.protocol.http import HttpRequest

if TYPE_CHECKING:  # loaded only when an issuer is configured (zas.lazy)
    from zas.auth.oidc import OidcVerifier, WebIdentity

ROOT_ARN = "arn:aws:iam:::root"
SECURITY_TOKEN = "x-amz-security-token"


@attrs.frozen
class Identity:
    name: str  # as the audit log shows it: "root", "alice", "assumed-role/writer/ci", ...
    kind: str  # "root" | "user" | "session" | "web" | "anonymous"
    method: str  # "sigv4" | "presigned" | "bearer" | "anonymous"
    arns: frozenset[str]
    policies: tuple[Policy, ...]
    context: Mapping[str, str]
    access_key_id: str | None = None
    signature: sigv4.VerifiedSignature | None = None

    @property
    def is_root(self) -> bool:
        return self.kind == "root"

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Identity(
    "anonymous", "anonymous", "anonymous", frozenset(), (), {"aws:principaltype": "Anonymous"}
)


def _jwt_context(claims: Mapping[str, str]) -> dict[str, str]:
    return {f"jwt:{name.lower()}": value for name, value in claims.items()}


class Authenticator:
    def __init__(
        self,
        root: AccessKey,
        iam: IamDirectory,
        sessions: SessionTokens,
        oidc: OidcVerifier | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.root = root
        self.iam = iam
        self.sessions = sessions
        self.oidc = oidc
        self.clock = clock
        self._root_identity = Identity(
            "root",
            "root",
            "sigv4",
            frozenset({ROOT_ARN}),
            (),
            {"aws:username": "root", "aws:userid": "root", "aws:principaltype": "Account"},
            root.access_key_id,
        )

    async def authenticate(self, request: HttpRequest) -> Identity:
        authorization = request.header("authorization")
        if authorization is not None and authorization[:7].lower() == "bearer ":
            return await self._bearer(authorization[7:].strip())
        if not sigv4.is_signed(request):
            if request.has_query("AWSAccessKeyId") and request.has_query("Signature"):
                # boto3's generate_presigned_url still defaults to SigV2 for custom endpoints.
                raise InvalidRequest(
                    "Signature Version 2 presigned URLs are not supported; sign with SigV4 "
                    "(boto3: Config(signature_version='s3v4'))."
                )
            return ANONYMOUS
        token = request.header(SECURITY_TOKEN) or request.query_value("X-Amz-Security-Token")
        if token:
            return self._session(request, token)
        return self._signed(request)

    def _signed(self, request: HttpRequest) -> Identity:
        user_of: dict[str, str] = {}

        def lookup(access_key_id: str) -> str | None:
            if access_key_id == self.root.access_key_id:
                return self.root.secret_access_key
            found = self.iam.secret_for(access_key_id)
            if found is None:
                return None
            user_of[access_key_id] = found[1]
            return found[0]

        verified = sigv4.verify(request, lookup, self.clock())
        method = "presigned" if verified.presigned else "sigv4"
        user = user_of.get(verified.access_key)
        if user is None:
            return attrs.evolve(self._root_identity, method=method, signature=verified)
        return attrs.evolve(
            self.user_identity(user, method=method),
            access_key_id=verified.access_key,
            signature=verified,
        )

    def user_identity(self, user: str, *, method: str) -> Identity:
        return Identity(
            user,
            "user",
            method,
            frozenset({f"arn:aws:iam:::user/{user}"}),
            self.iam.user_policies(user),
            {"aws:username": user, "aws:userid": user, "aws:principaltype": "User"},
        )

    def _session(self, request: HttpRequest, token: str) -> Identity:
        session: Session = self.sessions.open(token, self.clock())

        def lookup(access_key_id: str) -> str | None:
            return session.secret_access_key if access_key_id == session.access_key_id else None

        try:
            verified = sigv4.verify(request, lookup, self.clock())
        except InvalidAccessKeyId:
            raise InvalidToken(
                "The security token does not belong to the access key that signed the request."
            ) from None
        return Identity(
            f"assumed-role/{session.role}/{session.session_name}",
            "session",
            "presigned" if verified.presigned else "sigv4",
            frozenset({session.arn, f"arn:aws:iam:::role/{session.role}"}),
            self.iam.policies_named(session.policies),
            {
                "aws:username": session.username,
                "aws:userid": f"{session.role}:{session.session_name}",
                "aws:principaltype": "AssumedRole",
                **_jwt_context(session.claims),
            },
            session.access_key_id,
            verified,
        )

    async def _bearer(self, token: str) -> Identity:
        if self.oidc is None:
            raise InvalidToken("Bearer tokens are not accepted: no OIDC issuer is configured.")
        web = await self.oidc.verify(token)
        return self.web_identity(web, method="bearer")

    def _web_policies(self, web: WebIdentity) -> frozenset[str]:
        if self.oidc is None:
            return frozenset()
        from zas.auth.oidc import policies_for

        return policies_for(web, self.oidc.settings)

    def web_identity(self, web: WebIdentity, *, method: str) -> Identity:
        return Identity(
            f"oidc:{web.username}",
            "web",
            method,
            frozenset(
                {f"arn:zas:oidc:::user/{web.username}"}
                | {f"arn:aws:iam:::role/{role}" for role in web.roles}
            ),
            self.iam.policies_named(sorted(self._web_policies(web))),
            {
                "aws:username": web.username,
                "aws:userid": web.subject,
                "aws:principaltype": "WebIdentityUser",
                **_jwt_context(web.claims),
            },
        )
