"""STS session tokens: sealed, bound to their key, expiring; and the request parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zas.auth.oidc import WebIdentity
from zas.auth.sealing import MasterKey, SealError, load_or_create_master_key
from zas.auth.sts import (
    AssumeRoleRequest,
    SessionTokens,
    parse_assume_role,
    render_credentials,
)
from zas.protocol.errors import ExpiredToken, InvalidArgument, InvalidToken

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = MasterKey(bytes(range(32)))


def web_identity() -> WebIdentity:
    return WebIdentity(
        subject="0b6f-sub",
        username="writer",
        issuer="http://127.0.0.1:8180/realms/zas",
        audience=("zas",),
        authorized_party="zas",
        roles=frozenset({"zas-writer"}),
        groups=frozenset({"/platform"}),
        expires_at=NOW + timedelta(minutes=5),
        issued_at=NOW,
        claims={"sub": "0b6f-sub", "email": "writer@example.com"},
        key_id="k1",
    )


def request(duration: timedelta = timedelta(hours=1)) -> AssumeRoleRequest:
    return AssumeRoleRequest("token", "arn:aws:iam:::role/zas-writer", "ci-run", duration)


def test_a_session_token_opens_to_the_session_it_was_issued_for() -> None:
    tokens = SessionTokens(KEY)
    session, token = tokens.issue(web_identity(), request(), ("readwrite",), NOW)

    opened = SessionTokens(KEY).open(token, NOW + timedelta(minutes=59))

    assert opened == session
    assert opened.role == "zas-writer"
    assert opened.policies == ("readwrite",)
    assert opened.arn == "arn:aws:sts:::assumed-role/zas-writer/ci-run"
    assert opened.claims["email"] == "writer@example.com"
    assert session.secret_access_key not in token  # sealed, not merely encoded


def test_an_expired_session_is_refused() -> None:
    tokens = SessionTokens(KEY)
    _, token = tokens.issue(web_identity(), request(timedelta(seconds=900)), (), NOW)

    with pytest.raises(ExpiredToken):
        tokens.open(token, NOW + timedelta(seconds=900))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
        lambda t: t.replace("zas1.", "zas2."),
        lambda t: t[:40],
        lambda t: "",
        lambda t: "zas1." + "!" * 50,
    ],
)
def test_a_tampered_or_foreign_token_is_invalid(mangle: object) -> None:
    tokens = SessionTokens(KEY)
    _, token = tokens.issue(web_identity(), request(), (), NOW)

    with pytest.raises(InvalidToken):
        tokens.open(mangle(token), NOW)  # type: ignore[operator]


def test_a_token_sealed_under_another_master_key_is_invalid() -> None:
    _, token = SessionTokens(MasterKey(b"\x01" * 32)).issue(web_identity(), request(), (), NOW)

    with pytest.raises(InvalidToken):
        SessionTokens(KEY).open(token, NOW)


def test_sealed_values_are_bound_to_their_context() -> None:
    sealed = KEY.seal(b"secret", context=b"zas-access-key:A")

    assert KEY.open(sealed, context=b"zas-access-key:A") == b"secret"
    with pytest.raises(SealError):
        KEY.open(sealed, context=b"zas-access-key:B")


def test_the_master_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    data_dir = tmp_path
    first = load_or_create_master_key(data_dir, None)
    sealed = first.seal(b"x", context=b"c")

    again = load_or_create_master_key(data_dir, None)

    assert again.open(sealed, context=b"c") == b"x"
    assert (data_dir / "master.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("params", "argument"),
    [
        ({"RoleArn": "arn:aws:iam:::role/r", "RoleSessionName": "s1"}, "WebIdentityToken"),
        ({"WebIdentityToken": "t", "RoleArn": "not-a-role", "RoleSessionName": "s1"}, "RoleArn"),
        (
            {"WebIdentityToken": "t", "RoleArn": "arn:aws:iam:::role/r", "RoleSessionName": "a b"},
            "RoleSessionName",
        ),
        (
            {"WebIdentityToken": "t", "RoleArn": "arn:aws:iam:::role/r", "DurationSeconds": "60"},
            "DurationSeconds",
        ),
        (
            {"WebIdentityToken": "t", "RoleArn": "arn:aws:iam:::role/r", "DurationSeconds": "x"},
            "DurationSeconds",
        ),
    ],
)
def test_bad_assume_role_parameters_name_the_argument(
    params: dict[str, str], argument: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_assume_role(params)

    assert caught.value.details["ArgumentName"] == argument


def test_assume_role_parameters_default_like_aws() -> None:
    parsed = parse_assume_role(
        {"WebIdentityToken": "t", "RoleArn": "arn:aws:iam::123456789012:role/ci/zas-writer"}
    )

    assert (parsed.role, parsed.duration) == ("zas-writer", timedelta(hours=1))


def test_credentials_xml_has_what_botocore_reads() -> None:
    session, token = SessionTokens(KEY).issue(web_identity(), request(), (), NOW)

    xml = render_credentials(session, token, web_identity(), "REQ1").decode()

    for element in (
        f"<AccessKeyId>{session.access_key_id}</AccessKeyId>",
        f"<SecretAccessKey>{session.secret_access_key}</SecretAccessKey>",
        f"<SessionToken>{token}</SessionToken>",
        "<Expiration>2026-11-27T13:00:00Z</Expiration>",
        "<SubjectFromWebIdentityToken>0b6f-sub</SubjectFromWebIdentityToken>",
    ):
        assert element in xml
