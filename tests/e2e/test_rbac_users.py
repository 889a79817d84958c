"""Users, access keys and named policies through /admin and /rbac, enforced on S3 calls made
by boto3 with the users' own keys."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.admin_api import AdminApi, Keys, error_of, s3_client
from tests.zasproc import ZasProcess

_ids = itertools.count()


def unique(stem: str) -> str:
    return f"{stem}{next(_ids)}"


@pytest.fixture
def admin(zas: ZasProcess) -> AdminApi:
    return AdminApi(zas)


def code_of(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_a_user_without_policies_is_denied_everything(
    zas: ZasProcess, admin: AdminApi, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    user = s3_client(zas, admin.create_user(unique("nobody")))

    for call in (
        lambda: user.list_buckets(),
        lambda: user.get_object(Bucket=bucket, Key="k"),
        lambda: user.list_objects_v2(Bucket=bucket),
        lambda: user.put_object(Bucket=bucket, Key="new", Body=b"x"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert code_of(caught) == "AccessDenied"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="new")


def test_readonly_user_reads_but_writes_and_deletes_are_refused_and_change_nothing(
    zas: ZasProcess, admin: AdminApi, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    reader = s3_client(zas, admin.create_user(unique("reader"), "readonly"))

    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"
    assert [o["Key"] for o in reader.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    with pytest.raises(ClientError) as put:
        reader.put_object(Bucket=bucket, Key="k", Body=b"overwritten")
    with pytest.raises(ClientError) as delete:
        reader.delete_object(Bucket=bucket, Key="k")
    with pytest.raises(ClientError) as create:
        reader.create_bucket(Bucket=unique("readers-bucket"))

    assert {code_of(put), code_of(delete), code_of(create)} == {"AccessDenied"}
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"


def test_readwrite_user_writes_objects_but_cannot_manage_bucket_policies(
    zas: ZasProcess, admin: AdminApi, s3: Any, bucket: str
) -> None:
    writer = s3_client(zas, admin.create_user(unique("writer"), "readwrite"))

    writer.put_object(Bucket=bucket, Key="built/app.tar", Body=b"artifact")
    with pytest.raises(ClientError) as caught:
        writer.put_bucket_policy(Bucket=bucket, Policy='{"Statement": []}')

    assert s3.get_object(Bucket=bucket, Key="built/app.tar")["Body"].read() == b"artifact"
    assert code_of(caught) == "AccessDenied"


def test_username_policy_variable_confines_each_user_to_their_own_prefix(
    zas: ZasProcess, admin: AdminApi, bucket: str
) -> None:
    policy = unique("home-dirs")
    admin.create_policy(
        policy,
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/home/${{aws:username}}/*",
        },
    )
    alice_name = unique("alice")
    alice = s3_client(zas, admin.create_user(alice_name, policy))

    alice.put_object(Bucket=bucket, Key=f"home/{alice_name}/notes", Body=b"mine")
    with pytest.raises(ClientError) as caught:
        alice.put_object(Bucket=bucket, Key="home/bob/notes", Body=b"not mine")

    assert code_of(caught) == "AccessDenied"
    assert alice.get_object(Bucket=bucket, Key=f"home/{alice_name}/notes")["Body"].read() == (
        b"mine"
    )


def test_source_ip_and_time_conditions_are_evaluated_per_request(
    zas: ZasProcess, admin: AdminApi, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    from_loopback, from_elsewhere, expired = unique("lo"), unique("lan"), unique("old")
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    admin.create_policy(
        from_loopback, {**statement, "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}
    )
    admin.create_policy(
        from_elsewhere, {**statement, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    )
    admin.create_policy(
        expired,
        {**statement, "Condition": {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}},
    )

    allowed = s3_client(zas, admin.create_user(unique("u"), from_loopback))
    assert allowed.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    for policy in (from_elsewhere, expired):
        denied = s3_client(zas, admin.create_user(unique("u"), policy))
        with pytest.raises(ClientError) as caught:
            denied.get_object(Bucket=bucket, Key="k")
        assert code_of(caught) == "AccessDenied"


def test_delete_objects_refuses_only_the_keys_the_caller_may_not_delete(
    zas: ZasProcess, admin: AdminApi, s3: Any, bucket: str
) -> None:
    for key in ("tmp/a", "keep/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    policy = unique("tmp-cleaner")
    admin.create_policy(
        policy,
        {
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::{bucket}/tmp/*",
        },
    )
    cleaner = s3_client(zas, admin.create_user(unique("cleaner"), policy))

    result = cleaner.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]}
    )

    assert [d["Key"] for d in result["Deleted"]] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("keep/b", "AccessDenied")]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep/b"]


def test_disabled_key_is_refused_until_enabled_and_a_deleted_key_is_unknown(
    zas: ZasProcess, admin: AdminApi
) -> None:
    name = unique("rotating")
    keys = admin.create_user(name, "readonly")
    user = s3_client(zas, keys)
    user.list_buckets()

    admin.ok("PATCH", f"/admin/users/{name}/keys/{keys.access_key}", {"status": "Inactive"})
    with pytest.raises(ClientError) as disabled:
        user.list_buckets()
    admin.ok("PATCH", f"/admin/users/{name}/keys/{keys.access_key}", {"status": "Active"})
    user.list_buckets()
    admin.ok("DELETE", f"/admin/users/{name}/keys/{keys.access_key}")
    with pytest.raises(ClientError) as deleted:
        user.list_buckets()

    assert code_of(disabled) == "InvalidAccessKeyId"
    assert code_of(deleted) == "InvalidAccessKeyId"


def test_secret_is_returned_once_and_never_stored_in_the_clear(
    fresh_zas: ZasProcess, tmp_path: Path
) -> None:
    fresh_zas.start()
    admin = AdminApi(fresh_zas)
    keys = admin.create_user("keeper", "readonly")

    listed = admin.ok("GET", "/admin/users/keeper/keys")["access_keys"]
    assert [key["access_key_id"] for key in listed] == [keys.access_key]
    assert "secret_access_key" not in listed[0]
    assert fresh_zas.stop() == 0
    for path in fresh_zas.data_dir.rglob("*"):
        if path.is_file():
            assert keys.secret_key.encode() not in path.read_bytes(), path
    # ... yet the key still works after a restart: it is sealed, not lost.
    fresh_zas.start()
    s3_client(fresh_zas, keys).list_buckets()


def test_user_and_policy_errors_are_clear_and_leave_nothing_behind(admin: AdminApi) -> None:
    name = unique("dup")
    admin.create_user(name)

    assert error_of(admin.call("POST", "/admin/users", {"name": name})) == (
        409,
        "EntityAlreadyExists",
    )
    assert error_of(admin.call("POST", "/admin/users", {"name": "bad name!"})) == (
        400,
        "InvalidArgument",
    )
    assert error_of(admin.call("GET", "/admin/users/ghost")) == (404, "NoSuchEntity")
    assert error_of(
        admin.call("POST", "/admin/users", {"name": unique("u"), "policies": ["no-such-policy"]})
    ) == (404, "NoSuchEntity")
    bad = unique("bad")
    assert error_of(
        admin.call(
            "POST",
            "/rbac/policies",
            {"id": bad, "document": {"Statement": [{"Effect": "Allow", "Action": "s3:Frob"}]}},
        )
    ) == (400, "MalformedPolicy")
    assert error_of(admin.call("GET", f"/rbac/policies/{bad}")) == (404, "NoSuchEntity")
    assert error_of(admin.call("DELETE", "/rbac/policies/admin")) == (400, "InvalidRequest")


def test_an_attached_policy_cannot_be_deleted_until_detached(admin: AdminApi) -> None:
    policy, user = unique("attached"), unique("holder")
    admin.create_policy(policy, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    admin.create_user(user, policy)

    assert error_of(admin.call("DELETE", f"/rbac/policies/{policy}")) == (409, "DeleteConflict")
    admin.ok("DELETE", f"/admin/users/{user}/policies/{policy}")
    admin.ok("DELETE", f"/rbac/policies/{policy}")
    assert error_of(admin.call("GET", f"/rbac/policies/{policy}")) == (404, "NoSuchEntity")


def test_updating_a_policy_changes_what_its_users_may_do_at_once(
    zas: ZasProcess, admin: AdminApi, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    policy = unique("evolving")
    admin.create_policy(policy, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})
    user = s3_client(zas, admin.create_user(unique("u"), policy))
    with pytest.raises(ClientError):
        user.get_object(Bucket=bucket, Key="k")

    admin.ok(
        "PUT",
        f"/rbac/policies/{policy}",
        {
            "document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        },
    )

    assert user.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_management_api_needs_credentials_and_permission(zas: ZasProcess, admin: AdminApi) -> None:
    anonymous = AdminApi(zas, keys=None)
    reader = AdminApi(zas, keys=admin.create_user(unique("reader"), "readonly"))
    wrong_secret = AdminApi(zas, keys=Keys(reader.keys.access_key, "not-the-secret"))  # type: ignore[union-attr]

    assert error_of(anonymous.call("GET", "/admin/users")) == (403, "AccessDenied")
    assert error_of(reader.call("GET", "/admin/users")) == (403, "AccessDenied")
    assert error_of(reader.call("POST", "/admin/users", {"name": unique("x")})) == (
        403,
        "AccessDenied",
    )
    assert error_of(wrong_secret.call("GET", "/admin/whoami")) == (403, "SignatureDoesNotMatch")
    assert reader.ok("GET", "/admin/whoami")["kind"] == "user"


def test_dry_run_names_the_deciding_statement(admin: AdminApi, bucket: str) -> None:
    policy, user = unique("dry"), unique("dry-user")
    admin.create_policy(
        policy,
        {"Sid": "ReadReleases", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/releases/*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*",
         "Resource": f"arn:aws:s3:::{bucket}/releases/secret*"},
    )  # fmt: skip
    admin.create_user(user, policy)

    def decide(resource: str) -> Any:
        return admin.ok(
            "POST",
            "/rbac/authorize",
            {"principal": {"user": user}, "action": "s3:GetObject", "resource": resource},
        )

    allowed = decide(f"arn:aws:s3:::{bucket}/releases/v1.tar")
    denied = decide(f"arn:aws:s3:::{bucket}/releases/secret.key")
    implicit = decide(f"arn:aws:s3:::{bucket}/other")

    assert (allowed["decision"], allowed["statement"]["sid"]) == ("Allow", "ReadReleases")
    assert (denied["decision"], denied["explicit"], denied["statement"]["sid"]) == (
        "Deny",
        True,
        "NoSecrets",
    )
    assert (implicit["decision"], implicit["explicit"], implicit["statement"]) == (
        "Deny",
        False,
        None,
    )
