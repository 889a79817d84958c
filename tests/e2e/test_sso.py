"""Single sign-on with a real Keycloak: bearer tokens on S3 and admin routes, the token checks
(audience, expiry, alg none, tampering, unknown keys, key rotation), and STS
AssumeRoleWithWebIdentity giving boto3, the AWS CLI and rclone temporary credentials."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.e2e.admin_api import AdminApi, Keys, s3_client
from tests.e2e.clients import client_env, run
from tests.e2e.raw import RawResponse, send
from tests.idp import keycloak as kc
from tests.idp.keycloak import Keycloak
from tests.zasproc import ZasProcess

ROLE_POLICIES = {
    kc.ROLE_READONLY: ["readonly"],
    kc.ROLE_WRITER: ["readwrite"],
    kc.ROLE_ADMIN: ["admin"],
}


@pytest.fixture(scope="module")
def sso(keycloak: Keycloak, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZasProcess]:
    """A ZAS that trusts the test Keycloak, with its roles mapped to the built-in policies."""
    server = ZasProcess(
        tmp_path_factory.mktemp("sso") / "data",
        env={
            "ZAS_OIDC_ISSUER": keycloak.issuer,
            "ZAS_ROLE_POLICIES": json.dumps(ROLE_POLICIES),
            "ZAS_GROUP_POLICIES": json.dumps({kc.GROUP_AUDITORS: ["audit-reader"]}),
            "ZAS_OIDC_JWKS_REFRESH_SECONDS": "1",
            "ZAS_OIDC_LEEWAY_SECONDS": "1",
        },
    ).start()
    root = server.client()
    root.create_bucket(Bucket="sso")  # type: ignore[attr-defined]
    root.put_object(Bucket="sso", Key="release.tar", Body=b"release")  # type: ignore[attr-defined]
    yield server
    assert server.stop() == 0, server.log()


def bearer(method: str, zas: ZasProcess, path: str, token: str, body: bytes = b"") -> RawResponse:
    return send(method, zas.endpoint + path, {"Authorization": f"Bearer {token}"}, body)


def code(response: RawResponse) -> str | None:
    if response.body.startswith(b"{"):
        return str(json.loads(response.body)["error"]["code"])
    return response.code


def object_exists(zas: ZasProcess, key: str) -> bool:
    try:
        zas.client().head_object(Bucket="sso", Key=key)  # type: ignore[attr-defined]
    except ClientError:
        return False
    return True


def test_bearer_tokens_carry_keycloak_roles_into_policies(
    sso: ZasProcess, keycloak: Keycloak
) -> None:
    reader, writer = keycloak.token(kc.READER), keycloak.token(kc.WRITER)
    nobody, admin = keycloak.token(kc.NOBODY), keycloak.token(kc.ADMIN)

    read = bearer("GET", sso, "/sso/release.tar", reader)
    refused = bearer("PUT", sso, "/sso/by-reader", reader, b"x")
    written = bearer("PUT", sso, "/sso/by-writer", writer, b"x")

    assert (read.status, read.body) == (200, b"release")
    assert (refused.status, code(refused)) == (403, "AccessDenied")
    assert not object_exists(sso, "by-reader")
    assert written.status == 200 and object_exists(sso, "by-writer")
    assert code(bearer("GET", sso, "/sso/release.tar", nobody)) == "AccessDenied"
    assert bearer("GET", sso, "/admin/users", admin).status == 200
    assert code(bearer("GET", sso, "/admin/users", writer)) == "AccessDenied"
    whoami = json.loads(bearer("GET", sso, "/admin/whoami", admin).body)
    assert (whoami["name"], whoami["method"]) == ("oidc:admin", "bearer")
    assert sorted(whoami["policies"]) == ["admin", "audit-reader"]  # role + group mapping


def _forge(token: str, header: dict[str, Any] | None = None, **claims: Any) -> str:
    head, payload, signature = token.split(".")

    def encode(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    decoded_payload = kc.decode_jwt(token)[1]
    new_head = encode(header) if header is not None else head
    new_payload = encode({**decoded_payload, **claims}) if claims else payload
    return f"{new_head}.{new_payload}.{signature}"


def test_every_bad_token_is_refused_and_reads_and_writes_nothing(
    sso: ZasProcess, keycloak: Keycloak
) -> None:
    reader = keycloak.token(kc.READER)
    stranger_key = RSAKey.generate_key(2048, parameters={"kid": "not-keycloaks"})
    claims = kc.decode_jwt(reader)[1]
    bad = {
        "wrong audience": keycloak.token(kc.READER, client_id=kc.OTHER_CLIENT_ID),
        "alg none": _forge(reader, {"alg": "none", "typ": "JWT"}).rpartition(".")[0] + ".",
        "tampered": _forge(
            reader, preferred_username="admin", realm_access={"roles": [kc.ROLE_ADMIN]}
        ),
        "unknown key": jwt.encode({"alg": "RS256", "kid": "not-keycloaks"}, claims, stranger_key),
        "wrong issuer": jwt.encode(
            {"alg": "RS256", "kid": "not-keycloaks"},
            {**claims, "iss": "http://127.0.0.1:1/realms/evil"},
            stranger_key,
        ),
        "not a jwt": "definitely-not-a-token",
    }  # fmt: skip

    for name, token in bad.items():
        read = bearer("GET", sso, "/sso/release.tar", token)
        write = bearer("PUT", sso, f"/sso/forged-{name.replace(' ', '-')}", token, b"x")
        assert (read.status, code(read)) == (400, "InvalidToken"), name
        assert read.body != b"release", name
        assert (write.status, code(write)) == (400, "InvalidToken"), name
        assert not object_exists(sso, f"forged-{name.replace(' ', '-')}"), name


def test_an_expired_token_is_refused_as_expired(sso: ZasProcess, keycloak: Keycloak) -> None:
    token = keycloak.token(kc.READER, client_id=kc.SHORT_CLIENT_ID)
    assert bearer("GET", sso, "/sso/release.tar", token).status == 200

    time.sleep(kc.SHORT_TOKEN_LIFESPAN + 2.5)  # the lifespan plus ZAS's 1 s leeway
    expired = bearer("GET", sso, "/sso/release.tar", token)

    assert (expired.status, code(expired)) == (400, "ExpiredToken")


def test_signing_key_rotation_is_picked_up_without_a_restart(
    sso: ZasProcess, keycloak: Keycloak
) -> None:
    before = keycloak.token(kc.READER)
    assert bearer("GET", sso, "/sso/release.tar", before).status == 200

    new_kid = keycloak.rotate_signing_key()
    time.sleep(1.2)  # ZAS refetches keys at most once per ZAS_OIDC_JWKS_REFRESH_SECONDS
    after = keycloak.token(kc.READER)

    assert kc.decode_jwt(after)[0]["kid"] == new_kid != kc.decode_jwt(before)[0]["kid"]
    assert bearer("GET", sso, "/sso/release.tar", after).status == 200
    assert bearer("GET", sso, "/sso/release.tar", before).status == 200  # old key still listed
    health = json.loads(send("GET", sso.endpoint + "/health", {}, b"").body)
    assert health["components"]["identity_provider"]["status"] == "ok"


def sts_client(zas: ZasProcess) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=zas.endpoint,
        region_name="us-east-1",
        aws_access_key_id="unused",
        aws_secret_access_key="unused",
        config=Config(retries={"max_attempts": 0}),
    )


def assume(zas: ZasProcess, token: str, role: str, session: str = "ci") -> dict[str, Any]:
    response = sts_client(zas).assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam:::role/{role}", RoleSessionName=session, WebIdentityToken=token
    )
    credentials: dict[str, Any] = response["Credentials"]
    return credentials


def test_sts_exchanges_a_keycloak_token_for_working_temporary_credentials(
    sso: ZasProcess, keycloak: Keycloak
) -> None:
    credentials = assume(sso, keycloak.token(kc.WRITER), kc.ROLE_WRITER, "build-42")
    s3 = s3_client(
        sso,
        Keys(credentials["AccessKeyId"], credentials["SecretAccessKey"]),
        credentials["SessionToken"],
    )

    s3.put_object(Bucket="sso", Key="from-sts", Body=b"built")
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket="sso", Policy="{}")  # readwrite stops short of policies

    assert object_exists(sso, "from-sts")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    whoami = AdminApi(
        sso,
        keys=Keys(credentials["AccessKeyId"], credentials["SecretAccessKey"]),
        session_token=credentials["SessionToken"],
    ).ok("GET", "/admin/whoami")
    assert whoami["name"] == f"assumed-role/{kc.ROLE_WRITER}/build-42"


def test_sts_refuses_roles_the_token_does_not_carry_and_bad_tokens(
    sso: ZasProcess, keycloak: Keycloak
) -> None:
    cases = {
        "AccessDenied": (keycloak.token(kc.READER), kc.ROLE_WRITER),
        "InvalidIdentityToken": (
            keycloak.token(kc.READER, client_id=kc.OTHER_CLIENT_ID),
            kc.ROLE_READONLY,
        ),
    }
    for expected, (token, role) in cases.items():
        with pytest.raises(ClientError) as caught:
            assume(sso, token, role)
        assert caught.value.response["Error"]["Code"] == expected
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)


def test_a_session_token_from_elsewhere_or_tampered_is_refused(
    sso: ZasProcess, keycloak: Keycloak
) -> None:
    credentials = assume(sso, keycloak.token(kc.READER), kc.ROLE_READONLY)
    keys = Keys(credentials["AccessKeyId"], credentials["SecretAccessKey"])
    token = credentials["SessionToken"]
    tampered = token[:-6] + ("A" * 6 if not token.endswith("A" * 6) else "B" * 6)

    with pytest.raises(ClientError) as bad_token:
        s3_client(sso, keys, tampered).get_object(Bucket="sso", Key="release.tar")
    with pytest.raises(ClientError) as no_token:
        s3_client(sso, keys).get_object(Bucket="sso", Key="release.tar")

    assert bad_token.value.response["Error"]["Code"] == "InvalidToken"
    assert no_token.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    good = s3_client(sso, keys, token).get_object(Bucket="sso", Key="release.tar")
    assert good["Body"].read() == b"release"


def test_aws_cli_and_rclone_work_with_sts_credentials(
    sso: ZasProcess, keycloak: Keycloak, tmp_path: Path
) -> None:
    credentials = assume(sso, keycloak.token(kc.WRITER), kc.ROLE_WRITER)
    upload = tmp_path / "artifact.bin"
    upload.write_bytes(b"cli bytes")
    env = client_env(
        {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    run(["aws", "--endpoint-url", sso.endpoint, "s3", "cp", upload, "s3://sso/via-awscli"], env=env)

    config = tmp_path / "rclone.conf"
    config.write_text(
        "[zas]\ntype = s3\nprovider = Other\n"
        f"endpoint = {sso.endpoint}\nforce_path_style = true\nregion = us-east-1\n"
        f"access_key_id = {credentials['AccessKeyId']}\n"
        f"secret_access_key = {credentials['SecretAccessKey']}\n"
        f"session_token = {credentials['SessionToken']}\n"
    )
    run(["rclone", "--config", config, "copyto", upload, "zas:sso/via-rclone"], env=client_env())

    root = sso.client()
    for key in ("via-awscli", "via-rclone"):
        assert root.get_object(Bucket="sso", Key=key)["Body"].read() == b"cli bytes"  # type: ignore[attr-defined]


def test_sso_requests_are_audited_under_the_keycloak_identity(
    sso: ZasProcess, keycloak: Keycloak
) -> None:
    bearer("GET", sso, "/sso/release.tar", keycloak.token(kc.READER))
    credentials = assume(sso, keycloak.token(kc.WRITER), kc.ROLE_WRITER, "audited")
    s3_client(
        sso,
        Keys(credentials["AccessKeyId"], credentials["SecretAccessKey"]),
        credentials["SessionToken"],
    ).put_object(Bucket="sso", Key="audited", Body=b"x")

    found = AdminApi(sso).ok("GET", "/rbac/audit?limit=1000")["records"]
    seen = {(r["principal"], r["auth_method"], r["action"]) for r in found}

    assert ("oidc:reader", "bearer", "s3:GetObject") in seen
    assert ("oidc:writer", "bearer", "sts:AssumeRoleWithWebIdentity") in seen
    assert (f"assumed-role/{kc.ROLE_WRITER}/audited", "sigv4", "s3:PutObject") in seen
