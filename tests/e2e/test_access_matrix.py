"""Every route is guarded: an access matrix of callers x routes x addressing styles.

Callers: anonymous, IAM users (readonly / readwrite / admin keys), STS sessions from Keycloak
tokens, Keycloak bearer tokens, and every broken credential (expired, wrong issuer, wrong
audience, unknown signing key, `alg: none`, tampered claims, tampered SigV4 signature, unknown
access key, tampered session token). Routes: the S3 operations at `/`, `/s3/` and
virtual-hosted style, presigned URLs, and the /admin and /rbac JSON APIs. Each cell has its
status and error code; every refused write is checked with root to have changed nothing, every
refused read to have returned none of the object's bytes. Then path tricks (`%2F`, `..`,
double encoding, case, `//`) against a bucket whose policy opens only `public/*` to everyone.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.e2e import access_matrix_support as am
from tests.e2e.access_matrix_support import STYLES, Caller, Target, address, call, error_code
from tests.e2e.admin_api import AdminApi, Keys
from tests.e2e.raw import RawResponse
from tests.idp import keycloak as kc
from tests.idp.keycloak import Keycloak
from tests.zasproc import ZasProcess

BUCKET = "matrix"  # the bucket every S3 route of the matrix addresses
KEY = "data/artifact.bin"
BODY = b"matrix-artifact-bytes-0123456789"
VICTIM = b"victim-bytes"  # each DELETE case gets an object of its own with these bytes
POLICY_BUCKET = "matrix-policy"  # PutBucketPolicy target (so no grant ever reaches BUCKET)

TRICKS = "tricks"  # a bucket policy opens tricks/public/* to anonymous GetObject, nothing else
PUBLIC_KEY, PUBLIC = "public/readme.txt", b"public-bytes"
PRIVATE_KEY, PRIVATE = "private/secret.txt", b"PRIVATE-SECRET-never-anonymous"

LEEWAY = 1  # ZAS_OIDC_LEEWAY_SECONDS
ROLE_POLICIES = {
    kc.ROLE_READONLY: ["readonly"],
    kc.ROLE_WRITER: ["readwrite"],
    kc.ROLE_ADMIN: ["admin"],
}


# --- the server and its callers ---------------------------------------------------------------


@attrs.frozen
class World:
    zas: ZasProcess
    root: Any  # boto3 S3 client with the root keys (verification only)
    admin_api: AdminApi  # root, JSON APIs
    callers: dict[str, Caller]


def _public_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AnonymousPublicOnly",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{TRICKS}/public/*",
                }
            ],
        }
    )


def _assume(zas: ZasProcess, token: str, role: str) -> Caller:
    """STS AssumeRoleWithWebIdentity, sent unsigned (as the AWS SDKs do) by a raw request."""
    form = (
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=matrix"
        f"&RoleArn=arn:aws:iam:::role/{role}&WebIdentityToken={token}"
    )
    response = call(
        zas,
        Caller("sts"),
        "POST",
        Target("/"),
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200, response

    def field(name: str) -> str:
        start = response.body.index(f"<{name}>".encode()) + len(name) + 2
        return response.body[start : response.body.index(f"</{name}>".encode())].decode()

    keys = Keys(field("AccessKeyId"), field("SecretAccessKey"))
    return Caller(f"sts-{role}", keys, session_token=field("SessionToken"))


@pytest.fixture(scope="module")
def world(keycloak: Keycloak, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    zas = ZasProcess(
        tmp_path_factory.mktemp("access-matrix") / "data",
        env={
            "ZAS_DOMAIN": am.DOMAIN,
            "ZAS_OIDC_ISSUER": keycloak.issuer,
            "ZAS_ROLE_POLICIES": json.dumps(ROLE_POLICIES),
            "ZAS_OIDC_LEEWAY_SECONDS": str(LEEWAY),
        },
    ).start()
    try:
        yield _populate(zas, keycloak)
    finally:
        assert zas.stop() == 0, zas.log()


def _populate(zas: ZasProcess, keycloak: Keycloak) -> World:
    # The short-lived token first: accepted while fresh (so its refusal in the matrix is about
    # expiry alone), and its lifespan runs out while the rest is set up.
    short = keycloak.token(kc.READER, client_id=kc.SHORT_CLIENT_ID)
    expires_at = kc.decode_jwt(short)[1]["exp"]
    fresh = call(zas, Caller("fresh", bearer=short), "GET", Target(f"/{BUCKET}/{KEY}"))
    assert (fresh.status, error_code(fresh)) == (404, "NoSuchBucket"), fresh

    root = zas.client()
    for bucket in (BUCKET, POLICY_BUCKET, TRICKS):
        root.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    root.put_object(Bucket=BUCKET, Key=KEY, Body=BODY)  # type: ignore[attr-defined]
    root.put_object(Bucket=TRICKS, Key=PUBLIC_KEY, Body=PUBLIC)  # type: ignore[attr-defined]
    root.put_object(Bucket=TRICKS, Key=PRIVATE_KEY, Body=PRIVATE)  # type: ignore[attr-defined]
    root.put_bucket_policy(Bucket=TRICKS, Policy=_public_policy())  # type: ignore[attr-defined]

    admin_api = AdminApi(zas)
    reader, writer, admin = (keycloak.token(user) for user in (kc.READER, kc.WRITER, kc.ADMIN))
    claims = kc.decode_jwt(reader)[1]
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-keycloaks"})
    rw_keys = admin_api.create_user("matrix-readwrite", "readwrite")
    sts_reader = _assume(zas, reader, kc.ROLE_READONLY)
    assert sts_reader.session_token is not None
    tampered_session = sts_reader.session_token[:-8] + (
        "AAAAAAAA" if not sts_reader.session_token.endswith("AAAAAAAA") else "BBBBBBBB"
    )

    callers = [
        Caller("anonymous"),
        Caller("iam-readonly", admin_api.create_user("matrix-readonly", "readonly")),
        Caller("iam-readwrite", rw_keys),
        Caller("iam-admin", admin_api.create_user("matrix-admin", "admin")),
        Caller("iam-no-policy", admin_api.create_user("matrix-nothing")),
        attrs.evolve(sts_reader, name="sts-reader"),
        attrs.evolve(_assume(zas, writer, kc.ROLE_WRITER), name="sts-writer"),
        Caller("bearer-reader", bearer=reader),
        Caller("bearer-writer", bearer=writer),
        Caller("bearer-admin", bearer=admin),
        Caller("bearer-no-roles", bearer=keycloak.token(kc.NOBODY)),
        # -- broken credentials: refused before authorization, never downgraded to anonymous
        Caller("expired-token", bearer=short),
        Caller(
            "wrong-issuer",
            bearer=jwt.encode(
                {"alg": "RS256", "kid": "not-keycloaks"},
                {**claims, "iss": "http://127.0.0.1:1/realms/evil"},
                stranger,
            ),
        ),
        Caller("other-realm", bearer=keycloak.admin_token()),  # Keycloak-signed, realm master
        Caller("wrong-audience", bearer=keycloak.token(kc.READER, client_id=kc.OTHER_CLIENT_ID)),
        Caller(
            "jwt-unknown-key",
            bearer=jwt.encode({"alg": "RS256", "kid": "not-keycloaks"}, claims, stranger),
        ),
        Caller(
            "alg-none",
            bearer=am.forge(reader, {"alg": "none", "typ": "JWT"}).rpartition(".")[0] + ".",
        ),
        Caller(
            "jwt-tampered",  # claims changed to the admin's, Keycloak's signature kept
            bearer=am.forge(
                reader, preferred_username="admin", realm_access={"roles": [kc.ROLE_ADMIN]}
            ),
        ),
        Caller("sigv4-tampered", rw_keys, tamper_signature=True),
        Caller("sigv4-unknown-key", Keys("AKIAUNKNOWNMATRIX000", rw_keys.secret_key)),
        attrs.evolve(sts_reader, name="sts-tampered-token", session_token=tampered_session),
    ]

    # Past exp + leeway for the whole module.
    time.sleep(max(0.0, expires_at + LEEWAY + 1.5 - time.time()))
    return World(zas, root, admin_api, {caller.name: caller for caller in callers})


# --- the matrix -------------------------------------------------------------------------------
# One row per caller, one column per route; a cell is the status, and a refused cell (>= 300)
# carries the row's error code. S3 columns hold for all three addressing styles (`/bucket/key`,
# `/s3/bucket/key`, Host `bucket.zas.test` + `/key`; ListBuckets has no virtual-hosted form).
# `= row` repeats another row.
#
#   get  GET object            lst  ListObjectsV2        usr  GET /admin/users
#   hed  HEAD object           lsb  ListBuckets          mku  POST /admin/users
#   put  PUT object (new key)  mkb  CreateBucket         pls  GET /rbac/policies
#   del  DELETE object         pol  PutBucketPolicy      adq  POST /rbac/audit/query
#                                                        aud  GET /rbac/audit

MATRIX = """
caller             error                 get hed put del lst lsb mkb pol | usr mku pls adq aud
anonymous          AccessDenied          403 403 403 403 403 403 403 403 | 403 403 403 403 403
iam-readonly       AccessDenied          200 200 403 403 200 200 403 403 | 403 403 403 403 403
iam-readwrite      AccessDenied          200 200 200 204 200 200 200 403 | 403 403 403 403 403
iam-admin          -                     200 200 200 204 200 200 200 204 | 200 201 200 200 200
iam-no-policy      AccessDenied          403 403 403 403 403 403 403 403 | 403 403 403 403 403
sts-reader         = iam-readonly
sts-writer         = iam-readwrite
bearer-reader      = iam-readonly
bearer-writer      = iam-readwrite
bearer-admin       = iam-admin
bearer-no-roles    = iam-no-policy
expired-token      ExpiredToken          400 400 400 400 400 400 400 400 | 400 400 400 400 400
wrong-issuer       InvalidToken          400 400 400 400 400 400 400 400 | 400 400 400 400 400
other-realm        = wrong-issuer
wrong-audience     = wrong-issuer
jwt-unknown-key    = wrong-issuer
alg-none           = wrong-issuer
jwt-tampered       = wrong-issuer
sts-tampered-token = wrong-issuer
sigv4-tampered     SignatureDoesNotMatch 403 403 403 403 403 403 403 403 | 403 403 403 403 403
sigv4-unknown-key  InvalidAccessKeyId    403 403 403 403 403 403 403 403 | 403 403 403 403 403
"""  # fmt: skip

S3_ROUTES = ("get", "hed", "put", "del", "lst", "lsb", "mkb", "pol")
MANAGEMENT_ROUTES = ("usr", "mku", "pls", "adq", "aud")
ROUTE_IDS = {
    "get": "GetObject", "hed": "HeadObject", "put": "PutObject", "del": "DeleteObject",
    "lst": "ListObjectsV2", "lsb": "ListBuckets", "mkb": "CreateBucket",
    "pol": "PutBucketPolicy", "usr": "GET-admin-users", "mku": "POST-admin-users",
    "pls": "GET-rbac-policies", "adq": "POST-rbac-audit-query", "aud": "GET-rbac-audit",
}  # fmt: skip


def _parse(matrix: str) -> dict[str, dict[str, tuple[int, str | None]]]:
    lines = [line.replace("|", " ").split() for line in matrix.strip().splitlines()]
    columns = lines[0][2:]
    assert tuple(columns) == S3_ROUTES + MANAGEMENT_ROUTES
    rows: dict[str, dict[str, tuple[int, str | None]]] = {}
    for name, code, *statuses in lines[1:]:
        if code == "=":
            rows[name] = rows[statuses[0]]
            continue
        rows[name] = {
            column: (int(status), None if int(status) < 300 else code)
            for column, status in zip(columns, statuses, strict=True)
        }
    return rows


EXPECTED = _parse(MATRIX)


def _cases() -> list[Any]:
    cases = []
    for caller, row in EXPECTED.items():
        for route in S3_ROUTES:
            for style in STYLES:
                if route == "lsb" and style == "vhost":
                    continue
                cases.append(
                    pytest.param(
                        caller, route, style, *row[route], id=f"{caller}-{ROUTE_IDS[route]}-{style}"
                    )
                )
        for route in MANAGEMENT_ROUTES:
            cases.append(
                pytest.param(caller, route, "path", *row[route], id=f"{caller}-{ROUTE_IDS[route]}")
            )
    return cases


def _exists(world: World, bucket: str, key: str) -> bytes | None:
    try:
        got = world.root.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchKey", error
        return None
    body: bytes = got["Body"].read()
    return body


def _bucket_exists(world: World, bucket: str) -> bool:
    try:
        world.root.head_bucket(Bucket=bucket)
    except ClientError as error:
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404, error
        return False
    return True


def _bucket_policy(world: World) -> str:
    try:
        return str(world.root.get_bucket_policy(Bucket=POLICY_BUCKET)["Policy"])
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchBucketPolicy", error
        return ""


def _json(response: RawResponse) -> dict[str, Any]:
    """The JSON object of a management answer ({} for anything else)."""
    try:
        value = json.loads(response.body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _run(world: World, caller: Caller, route: str, style: str, case: str) -> RawResponse:
    """Send one cell's request and check its effect (or its absence) with root afterwards."""
    zas, tag = world.zas, am.slug(case)
    ok_expected = EXPECTED[caller.name][route][0] < 300

    def at(bucket: str | None, key: str | None = None, query: str = "") -> Target:
        return address(zas, style, bucket, key, query)

    if route in ("get", "hed"):
        response = call(zas, caller, "GET" if route == "get" else "HEAD", at(BUCKET, KEY))
        if response.status == 200:
            assert response.body == (BODY if route == "get" else b""), response
        else:  # neither the bytes nor the object's metadata
            assert BODY not in response.body, response
            assert "etag" not in response.headers and "last-modified" not in response.headers
        assert _exists(world, BUCKET, KEY) == BODY
    elif route == "put":
        key = f"new/{tag}"
        response = call(zas, caller, "PUT", at(BUCKET, key), b"written by " + caller.name.encode())
        written = _exists(world, BUCKET, key)
        assert written == (b"written by " + caller.name.encode() if ok_expected else None)
    elif route == "del":
        key = f"victim/{tag}"
        world.root.put_object(Bucket=BUCKET, Key=key, Body=VICTIM)
        response = call(zas, caller, "DELETE", at(BUCKET, key))
        assert _exists(world, BUCKET, key) == (None if ok_expected else VICTIM)
    elif route == "lst":
        response = call(zas, caller, "GET", at(BUCKET, None, "list-type=2"))
        assert (KEY in am.xml_keys(response.body)) == (response.status == 200), response
    elif route == "lsb":
        response = call(zas, caller, "GET", at(None))
        assert (BUCKET in am.xml_buckets(response.body)) == (response.status == 200), response
    elif route == "mkb":
        bucket = f"new-{tag}"
        response = call(zas, caller, "PUT", at(bucket))
        assert _bucket_exists(world, bucket) == ok_expected
    elif route == "pol":
        sid = f"Case{tag}"
        before = _bucket_policy(world)
        document = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": sid,
                        "Effect": "Deny",
                        "Principal": {"AWS": "arn:aws:iam:::user/nobody-at-all"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{POLICY_BUCKET}/*",
                    }
                ],
            }
        )
        response = call(zas, caller, "PUT", at(POLICY_BUCKET, None, "policy"), document.encode())
        after = _bucket_policy(world)
        if ok_expected:
            assert sid in after, after
        else:
            assert after == before and sid not in after, after
    elif route == "usr":
        response = call(zas, caller, "GET", Target("/admin/users"))
        assert ("users" in _json(response)) == (response.status == 200), response
    elif route == "mku":
        name = f"made-{tag}"
        body = json.dumps({"name": name, "policies": ["admin"]}).encode()
        headers = {"Content-Type": "application/json"}
        response = call(zas, caller, "POST", Target("/admin/users"), body, headers)
        made = world.admin_api.call("GET", f"/admin/users/{name}")
        assert made.status == (200 if ok_expected else 404), made
    elif route == "pls":
        response = call(zas, caller, "GET", Target("/rbac/policies"))
        assert ("policies" in _json(response)) == (response.status == 200), response
    elif route == "adq":
        body = json.dumps({"sql": "SELECT principal FROM audit_log LIMIT 5"}).encode()
        headers = {"Content-Type": "application/json"}
        response = call(zas, caller, "POST", Target("/rbac/audit/query"), body, headers)
        assert ("rows" in _json(response)) == (response.status == 200), response
    elif route == "aud":
        response = call(zas, caller, "GET", Target("/rbac/audit?limit=5"))
        assert ("records" in _json(response)) == (response.status == 200), response
    else:  # pragma: no cover
        raise AssertionError(route)
    return response


@pytest.mark.parametrize(("caller", "route", "style", "status", "code"), _cases())
def test_access_matrix(
    world: World, caller: str, route: str, style: str, status: int, code: str | None, request: Any
) -> None:
    response = _run(world, world.callers[caller], route, style, request.node.callspec.id)

    assert (response.status, error_code(response)) == (status, code), response


# --- presigned URLs -------------------------------------------------------------------------

NOW = dt.datetime.now(dt.UTC)


@attrs.frozen
class Presigned:
    """A presigned request: who signs, what is signed, and what is then actually sent."""

    signer: str  # caller whose keys (and session token) sign
    method: str
    style: str = "path"
    key: str = KEY  # the key the URL is signed for
    send_method: str | None = None  # default: method
    send_key: str | None = None  # default: key (a different key: the URL was modified)
    expires: int = 600
    when: dt.datetime | None = None  # signing time (None: now)
    tamper: bool = False  # flip X-Amz-Signature


PRESIGNED = [
    # (id, request, expected status, error code)
    ("readonly-GET", Presigned("iam-readonly", "GET"), 200, None),
    ("readonly-GET-s3-prefix", Presigned("iam-readonly", "GET", "s3"), 200, None),
    ("readonly-GET-vhost", Presigned("iam-readonly", "GET", "vhost"), 200, None),
    ("readonly-PUT-refused", Presigned("iam-readonly", "PUT", key="new/p1"), 403, "AccessDenied"),
    ("readwrite-GET", Presigned("iam-readwrite", "GET"), 200, None),
    ("readwrite-PUT", Presigned("iam-readwrite", "PUT", key="new/p2"), 200, None),
    ("readwrite-PUT-vhost", Presigned("iam-readwrite", "PUT", "vhost", key="new/p3"), 200, None),
    ("sts-reader-GET", Presigned("sts-reader", "GET"), 200, None),
    ("sts-reader-PUT-refused", Presigned("sts-reader", "PUT", key="new/p4"), 403, "AccessDenied"),
    ("sts-writer-PUT", Presigned("sts-writer", "PUT", key="new/p5"), 200, None),
    (
        "expired-GET",  # signed 2 h ago, valid for 60 s: "Request has expired"
        Presigned("iam-readwrite", "GET", expires=60, when=NOW - dt.timedelta(hours=2)),
        403,
        "AccessDenied",
    ),
    (
        "expired-PUT",
        Presigned(
            "iam-readwrite", "PUT", key="new/p6", expires=60, when=NOW - dt.timedelta(hours=2)
        ),
        403,
        "AccessDenied",
    ),
    (
        "modified-key-GET",  # signed for a key the signer may read, sent for another one
        Presigned("iam-readwrite", "GET", key="data/other", send_key=KEY),
        403,
        "SignatureDoesNotMatch",
    ),
    (
        "modified-key-PUT",
        Presigned("iam-readwrite", "PUT", key="new/p7", send_key="new/p7-elsewhere"),
        403,
        "SignatureDoesNotMatch",
    ),
    (
        "GET-url-used-for-PUT",
        Presigned("iam-readwrite", "GET", key="new/p8", send_method="PUT"),
        403,
        "SignatureDoesNotMatch",
    ),
    (
        "tampered-signature-GET",
        Presigned("iam-readwrite", "GET", tamper=True),
        403,
        "SignatureDoesNotMatch",
    ),
    (
        "unknown-key-GET",
        Presigned("sigv4-unknown-key", "GET"),
        403,
        "InvalidAccessKeyId",
    ),
]


@pytest.mark.parametrize(
    ("case", "status", "code"), [pytest.param(*rest, id=name) for name, *rest in PRESIGNED]
)
def test_presigned_urls(world: World, case: Presigned, status: int, code: str | None) -> None:
    signer = world.callers[case.signer]
    assert signer.keys is not None
    signed = address(world.zas, case.style, BUCKET, case.key)
    url = am.presign_url(
        world.zas,
        case.method,
        signed,
        signer.keys,
        session_token=signer.session_token,
        expires=case.expires,
        when=case.when,
    )
    if case.send_key is not None:
        url = url.replace(f"/{case.key}?", f"/{case.send_key}?", 1)
    if case.tamper:
        head, _, signature = url.rpartition("X-Amz-Signature=")
        url = head + "X-Amz-Signature=" + am.flip_last_hex(signature)
    method = case.send_method or case.method
    sent_key = case.send_key or case.key
    payload = f"presigned {case.signer}".encode()
    response = am.send_presigned(
        world.zas, method, url, signed.host, payload if method == "PUT" else b""
    )

    assert (response.status, error_code(response)) == (status, code), response
    if method == "GET":
        assert (response.body == BODY) == (status == 200), response
        assert BODY not in response.body or status == 200
    else:
        assert _exists(world, BUCKET, sent_key) == (payload if status == 200 else None)
        if status != 200:  # neither the key sent nor the key signed was written
            assert _exists(world, BUCKET, case.key) in (None, BODY)
    assert _exists(world, BUCKET, KEY) == BODY


# --- path tricks ------------------------------------------------------------------------------
# Anonymous may GetObject tricks/public/* and nothing else. S3 keys are literal strings: `..`
# and `//` are not resolved, `%2F` is a `/` of the key, `%252F` is a literal `%2F`, and bucket
# names and keys are case-sensitive (DNS names are not: Host TRICKS.zas.test is bucket tricks).
# So a trick either names a key under public/ that does not exist (404 NoSuchKey: the policy
# allowed the read and there was nothing there) or a key or bucket outside the grant
# (403 AccessDenied). Never the private bytes.

DENIED = (403, "AccessDenied")
NO_SUCH_KEY = (404, "NoSuchKey")
PUBLIC_OK = (200, None)
T = TRICKS
H = f"{TRICKS}.{am.DOMAIN}"  # the virtual-hosted Host of bucket tricks (port added when sent)

# (id, path-style path (also sent under /s3), expected | virtual-hosted (Host, path), expected)
PATH_TRICKS = [
    # controls: the grant works, and only for public/
    ("control-public", f"/{T}/public/readme.txt", PUBLIC_OK, (H, "/public/readme.txt"), PUBLIC_OK),
    ("control-private", f"/{T}/private/secret.txt", DENIED, (H, "/private/secret.txt"), DENIED),
    # `..` is part of the key, under public/: allowed, no such key
    ("dotdot", f"/{T}/public/../private/secret.txt", NO_SUCH_KEY,
     (H, "/public/../private/secret.txt"), NO_SUCH_KEY),
    ("dotdot-encoded", f"/{T}/public/%2e%2e/private/secret.txt", NO_SUCH_KEY,
     (H, "/public/%2e%2e/private/secret.txt"), NO_SUCH_KEY),
    ("dotdot-encoded-upper", f"/{T}/public/%2E%2E/private/secret.txt", NO_SUCH_KEY,
     (H, "/public/%2E%2E/private/secret.txt"), NO_SUCH_KEY),
    ("dotdot-through-public-file", f"/{T}/public/readme.txt/../../private/secret.txt",
     NO_SUCH_KEY, (H, "/public/readme.txt/../../private/secret.txt"), NO_SUCH_KEY),
    ("dotdot-double-slash", f"/{T}/public//../private/secret.txt", NO_SUCH_KEY,
     (H, "/public//../private/secret.txt"), NO_SUCH_KEY),
    # %2F decodes to a `/` of the key: still public/../private/secret.txt
    ("slash-encoded", f"/{T}/public%2F..%2Fprivate%2Fsecret.txt", NO_SUCH_KEY,
     (H, "/public%2F..%2Fprivate%2Fsecret.txt"), NO_SUCH_KEY),
    ("all-encoded", f"/{T}/public%2f%2e%2e%2fprivate%2fsecret.txt", NO_SUCH_KEY,
     (H, "/public%2f%2e%2e%2fprivate%2fsecret.txt"), NO_SUCH_KEY),
    # double encoding is decoded once: key "public%2F..." is not under public/ -> denied
    ("double-encoded-slash", f"/{T}/public%252F..%252Fprivate%252Fsecret.txt", DENIED,
     (H, "/public%252F..%252Fprivate%252Fsecret.txt"), DENIED),
    ("double-encoded-dots", f"/{T}/public/%252e%252e/private/secret.txt", NO_SUCH_KEY,
     (H, "/public/%252e%252e/private/secret.txt"), NO_SUCH_KEY),
    ("double-encoded-bucket", f"/{T}%252Fprivate/secret.txt", DENIED,
     (H, "/%252Fprivate/secret.txt"), DENIED),
    # %2F in the bucket part: bucket "tricks/private", which no policy grants
    ("bucket-slash-encoded", f"/{T}%2Fprivate/secret.txt", DENIED,
     (f"{T}%2Fprivate.{am.DOMAIN}", "/secret.txt"), DENIED),
    # case: bucket names and keys are case-sensitive, Host names are not
    ("bucket-upper", "/TRICKS/private/secret.txt", DENIED,
     (H.upper(), "/private/secret.txt"), DENIED),
    ("bucket-upper-public", "/TRICKS/public/readme.txt", DENIED,  # grant names bucket tricks
     ("TRICKS." + am.DOMAIN, "/public/readme.txt"), PUBLIC_OK),  # Host TRICKS = bucket tricks
    ("bucket-mixed-case", "/Tricks/private/secret.txt", DENIED,
     ("Tricks." + am.DOMAIN, "/private/secret.txt"), DENIED),
    ("prefix-upper", f"/{T}/PUBLIC/../private/secret.txt", DENIED,
     (H, "/PUBLIC/../private/secret.txt"), DENIED),
    ("prefix-mixed-case", f"/{T}/Public/../private/secret.txt", DENIED,
     (H, "/Public/../private/secret.txt"), DENIED),
    ("key-mixed-case", f"/{T}/Private/Secret.txt", DENIED, (H, "/Private/Secret.txt"), DENIED),
    # empty segments and dot segments are literal parts of the key
    ("double-slash", f"/{T}//private/secret.txt", DENIED, (H, "//private/secret.txt"), DENIED),
    ("leading-double-slash", f"//{T}/private/secret.txt", DENIED,
     (H, f"//{T}/private/secret.txt"), DENIED),
    ("dot-segment", f"/{T}/./private/secret.txt", DENIED, (H, "/./private/secret.txt"), DENIED),
    ("trailing-slash", f"/{T}/private/secret.txt/", DENIED,
     (H, "/private/secret.txt/"), DENIED),
    ("public-trailing-slash", f"/{T}/public/readme.txt/", NO_SUCH_KEY,
     (H, "/public/readme.txt/"), NO_SUCH_KEY),
    # the bucket named again inside a virtual-hosted path is just part of the key
    ("vhost-bucket-in-path", f"/{T}/{T}/private/secret.txt", DENIED,
     (H, f"/{T}/private/secret.txt"), DENIED),
]  # fmt: skip


def _tricks() -> list[Any]:
    cases = []
    for name, path, expected, (host, vhost_path), vhost_expected in PATH_TRICKS:
        cases.append(pytest.param(path, None, expected, id=f"{name}-path"))
        cases.append(pytest.param("/s3" + path, None, expected, id=f"{name}-s3"))
        cases.append(pytest.param(vhost_path, host, vhost_expected, id=f"{name}-vhost"))
    return cases


@pytest.mark.parametrize(("path", "host", "expected"), _tricks())
def test_path_tricks_never_reach_private_bytes(
    world: World, path: str, host: str | None, expected: tuple[int, str | None]
) -> None:
    zas = world.zas
    target = Target(path, None if host is None else f"{host}:{zas.port}")

    response = call(zas, world.callers["anonymous"], "GET", target)

    assert PRIVATE not in response.body, response
    assert (response.status, error_code(response)) == expected, response
    assert (response.body == PUBLIC) == (expected[0] == 200), response


@pytest.mark.parametrize("style", STYLES)
def test_path_tricks_cannot_write_or_delete_through_the_public_grant(
    world: World, style: str
) -> None:
    zas, anonymous = world.zas, world.callers["anonymous"]
    for trick in ("public/../private/secret.txt", "public%2F..%2Fprivate%2Fsecret.txt"):
        target = address(zas, style, TRICKS, trick)
        put = call(zas, anonymous, "PUT", target, b"overwritten")
        delete = call(zas, anonymous, "DELETE", target)
        assert (put.status, error_code(put)) == DENIED, (trick, put)
        assert (delete.status, error_code(delete)) == DENIED, (trick, delete)
    assert _exists(world, TRICKS, PRIVATE_KEY) == PRIVATE
    assert _exists(world, TRICKS, PUBLIC_KEY) == PUBLIC
    assert _exists(world, TRICKS, "public/../private/secret.txt") is None


# Management API path tricks. Routing is on the percent-decoded path and is not normalised, so a
# trick reaches the guarded route (403), no route (404 NotFound), a slash-merging redirect to
# the guarded route (308), or, for another first segment, the S3 API: a bucket "ADMIN" that a
# reader may read but that does not exist (404 NoSuchBucket) while anonymous is refused (403).
# A path signed with botocore as sent (`%2F`, `%61`) does not match ZAS's canonical URI (it
# decodes first): 403 SignatureDoesNotMatch, fail-closed.
NOT_FOUND = (404, "NotFound")
MGMT_DENIED = (403, "AccessDenied")
NO_SUCH_BUCKET = (404, "NoSuchBucket")
SIGNATURE = (403, "SignatureDoesNotMatch")
REDIRECT = (308, None)

MANAGEMENT_TRICKS = [
    # path                       iam-readonly     bearer-reader    anonymous
    ("/admin/../rbac/policies", NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("/admin/%2e%2e/rbac/policies", NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("/rbac/../admin/users", NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("/health/../admin/users", NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("/admin/users%2F", NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("/admin/users/", NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("/admin%2Fusers", SIGNATURE, MGMT_DENIED, MGMT_DENIED),
    ("/%61dmin/users", SIGNATURE, MGMT_DENIED, MGMT_DENIED),
    ("//admin/users", MGMT_DENIED, MGMT_DENIED, MGMT_DENIED),
    ("/admin/users?x=1", MGMT_DENIED, MGMT_DENIED, MGMT_DENIED),
    ("/admin//users", REDIRECT, REDIRECT, REDIRECT),
    ("/ADMIN/users", NO_SUCH_BUCKET, NO_SUCH_BUCKET, DENIED),
    ("/Admin/users", NO_SUCH_BUCKET, NO_SUCH_BUCKET, DENIED),
    ("/s3/admin/users", NO_SUCH_BUCKET, NO_SUCH_BUCKET, DENIED),
    ("/s3/ADMIN/users", NO_SUCH_BUCKET, NO_SUCH_BUCKET, DENIED),
]
MANAGEMENT_TRICK_CALLERS = ("iam-readonly", "bearer-reader", "anonymous")


@pytest.mark.parametrize(
    ("caller", "path", "expected"),
    [
        pytest.param(caller, path, expected, id=f"{caller}-{path}")
        for path, *row in MANAGEMENT_TRICKS
        for caller, expected in zip(MANAGEMENT_TRICK_CALLERS, row, strict=True)
    ],
)
def test_management_path_tricks_are_never_answered(
    world: World, caller: str, path: str, expected: tuple[int, str | None]
) -> None:
    response = call(world.zas, world.callers[caller], "GET", Target(path))

    assert (response.status, error_code(response)) == expected, response
    assert b"matrix-admin" not in response.body and b'"users"' not in response.body
    if response.status == 308:  # only ever to the guarded route itself
        assert response.headers["location"].endswith("/admin/users")
        again = call(world.zas, world.callers[caller], "GET", Target("/admin/users"))
        assert (again.status, error_code(again)) == MGMT_DENIED


# --- virtual-hosted keys that look like management routes ---------------------------------------


@pytest.mark.parametrize("key", ["admin/users", "rbac/policies", "health"])
def test_virtual_hosted_keys_named_like_management_routes_are_object_keys(
    world: World, key: str
) -> None:
    """With Host <bucket>.zas.test the whole path is the key (zas/protocol/operations.py), so
    /admin/users there is object admin/users of the bucket, not the user list."""
    zas, writer = world.zas, world.callers["iam-readwrite"]
    target = address(zas, "vhost", BUCKET, key)
    body = b"an object called " + key.encode()

    put = call(zas, writer, "PUT", target, body)
    got = call(zas, world.callers["iam-readonly"], "GET", target)

    assert (put.status, error_code(put)) == (200, None), put
    assert (got.status, got.body) == (200, body), got
    assert _exists(world, BUCKET, key) == body
