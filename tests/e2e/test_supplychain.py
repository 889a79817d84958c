"""Supply-chain evidence through a running `zas serve`: signatures that openssl makes and
checks, DSSE envelopes, SBOMs queryable in SQL, attestations bound to the artifact, a byte
flipped on disk caught by /verify, and downloads refused by a bucket's verification policy."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.admin_api import AdminApi, error_of
from tests.e2e.raw import RawResponse, send, sign_headers
from tests.zasproc import ACCESS_KEY, SECRET_KEY, ZasProcess

FIXTURES = Path(__file__).parents[1] / "supplychain" / "fixtures"
ARTIFACT = (FIXTURES / "artifact.bin").read_bytes()
ARTIFACT_SHA256 = hashlib.sha256(ARTIFACT).hexdigest()


def post_raw(zas: ZasProcess, path: str, body: bytes) -> RawResponse:
    url = zas.endpoint + path
    return send("POST", url, sign_headers("POST", url, body=body), body)


def openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, timeout=60, check=False
    )


@pytest.fixture
def artifact(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="app-1.4.0.jar", Body=ARTIFACT)
    return f"{bucket}/app-1.4.0.jar"


def server_key(admin: AdminApi, algorithm: str) -> dict[str, Any]:
    key: dict[str, Any] = admin.ok("POST", "/supplychain/keys", {"algorithm": algorithm})
    return key


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "rsa-3072-pss", "ed25519"])
def test_a_zas_signature_verifies_with_openssl_and_the_exported_key(
    zas: ZasProcess, artifact: str, algorithm: str, tmp_path: Path
) -> None:
    admin = AdminApi(zas)
    key = server_key(admin, algorithm)
    signed = admin.ok(
        "POST", f"/supplychain/sign/{artifact}?form=raw&key_id={quote(key['key_id'], safe='')}"
    )
    pem = send(
        "GET",
        zas.endpoint + f"/supplychain/keys/{quote(key['key_id'], safe='')}?format=pem",
        sign_headers(
            "GET", zas.endpoint + f"/supplychain/keys/{quote(key['key_id'], safe='')}?format=pem"
        ),
        b"",
    ).body
    (tmp_path / "pub.pem").write_bytes(pem)
    (tmp_path / "artifact").write_bytes(ARTIFACT)
    (tmp_path / "sig").write_bytes(base64.b64decode(signed["document"]))

    if algorithm == "ed25519":
        done = openssl("pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", tmp_path / "pub.pem",
                       "-in", tmp_path / "artifact", "-sigfile", tmp_path / "sig")  # fmt: skip
    else:
        pss = ["-sigopt", "rsa_padding_mode:pss"] if algorithm.startswith("rsa") else []
        done = openssl("dgst", "-sha256", *pss, "-verify", tmp_path / "pub.pem",
                       "-signature", tmp_path / "sig", tmp_path / "artifact")  # fmt: skip

    assert done.returncode == 0, done
    assert b"Verified OK" in done.stdout + done.stderr or b"Signature Verified" in done.stdout
    assert key["jwk"]["kid"] == key["key_id"]
    assert signed["sha256"] == ARTIFACT_SHA256


def test_an_openssl_signature_by_a_trusted_key_is_accepted_and_a_bad_one_stores_nothing(
    zas: ZasProcess, artifact: str, tmp_path: Path
) -> None:
    admin = AdminApi(zas)
    assert openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                   "-out", tmp_path / "ci.key").returncode == 0  # fmt: skip
    pubout = openssl("pkey", "-in", tmp_path / "ci.key", "-pubout", "-out", tmp_path / "ci.pub")
    assert pubout.returncode == 0
    (tmp_path / "artifact").write_bytes(ARTIFACT)
    assert openssl("dgst", "-sha256", "-sign", tmp_path / "ci.key", "-out", tmp_path / "sig",
                   tmp_path / "artifact").returncode == 0  # fmt: skip
    bucket = artifact.partition("/")[0]
    key_id = f"ci-{bucket}"[:60]
    admin.ok(
        "POST",
        "/supplychain/trusted-keys",
        {"key_id": key_id, "public_key_pem": (tmp_path / "ci.pub").read_text(), "bucket": bucket},
    )
    signature = (tmp_path / "sig").read_bytes()

    accepted = post_raw(zas, f"/supplychain/signatures/{artifact}?key_id={key_id}", signature)
    as_base64 = post_raw(
        zas, f"/supplychain/signatures/{artifact}?key_id={key_id}", base64.b64encode(signature)
    )
    tampered = bytearray(signature)
    tampered[-3] ^= 0x01
    refused = post_raw(zas, f"/supplychain/signatures/{artifact}?key_id={key_id}", bytes(tampered))

    assert accepted.status == 201, accepted
    assert as_base64.status == 201, as_base64  # cosign writes base64
    assert error_of(refused)[0] == 400
    assert error_of(refused)[1] in ("InvalidSignature", "InvalidArgument")
    listed = admin.ok("GET", f"/supplychain/signatures/{artifact}")["items"]
    assert len(listed) == 2
    assert {item["key_id"] for item in listed} == {key_id}


def test_verify_rechecks_everything_and_catches_a_byte_flipped_on_disk(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    body = b"release bytes " + bucket.encode()
    s3.put_object(Bucket=bucket, Key="r.tar", Body=body)
    admin = AdminApi(zas)
    key = server_key(admin, "ecdsa-p256")
    admin.ok(
        "POST", f"/supplychain/sign/{bucket}/r.tar?form=raw&key_id={quote(key['key_id'], safe='')}"
    )
    admin.ok(
        "POST", f"/supplychain/sign/{bucket}/r.tar?form=dsse&key_id={quote(key['key_id'], safe='')}"
    )
    good = admin.ok("POST", f"/supplychain/verify/{bucket}/r.tar")

    digest = hashlib.sha256(body).hexdigest()
    blob = zas.data_dir / "blobs" / "sha256" / digest[:2] / digest
    damaged = bytearray(blob.read_bytes())
    damaged[0] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(damaged))
    bad = admin.ok("POST", f"/supplychain/verify/{bucket}/r.tar")

    assert good["verified"] is True
    assert {(c["kind"], c["check"]) for c in good["checks"]} >= {
        ("object", "sha256"), ("signature", "signature"), ("envelope", "signature"),
        ("envelope", "subject"),
    }  # fmt: skip
    assert bad["verified"] is False
    sha_check = next(c for c in bad["checks"] if c["check"] == "sha256")
    assert sha_check["ok"] is False and "damaged" in sha_check["reason"]
    raw_check = next(c for c in bad["checks"] if c["kind"] == "signature")
    assert raw_check["ok"] is False


def test_sboms_of_every_format_attach_and_their_components_answer_sql(
    zas: ZasProcess, artifact: str
) -> None:
    admin = AdminApi(zas)
    formats = {}
    for name in ("spdx-2.3-syft.json", "spdx-3.0.1.json", "cyclonedx-1.4-maven.json",
                 "cyclonedx-1.5-trivy.json", "cyclonedx-1.6-nested.json"):  # fmt: skip
        response = post_raw(zas, f"/supplychain/sbom/{artifact}", (FIXTURES / name).read_bytes())
        assert response.status == 201, (name, response)
        formats[name] = json.loads(response.body)["format"]
    bucket, _, key = artifact.partition("/")

    found = admin.ok(
        "POST",
        "/supplychain/query",
        {
            "sql": "SELECT DISTINCT bucket, key, version FROM sbom_components "
            "WHERE name = 'log4j-core' AND version = '2.14.1' "
            f"AND bucket = '{bucket}'"
        },
    )

    assert sorted(set(formats.values())) == [
        "cyclonedx-1.4", "cyclonedx-1.5", "cyclonedx-1.6", "spdx-2.3", "spdx-3.0",
    ]  # fmt: skip
    assert found["rows"] == [[bucket, key, "2.14.1"]]
    assert len(admin.ok("GET", f"/supplychain/sbom/{artifact}")["items"]) == 5


@pytest.mark.parametrize(
    ("document", "message_part"),
    [
        (b"not json", "JSON"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.3", "version": 1}', "1.3"),
        (b'{"hello": "world"}', "unknown SBOM format"),
        (
            b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,'
            b' "components": [{"type": "library"}]}',
            "components[0].name",
        ),
    ],
)
def test_a_malformed_sbom_is_refused_with_what_is_wrong_and_nothing_is_stored(
    zas: ZasProcess, artifact: str, document: bytes, message_part: str
) -> None:
    response = post_raw(zas, f"/supplychain/sbom/{artifact}", document)

    status, code = error_of(response)
    assert (status, code) == (400, "InvalidSbom")
    assert message_part.lower() in json.loads(response.body)["error"]["message"].lower()
    assert AdminApi(zas).ok("GET", f"/supplychain/sbom/{artifact}")["items"] == []


def _dsse(statement: dict[str, Any], key: ec.EllipticCurvePrivateKey, keyid: str) -> bytes:
    """A DSSE envelope built here, from the spec, not with ZAS's code."""
    payload = json.dumps(statement).encode()
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)
    sig = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    return json.dumps(
        {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": payload_type,
            "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}],
        }
    ).encode()


def trusted_ci_key(admin: AdminApi, key_id: str) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    admin.ok(
        "POST", "/supplychain/trusted-keys", {"key_id": key_id, "public_key_pem": pem.decode()}
    )
    return key


def test_attestations_must_name_the_artifact_and_are_verified_against_trusted_keys(
    zas: ZasProcess, artifact: str
) -> None:
    admin = AdminApi(zas)
    bucket = artifact.partition("/")[0]
    key = trusted_ci_key(admin, f"builder-{bucket}"[:60])
    statement = json.loads((FIXTURES / "statement-slsa-v1-github.json").read_text())
    other = json.loads(json.dumps(statement))
    other["subject"][0]["digest"]["sha256"] = "0" * 64

    accepted = post_raw(
        zas,
        f"/supplychain/attestations/{artifact}",
        _dsse(statement, key, f"builder-{bucket}"[:60]),
    )
    wrong_subject = post_raw(
        zas, f"/supplychain/attestations/{artifact}", _dsse(other, key, f"builder-{bucket}"[:60])
    )
    bundle = post_raw(
        zas,
        f"/supplychain/attestations/{artifact}",
        (FIXTURES / "sigstore-bundle-v0.3.json").read_bytes(),
    )

    assert accepted.status == 201, accepted
    summary = json.loads(accepted.body)["summary"]
    assert summary["builder_id"] == "https://github.com/actions/runner/github-hosted"
    assert summary["verified_by"] == [f"builder-{bucket}"[:60]]
    assert error_of(wrong_subject) == (400, "InvalidAttestation")
    assert bundle.status == 201, bundle
    assert (
        "not checked offline" in json.loads(bundle.body)["summary"]["sigstore"]["certificate_chain"]
    )
    items = admin.ok("GET", f"/supplychain/attestations/{artifact}")["items"]
    assert len(items) == 2


def get(zas: ZasProcess, path: str) -> RawResponse:
    url = zas.endpoint + path
    return send("GET", url, sign_headers("GET", url), b"")


def test_a_verification_policy_refuses_downloads_until_the_evidence_is_there(
    zas: ZasProcess, s3: Any, artifact: str
) -> None:
    admin = AdminApi(zas)
    bucket = artifact.partition("/")[0]
    signer = server_key(admin, "ecdsa-p256")
    builder_key = trusted_ci_key(admin, f"gha-{bucket}"[:60])
    policy = {
        "mode": "enforce",
        "require": {
            "signature": {"keys": [signer["key_id"]]},
            "sbom": True,
            "provenance": {"builder_ids": ["https://github.com/actions/runner/github-hosted"]},
        },
    }
    url = zas.endpoint + f"/supplychain/policy/{bucket}"
    body = json.dumps(policy).encode()
    assert send("PUT", url, sign_headers("PUT", url, body=body), body).status == 204

    refused = get(zas, f"/{artifact}")
    admin.ok("POST", f"/supplychain/sign/{artifact}?key_id={quote(signer['key_id'], safe='')}")
    post_raw(
        zas, f"/supplychain/sbom/{artifact}", (FIXTURES / "cyclonedx-1.5-trivy.json").read_bytes()
    )
    still = get(zas, f"/{artifact}")
    statement = json.loads((FIXTURES / "statement-slsa-v1-github.json").read_text())
    post_raw(
        zas,
        f"/supplychain/attestations/{artifact}",
        _dsse(statement, builder_key, f"gha-{bucket}"[:60]),
    )
    allowed = get(zas, f"/{artifact}")

    assert (refused.status, refused.code) == (403, "VerificationFailed")
    assert refused.headers["x-zas-verification"] == "failed; missing=signature,sbom,provenance"
    assert (still.status, still.headers["x-zas-verification"]) == (
        403,
        "failed; missing=provenance",
    )
    assert allowed.status == 200 and allowed.body == ARTIFACT
    assert allowed.headers["x-zas-verification"] == "passed"

    # New bytes under the same key: the old evidence no longer applies.
    s3.put_object(Bucket=bucket, Key="app-1.4.0.jar", Body=b"something else")
    assert get(zas, f"/{artifact}").status == 403
    # Disabling the signing key withdraws what it signed.
    s3.put_object(Bucket=bucket, Key="app-1.4.0.jar", Body=ARTIFACT)
    admin.ok(
        "PATCH", f"/supplychain/keys/{quote(signer['key_id'], safe='')}", {"status": "disabled"}
    )
    assert get(zas, f"/{artifact}").headers["x-zas-verification"].startswith("failed")


def test_warn_mode_serves_and_flags(zas: ZasProcess, artifact: str) -> None:
    bucket = artifact.partition("/")[0]
    url = zas.endpoint + f"/supplychain/policy/{bucket}"
    body = json.dumps({"mode": "warn", "require": {"sbom": True}}).encode()
    assert send("PUT", url, sign_headers("PUT", url, body=body), body).status == 204

    served = get(zas, f"/{artifact}")

    assert served.status == 200 and served.body == ARTIFACT
    assert served.headers["x-zas-verification"] == "failed; missing=sbom"


def test_a_malformed_policy_is_refused(zas: ZasProcess, bucket: str) -> None:
    url = zas.endpoint + f"/supplychain/policy/{bucket}"
    body = b'{"require": {"magic": true}}'

    response = send("PUT", url, sign_headers("PUT", url, body=body), body)

    assert error_of(response) == (400, "MalformedVerificationPolicy")
    assert "magic" in json.loads(response.body)["error"]["message"]


def test_evidence_goes_with_its_object(zas: ZasProcess, s3: Any, artifact: str) -> None:
    admin = AdminApi(zas)
    bucket, _, key = artifact.partition("/")
    post_raw(zas, f"/supplychain/sbom/{artifact}", (FIXTURES / "spdx-2.3-syft.json").read_bytes())

    s3.delete_object(Bucket=bucket, Key=key)
    rows = admin.ok(
        "POST",
        "/supplychain/query",
        {"sql": f"SELECT count(*) AS n FROM sbom_components WHERE bucket = '{bucket}'"},
    )["rows"]

    assert rows == [[0]]
    assert error_of(admin.call("GET", f"/supplychain/sbom/{artifact}")) == (404, "NoSuchKey")


def test_a_reader_may_read_evidence_but_not_sign(zas: ZasProcess, artifact: str) -> None:
    admin = AdminApi(zas)
    server_key(admin, "ecdsa-p256")
    reader = AdminApi(
        zas, keys=admin.create_user(f"sc-reader-{artifact[:20]}".replace("/", "-")[:60], "readonly")
    )

    assert error_of(reader.call("POST", f"/supplychain/sign/{artifact}")) == (403, "AccessDenied")
    assert reader.ok("GET", f"/supplychain/signatures/{artifact}")["items"] == []


def test_rotation_retires_the_old_key_which_still_verifies_but_no_longer_signs(
    zas: ZasProcess, artifact: str
) -> None:
    admin = AdminApi(zas)
    old = server_key(admin, "ed25519")
    old_id = quote(old["key_id"], safe="")
    admin.ok("POST", f"/supplychain/sign/{artifact}?key_id={old_id}")

    new = admin.ok("POST", f"/supplychain/keys/{old_id}/rotate")
    refused = admin.call("POST", f"/supplychain/sign/{artifact}?key_id={old_id}")
    admin.ok("POST", f"/supplychain/sign/{artifact}?key_id={quote(new['key_id'], safe='')}")
    report = admin.ok("POST", f"/supplychain/verify/{artifact}")
    statuses = {k["key_id"]: k["status"] for k in admin.ok("GET", "/supplychain/keys")["keys"]}

    assert (new["algorithm"], new["status"]) == ("ed25519", "active")
    assert statuses[old["key_id"]] == "retired"
    assert error_of(refused) == (400, "InvalidRequest")
    assert report["verified"] is True
    signers = {c["key_id"] for c in report["checks"] if c["kind"] == "signature"}
    assert signers == {old["key_id"], new["key_id"]}
    assert "PRIVATE" not in json.dumps(admin.ok("GET", "/supplychain/keys"))


def test_the_cli_signs_and_verifies(zas: ZasProcess, artifact: str, tmp_path: Path) -> None:
    env = {**os.environ, "ZAS_ACCESS_KEY": ACCESS_KEY, "ZAS_SECRET_KEY": SECRET_KEY}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "zas.cli.main", *args, "--endpoint", zas.endpoint],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    key = json.loads(cli("signing-key", "create", "--algorithm", "ecdsa-p256"))
    signed = json.loads(cli("sign", artifact, "--key-id", key["key_id"]))
    verified = json.loads(cli("verify", artifact))
    pem = cli("signing-key", "export", key["key_id"])
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "sig").write_bytes(base64.b64decode(signed["document"]))
    (tmp_path / "artifact").write_bytes(ARTIFACT)

    assert verified["verified"] is True
    done = openssl("dgst", "-sha256", "-verify", tmp_path / "pub.pem", "-signature",
                   tmp_path / "sig", tmp_path / "artifact")  # fmt: skip
    assert done.returncode == 0, done


def test_evidence_goes_with_objects_removed_by_delete_objects(
    zas: ZasProcess, s3: Any, artifact: str
) -> None:
    admin = AdminApi(zas)
    bucket, _, key = artifact.partition("/")
    s3.put_object(Bucket=bucket, Key="kept.jar", Body=ARTIFACT)
    for target in (artifact, f"{bucket}/kept.jar"):
        post_raw(zas, f"/supplychain/sbom/{target}", (FIXTURES / "spdx-2.3-syft.json").read_bytes())

    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}]})
    rows = admin.ok(
        "POST",
        "/supplychain/query",
        {"sql": f"SELECT DISTINCT key FROM artifact_evidence WHERE bucket = '{bucket}'"},
    )["rows"]

    assert rows == [["kept.jar"]]
