"""Bucket policies through the S3 API (boto3), anonymous downloads they grant, and the
errors for bad documents."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.admin_api import AdminApi, s3_client
from tests.e2e.raw import RawResponse, send
from tests.zasproc import ZasProcess


def public_read(bucket: str, prefix: str = "public/") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AnonymousDownloads",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/{prefix}*",
                }
            ],
        }
    )


def anonymous(method: str, zas: ZasProcess, path: str, body: bytes = b"") -> RawResponse:
    return send(method, zas.endpoint + path, {}, body)


def test_bucket_policy_round_trips_through_boto3(s3: Any, bucket: str) -> None:
    document = public_read(bucket)

    s3.put_bucket_policy(Bucket=bucket, Policy=document)

    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(document)
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_policy(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_principal_star_grants_anonymous_downloads_of_exactly_what_it_names(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="public/tool.tar.gz", Body=b"download me")
    s3.put_object(Bucket=bucket, Key="private/key.pem", Body=b"secret")
    before = anonymous("GET", zas, f"/{bucket}/public/tool.tar.gz")

    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))

    with urllib.request.urlopen(f"{zas.endpoint}/{bucket}/public/tool.tar.gz") as response:
        assert response.read() == b"download me"
    assert (before.status, before.code) == (403, "AccessDenied")
    assert anonymous("HEAD", zas, f"/{bucket}/public/tool.tar.gz").status == 200
    assert anonymous("GET", zas, f"/{bucket}/private/key.pem").code == "AccessDenied"
    assert anonymous("GET", zas, f"/{bucket}").code == "AccessDenied"  # no ListBucket
    put = anonymous("PUT", zas, f"/{bucket}/public/planted", b"malware")
    assert (put.status, put.code) == (403, "AccessDenied")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="public/planted")


def test_removing_the_policy_or_the_bucket_revokes_anonymous_access(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="public/a", Body=b"a")
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    assert anonymous("GET", zas, f"/{bucket}/public/a").status == 200

    s3.delete_bucket_policy(Bucket=bucket)
    assert anonymous("GET", zas, f"/{bucket}/public/a").code == "AccessDenied"

    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    s3.delete_object(Bucket=bucket, Key="public/a")
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)  # same name, new bucket: no inherited policy
    s3.put_object(Bucket=bucket, Key="public/a", Body=b"a")
    assert anonymous("GET", zas, f"/{bucket}/public/a").code == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_policy(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == "NoSuchBucketPolicy"


def test_explicit_deny_in_a_bucket_policy_beats_a_users_allow(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="frozen/release.tar", Body=b"v1")
    admin = AdminApi(zas)
    keys = admin.create_user(f"deny-{bucket}"[:60], "readwrite")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": [f"arn:aws:iam:::user/deny-{bucket}"[:80]]},
                        "Action": ["s3:PutObject", "s3:DeleteObject"],
                        "Resource": f"arn:aws:s3:::{bucket}/frozen/*",
                    }
                ],
            }
        ),
    )
    user = s3_client(zas, keys)

    with pytest.raises(ClientError) as caught:
        user.put_object(Bucket=bucket, Key="frozen/release.tar", Body=b"tampered")
    user.put_object(Bucket=bucket, Key="scratch/x", Body=b"fine")

    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="frozen/release.tar")["Body"].read() == b"v1"


def test_bucket_policy_allow_lets_a_user_without_identity_policies_in(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="shared/report", Body=b"r")
    name = f"guest-{bucket}"[:60]
    user = s3_client(zas, AdminApi(zas).create_user(name))
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam:::user/{name}"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/shared/*",
                    }
                ]
            }
        ),
    )

    assert user.get_object(Bucket=bucket, Key="shared/report")["Body"].read() == b"r"


@pytest.mark.parametrize(
    ("document", "message_part"),
    [
        ("{not json", "JSON"),
        ('["a list"]', "{"),
        (
            '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:Frobnicate",'
            ' "Resource": "arn:aws:s3:::BUCKET/*"}]}',
            "s3:Frobnicate",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",'
            ' "Resource": "arn:aws:s3:::some-other-bucket/*"}]}',
            "resource",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",'
            ' "Resource": "arn:aws:s3:::BUCKET/*"}]}',
            "Principal",
        ),
        (
            '{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject",'
            ' "Resource": "arn:aws:s3:::BUCKET/*"}]}',
            "Effect",
        ),
    ],
)
def test_malformed_bucket_policies_are_refused_and_nothing_is_stored(
    s3: Any, bucket: str, document: str, message_part: str
) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket=bucket, Policy=document.replace("BUCKET", bucket))

    error = caught.value.response["Error"]
    assert (caught.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"]) == (
        400,
        "MalformedPolicy",
    )
    assert message_part.lower() in error["Message"].lower()
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket=bucket)
    assert missing.value.response["Error"]["Code"] == "NoSuchBucketPolicy"


def test_policy_on_a_missing_bucket_is_no_such_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket="no-such-bucket-for-policy", Policy=public_read("x"))

    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


def test_anonymous_presigned_style_tricks_do_not_bypass_the_policy(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    """Path tricks name other keys (S3 keys are literal), never escape the granted prefix."""
    s3.put_object(Bucket=bucket, Key="private/x", Body=b"secret")
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))

    for path in (
        f"/{bucket}/public/../private/x",
        f"/{bucket}/public%2F..%2Fprivate/x",
        f"/{bucket}/public/%2e%2e/private/x",
        f"/{bucket}/PUBLIC/../private/x",
        f"/{bucket}/public%252F..%252Fprivate%252Fx",
    ):
        response = anonymous("GET", zas, path)
        assert b"secret" not in response.body, path
        assert response.status in (403, 404), (path, response)


def test_anonymous_requests_never_reach_objects_without_a_policy(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{zas.endpoint}/{bucket}/k")

    caught.value.close()
    assert caught.value.code == 403
