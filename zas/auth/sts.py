"""STS AssumeRoleWithWebIdentity: a Keycloak token in, temporary SigV4 credentials out.

So boto3, the AWS CLI and rclone work with single sign-on identities unchanged: they sign
with the temporary key and send the session token in `x-amz-security-token`.

Sessions are stateless. The session token is the session itself (key, secret, expiry, who,
which role and its policy names) sealed under the master key, so verifying a request costs
one decryption and no lookup, and nothing has to be stored or expired. The price is that a
session cannot be revoked before it expires except by rotating the master key; the lifetime
is capped (`MAX_DURATION`) for that reason, as AWS caps it.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import attrs

from zas.auth.sealing import MasterKey, SealError
from zas.protocol.errors import ExpiredToken, InvalidArgument, InvalidToken, S3Error

if TYPE_CHECKING:
    from zas.auth.oidc import WebIdentity

TOKEN_PREFIX = "zas1."
_CONTEXT = b"zas-sts-session:v1"
MIN_DURATION = timedelta(seconds=900)
DEFAULT_DURATION = timedelta(hours=1)
MAX_DURATION = timedelta(hours=12)
_ALPHABET = string.ascii_uppercase + string.digits
# Opened tokens kept per process: saves a decryption and a JSON parse per request.
_CACHE_SIZE = 1024
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


@attrs.frozen(repr=False)
class Session:
    access_key_id: str
    secret_access_key: str
    expires_at: datetime
    subject: str
    username: str
    issuer: str
    role: str
    session_name: str
    policies: tuple[str, ...]
    claims: Mapping[str, str]

    def __repr__(self) -> str:
        return f"Session({self.access_key_id!r}, role={self.role!r}, user={self.username!r})"

    @property
    def arn(self) -> str:
        return f"arn:aws:sts:::assumed-role/{self.role}/{self.session_name}"


@attrs.frozen
class AssumeRoleRequest:
    token: str
    role_arn: str
    session_name: str
    duration: timedelta

    @property
    def role(self) -> str:
        # arn:aws:iam::<account>:role/<path/>name -> name (the account part is ignored).
        return self.role_arn.rpartition("/")[2] if ":role/" in self.role_arn else ""


def parse_assume_role(params: Mapping[str, str]) -> AssumeRoleRequest:
    """The form (or query) parameters of an AssumeRoleWithWebIdentity call."""
    token = params.get("WebIdentityToken", "")
    if not token:
        raise InvalidArgument("WebIdentityToken is required", ArgumentName="WebIdentityToken")
    role_arn = params.get("RoleArn", "")
    if ":role/" not in role_arn:
        raise InvalidArgument(
            "RoleArn must name a role: arn:aws:iam:::role/<name>", ArgumentName="RoleArn"
        )
    session_name = params.get("RoleSessionName", "") or "session"
    if not (2 <= len(session_name) <= 64) or not set(session_name) <= set(
        string.ascii_letters + string.digits + "+=,.@-_"
    ):
        raise InvalidArgument(
            "RoleSessionName must be 2-64 characters of letters, digits and +=,.@-_",
            ArgumentName="RoleSessionName",
        )
    try:
        seconds = int(params.get("DurationSeconds") or DEFAULT_DURATION.total_seconds())
    except ValueError:
        raise InvalidArgument(
            "DurationSeconds must be an integer", ArgumentName="DurationSeconds"
        ) from None
    duration = timedelta(seconds=seconds)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise InvalidArgument(
            f"DurationSeconds must be between {int(MIN_DURATION.total_seconds())} and "
            f"{int(MAX_DURATION.total_seconds())}",
            ArgumentName="DurationSeconds",
        )
    return AssumeRoleRequest(token, role_arn, session_name, duration)


def form_params(query: Iterable[tuple[str, str]], body: bytes) -> dict[str, str]:
    params = dict(query)
    params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


class SessionTokens:
    def __init__(self, master: MasterKey) -> None:
        self._master = master
        self._opened: OrderedDict[str, Session] = OrderedDict()

    def issue(
        self,
        identity: WebIdentity,
        request: AssumeRoleRequest,
        policies: tuple[str, ...],
        now: datetime,
    ) -> tuple[Session, str]:
        session = Session(
            access_key_id="ZST" + "".join(secrets.choice(_ALPHABET) for _ in range(17)),
            secret_access_key=secrets.token_urlsafe(30)[:40],
            expires_at=(now + request.duration).replace(microsecond=0),
            subject=identity.subject,
            username=identity.username,
            issuer=identity.issuer,
            role=request.role,
            session_name=request.session_name,
            policies=policies,
            claims=dict(identity.claims),
        )
        payload = json.dumps(
            {
                "ak": session.access_key_id,
                "sk": session.secret_access_key,
                "exp": int(session.expires_at.timestamp()),
                "sub": session.subject,
                "usr": session.username,
                "iss": session.issuer,
                "role": session.role,
                "name": session.session_name,
                "pol": list(session.policies),
                "clm": session.claims,
            },
            separators=(",", ":"),
        ).encode()
        sealed = self._master.seal(payload, context=_CONTEXT)
        return session, TOKEN_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, token: str, now: datetime) -> Session:
        session = self._opened.get(token)
        if session is None:
            session = self._open(token)
            self._opened[token] = session
            if len(self._opened) > _CACHE_SIZE:
                self._opened.popitem(last=False)
        if now >= session.expires_at:
            raise ExpiredToken("The security token included in the request is expired")
        return session

    def _open(self, token: str) -> Session:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 8192:
            raise InvalidToken("The security token included in the request is invalid.")
        body = token[len(TOKEN_PREFIX) :]
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            data = json.loads(self._master.open(sealed, context=_CONTEXT))
            return Session(
                access_key_id=data["ak"],
                secret_access_key=data["sk"],
                expires_at=datetime.fromtimestamp(data["exp"], UTC),
                subject=data["sub"],
                username=data["usr"],
                issuer=data["iss"],
                role=data["role"],
                session_name=data["name"],
                policies=tuple(data["pol"]),
                claims=dict(data["clm"]),
            )
        except (SealError, ValueError, KeyError, TypeError):
            raise InvalidToken("The security token included in the request is invalid.") from None


def render_credentials(
    session: Session, token: str, identity: WebIdentity, request_id: str
) -> bytes:
    audience = identity.audience[0] if identity.audience else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<AssumeRoleWithWebIdentityResponse xmlns="{STS_NAMESPACE}">'
        "<AssumeRoleWithWebIdentityResult>"
        f"<SubjectFromWebIdentityToken>{escape(identity.subject)}</SubjectFromWebIdentityToken>"
        f"<Audience>{escape(audience)}</Audience>"
        "<AssumedRoleUser>"
        f"<Arn>{escape(session.arn)}</Arn>"
        f"<AssumedRoleId>{escape(session.access_key_id)}:{escape(session.session_name)}"
        "</AssumedRoleId>"
        "</AssumedRoleUser>"
        "<Credentials>"
        f"<AccessKeyId>{session.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{session.secret_access_key}</SecretAccessKey>"
        f"<SessionToken>{token}</SessionToken>"
        f"<Expiration>{session.expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
        "</Credentials>"
        f"<Provider>{escape(identity.issuer)}</Provider>"
        "</AssumeRoleWithWebIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</AssumeRoleWithWebIdentityResponse>"
    ).encode()


def render_sts_error(error: S3Error, request_id: str) -> bytes:
    """STS speaks the query protocol: errors are <ErrorResponse><Error>, with a Type."""
    kind = "Receiver" if error.http_status >= 500 else "Sender"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ErrorResponse xmlns="{STS_NAMESPACE}">'
        f"<Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    ).encode()
