"""SigV4 on the wire: header and presigned auth, and every way a request can fail it."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import urllib.request
from typing import Any

import pytest

from tests.e2e.raw import presign, send, sign_headers
from tests.zasproc import ZasProcess


def test_anonymous_requests_are_access_denied(zas: ZasProcess, bucket: str) -> None:
    for method, path in [
        ("GET", "/"),
        ("GET", f"/{bucket}"),
        ("PUT", f"/{bucket}/k"),
        ("GET", f"/{bucket}/k"),
    ]:
        response = send(method, zas.endpoint + path, body=b"x" if method == "PUT" else b"")
        assert (response.status, response.code) == (403, "AccessDenied"), (method, path)
        assert response.headers["x-amz-request-id"]
    assert (
        send(
            "GET", f"{zas.endpoint}/{bucket}/k", sign_headers("GET", f"{zas.endpoint}/{bucket}/k")
        ).status
        == 404
    )


def test_unknown_access_key_is_invalid_access_key_id(zas: ZasProcess) -> None:
    url = zas.endpoint + "/"
    response = send("GET", url, sign_headers("GET", url, access_key="AKIDUNKNOWN"))
    assert (response.status, response.code) == (403, "InvalidAccessKeyId")


def test_wrong_secret_is_signature_does_not_match(zas: ZasProcess) -> None:
    url = zas.endpoint + "/"
    response = send("GET", url, sign_headers("GET", url, secret_key="wrong-secret"))
    assert (response.status, response.code) == (403, "SignatureDoesNotMatch")


def test_request_altered_after_signing_is_signature_does_not_match(
    zas: ZasProcess, bucket: str
) -> None:
    url = f"{zas.endpoint}/{bucket}/signed-key"
    headers = sign_headers("GET", url)
    response = send("GET", f"{zas.endpoint}/{bucket}/other-key", headers)
    assert (response.status, response.code) == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("skew", [dt.timedelta(minutes=16), -dt.timedelta(minutes=16)])
def test_clock_skew_over_15_minutes_is_request_time_too_skewed(
    zas: ZasProcess, skew: dt.timedelta
) -> None:
    url = zas.endpoint + "/"
    headers = sign_headers("GET", url, when=dt.datetime.now(dt.UTC) + skew)
    response = send("GET", url, headers)
    assert (response.status, response.code) == (403, "RequestTimeTooSkewed")


def test_clock_skew_under_15_minutes_is_accepted(zas: ZasProcess) -> None:
    url = zas.endpoint + "/"
    headers = sign_headers("GET", url, when=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14))
    assert send("GET", url, headers).status == 200


def test_payload_hash_mismatch_is_rejected_and_nothing_stored(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    url = f"{zas.endpoint}/{bucket}/lying"
    body = b"actual body"
    claimed = hashlib.sha256(b"claimed body").hexdigest()
    headers = sign_headers("PUT", url, body=body, payload_hash=claimed)
    response = send("PUT", url, headers, body)
    assert (response.status, response.code) == (400, "XAmzContentSHA256Mismatch"), response
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert list((zas.data_dir / "tmp").iterdir()) == []


def test_unsigned_payload_is_accepted(zas: ZasProcess, s3: Any, bucket: str) -> None:
    url = f"{zas.endpoint}/{bucket}/unsigned"
    headers = sign_headers("PUT", url, body=b"free", payload_hash="UNSIGNED-PAYLOAD")
    assert send("PUT", url, headers, b"free").status == 200
    assert s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read() == b"free"


def test_presigned_get_and_put_work_with_plain_http(zas: ZasProcess, s3: Any, bucket: str) -> None:
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=300
    )
    request = urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=300
    )
    with urllib.request.urlopen(get_url, timeout=30) as response:
        assert response.read() == b"presigned body"


def test_presigned_url_past_expiry_is_access_denied(zas: ZasProcess, bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presign(
        "GET",
        f"{zas.endpoint}/{bucket}/k",
        expires=1,
        when=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5),
    )
    response = send("GET", url)
    assert (response.status, response.code) == (403, "AccessDenied")
    assert b"expired" in response.body


def test_presigned_url_valid_for_over_7_days_is_refused(zas: ZasProcess, bucket: str) -> None:
    url = presign("GET", f"{zas.endpoint}/{bucket}/k", expires=604801)
    response = send("GET", url)
    assert (response.status, response.code) == (400, "AuthorizationQueryParametersError")


def test_presigned_url_with_tampered_key_is_signature_does_not_match(
    zas: ZasProcess, bucket: str
) -> None:
    url = presign("GET", f"{zas.endpoint}/{bucket}/k")
    response = send("GET", url.replace("/k?", "/other?"))
    assert (response.status, response.code) == (403, "SignatureDoesNotMatch")


def test_every_response_carries_a_request_id(zas: ZasProcess) -> None:
    ids = {send("GET", zas.endpoint + "/").headers["x-amz-request-id"] for _ in range(3)}
    assert len(ids) == 3
    time.sleep(0)


def test_sigv2_presigned_url_gets_a_clear_error(zas: ZasProcess, bucket: str) -> None:
    url = f"{zas.endpoint}/{bucket}/k?AWSAccessKeyId=AK&Signature=abc%3D&Expires=9999999999"
    response = send("GET", url)
    assert (response.status, response.code) == (400, "InvalidRequest")
    assert b"SigV4" in response.body


def test_presigned_put_signed_with_the_empty_body_checksum_accepts_the_real_body(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    # What @aws-sdk/s3-request-presigner produces with default flexible checksums: the CRC32
    # of an empty body (AAAAAA==) in the signed query. AWS accepts any body for it.
    url = presign(
        "PUT",
        f"{zas.endpoint}/{bucket}/presigned-crc?x-amz-checksum-crc32=AAAAAA%3D%3D"
        "&x-amz-sdk-checksum-algorithm=CRC32",
    )
    response = send("PUT", url, body=b"the real body")
    assert response.status == 200, response
    assert s3.get_object(Bucket=bucket, Key="presigned-crc")["Body"].read() == b"the real body"
