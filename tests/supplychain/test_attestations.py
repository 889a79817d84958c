"""in-toto Statements, their predicates, DSSE envelope shape and Sigstore bundles.

Fixtures imitate GitHub's attest-build-provenance (SLSA v1 in a Sigstore bundle v0.3),
slsa-github-generator (SLSA v0.2), a test-result and two vulnerability-scan predicates. The
bundle's certificate is a self-signed stand-in for a Fulcio leaf (same extensions, no chain),
and its DSSE signature is real, so a verifier can check it against the leaf's key offline.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from zas.supplychain.attestations import (
    IN_TOTO_PAYLOAD_TYPE,
    InvalidAttestation,
    Provenance,
    ResourceRef,
    Subject,
    attestation_from_bundle,
    attestation_from_envelope,
    check_subject,
    interpret,
    parse_in_toto_statement_payload,
    parse_sigstore_bundle,
    subject_matches,
)

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACT_SHA256 = hashlib.sha256((FIXTURES / "artifact.bin").read_bytes()).hexdigest()


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def statement_bytes(statement: object) -> bytes:
    return json.dumps(statement).encode()


def envelope_for(statement: object, *, urlsafe: bool = False) -> dict[str, Any]:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return {
        "payload": encode(statement_bytes(statement)).decode(),
        "payloadType": IN_TOTO_PAYLOAD_TYPE,
        "signatures": [
            {"keyid": "zas:release-key", "sig": base64.b64encode(b"\x30" * 70).decode()}
        ],
    }


def pae(payload_type: str, payload: bytes) -> bytes:
    # DSSE v1 pre-authentication encoding (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md)
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


# --- Predicates we understand -----------------------------------------------------------------


def test_given_github_slsa_v1_provenance_when_interpreted_then_builder_source_and_invocation() -> (
    None
):
    statement = parse_in_toto_statement_payload(
        (FIXTURES / "statement-slsa-v1-github.json").read_bytes()
    )
    attestation = interpret(statement)

    assert attestation.kind == "slsa-provenance"
    assert attestation.predicate_type == "https://slsa.dev/provenance/v1"
    assert attestation.subjects == (Subject("app-1.4.0.jar", {"sha256": ARTIFACT_SHA256}),)
    assert attestation.provenance == Provenance(
        builder_id="https://github.com/actions/runner/github-hosted",
        build_type="https://actions.github.io/buildtypes/workflow/v1",
        invocation_id="https://github.com/acme/app/actions/runs/9012345678/attempts/1",
        source_uri="git+https://github.com/acme/app@refs/tags/v1.4.0",
        resolved_dependencies=(
            ResourceRef(
                "git+https://github.com/acme/app@refs/tags/v1.4.0",
                {"gitCommit": "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"},
            ),
        ),
        started=None,
        finished=None,
    )
    assert attestation.summary == {
        "builder_id": "https://github.com/actions/runner/github-hosted",
        "build_type": "https://actions.github.io/buildtypes/workflow/v1",
    }
    assert attestation.envelope is None


def test_given_slsa_v02_from_the_generator_when_interpreted_then_same_provenance_fields() -> None:
    statement = parse_in_toto_statement_payload(
        (FIXTURES / "statement-slsa-v02-generator.json").read_bytes()
    )
    attestation = interpret(statement)

    assert attestation.kind == "slsa-provenance"
    provenance = attestation.provenance
    assert provenance is not None
    assert provenance.builder_id.startswith(
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
    )
    assert (
        provenance.build_type
        == "https://github.com/slsa-framework/slsa-github-generator/generic@v1"
    )
    assert provenance.invocation_id == "9012345678-1"
    assert provenance.source_uri == "git+https://github.com/acme/app@refs/tags/v1.4.0"
    assert (provenance.started, provenance.finished) == (
        "2024-05-14T09:02:11Z",
        "2024-05-14T09:11:57Z",
    )
    assert len(attestation.subjects) == 2


def test_given_a_test_result_when_interpreted_then_result_and_counts() -> None:
    attestation = interpret(
        parse_in_toto_statement_payload((FIXTURES / "statement-test-result.json").read_bytes())
    )
    assert attestation.kind == "test-result"
    assert attestation.summary == {
        "result": "FAILED",
        "passed": 3,
        "warned": 1,
        "failed": 1,
        "url": "https://github.com/acme/app/actions/runs/9012345601",
    }
    assert attestation.provenance is None


def test_given_an_in_toto_vulns_scan_when_interpreted_then_counts_by_worst_severity() -> None:
    attestation = interpret(
        parse_in_toto_statement_payload((FIXTURES / "statement-vulns.json").read_bytes())
    )
    assert attestation.kind == "vuln-scan"
    # 10.0 -> critical, 9.0 -> critical, worst of 5.9/7.5 -> high, 6.6 -> medium, none -> unknown
    assert attestation.summary == {
        "scanner": "pkg:github/aquasecurity/trivy@0.50.1",
        "scanner_version": "0.50.1",
        "total": 5,
        "by_severity": {"critical": 2, "high": 1, "medium": 1, "unknown": 1},
    }


def test_given_a_cosign_vuln_attestation_with_a_trivy_report_when_interpreted_then_counted() -> (
    None
):
    attestation = interpret(
        parse_in_toto_statement_payload((FIXTURES / "statement-cosign-vuln.json").read_bytes())
    )
    assert attestation.kind == "vuln-scan"
    assert attestation.summary["total"] == 3
    assert attestation.summary["by_severity"] == {"critical": 2, "medium": 1}


def test_given_a_cosign_vuln_attestation_with_an_unknown_report_then_stored_without_counts() -> (
    None
):
    statement = load("statement-cosign-vuln.json")
    statement["predicate"]["scanner"]["result"] = {"findings": "opaque"}
    attestation = interpret(parse_in_toto_statement_payload(statement_bytes(statement)))
    assert attestation.summary == {
        "scanner": "pkg:github/aquasecurity/trivy@0.50.1",
        "scanner_version": "0.50.1",
    }


@pytest.mark.parametrize(
    ("predicate_type", "fixture", "expected_format"),
    [
        ("https://spdx.dev/Document", "spdx-2.3-syft.json", "spdx-2.3"),
        ("https://spdx.dev/Document/v2.3", "spdx-2.3-syft.json", "spdx-2.3"),
        ("https://cyclonedx.org/bom", "cyclonedx-1.5-trivy.json", "cyclonedx-1.5"),
        ("https://cyclonedx.org/bom/v1.6", "cyclonedx-1.6-nested.json", "cyclonedx-1.6"),
    ],
)
def test_given_an_sbom_predicate_when_interpreted_then_the_sbom_is_parsed(
    predicate_type: str, fixture: str, expected_format: str
) -> None:
    statement = load("statement-test-result.json")
    statement["predicateType"] = predicate_type
    statement["predicate"] = load(fixture)

    attestation = interpret(parse_in_toto_statement_payload(statement_bytes(statement)))

    assert attestation.kind == "sbom"
    assert attestation.sbom is not None
    assert attestation.sbom.format == expected_format
    assert attestation.summary == {
        "format": expected_format,
        "components": len(attestation.sbom.components),
    }
    assert any(c.name == "log4j-core" for c in attestation.sbom.components)


def test_given_an_unknown_predicate_type_when_interpreted_then_kept_as_is() -> None:
    statement = load("statement-test-result.json")
    statement["predicateType"] = "https://example.com/acme/code-review/v1"
    statement["predicate"] = {"reviewers": ["alice", "bob"], "approved": True}

    attestation = interpret(parse_in_toto_statement_payload(statement_bytes(statement)))

    assert (attestation.kind, attestation.summary, attestation.provenance) == ("other", {}, None)
    assert attestation.predicate == {"reviewers": ["alice", "bob"], "approved": True}


def test_given_a_statement_without_predicate_when_parsed_then_predicate_is_empty() -> None:
    statement = load("statement-test-result.json")
    del statement["predicate"]
    statement["predicateType"] = "https://example.com/marker/v1"
    assert parse_in_toto_statement_payload(statement_bytes(statement))["predicate"] == {}


def test_given_uppercase_subject_digest_when_parsed_then_lowercased_and_matched() -> None:
    statement = load("statement-test-result.json")
    statement["subject"][0]["digest"]["sha256"] = ARTIFACT_SHA256.upper()
    attestation = interpret(parse_in_toto_statement_payload(statement_bytes(statement)))
    assert subject_matches(attestation.subjects, ARTIFACT_SHA256)


# --- Subject against the artifact -----------------------------------------------------------


def test_given_subjects_when_checked_against_the_artifact_then_match_or_say_why_not() -> None:
    subjects = (
        Subject("app-1.4.0.jar", {"sha256": ARTIFACT_SHA256}),
        Subject("app.sig", {"sha512": "ab" * 64}),
    )
    assert subject_matches(subjects, ARTIFACT_SHA256.upper())
    check_subject(subjects, ARTIFACT_SHA256)

    other = "0" * 64
    assert not subject_matches(subjects, other)
    with pytest.raises(
        InvalidAttestation, match=f"no statement subject has the artifact's sha256 {other}"
    ):
        check_subject(subjects, other)
    with pytest.raises(InvalidAttestation, match=r"statement subject\[0\].digest has no sha256"):
        check_subject((Subject("app", {"sha512": "ab" * 64}),), ARTIFACT_SHA256)


# --- Rejections -------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return mutate


SLSA1 = "statement-slsa-v1-github.json"
SLSA02 = "statement-slsa-v02-generator.json"
TESTS = "statement-test-result.json"
VULNS = "statement-vulns.json"
COSIGN = "statement-cosign-vuln.json"
V1 = "predicateType https://slsa.dev/provenance/v1: "

STATEMENT_REJECTED: list[tuple[str, Mutation, str]] = [
    (SLSA1, _set("_type", "https://in-toto.io/Statement/v2"), "statement _type must be"),
    (SLSA1, _delete("_type"), "statement _type must be https://in-toto.io/Statement/v1"),
    (SLSA1, _set("subject", []), "statement subject must be a non-empty array"),
    (SLSA1, _set("subject/0", "app.jar"), "statement subject[0] must be an object"),
    (SLSA1, _delete("subject/0/digest"), "statement subject[0].digest must be an object"),
    (SLSA1, _set("subject/0/digest", {}), "statement subject[0].digest must name at least one"),
    (SLSA1, _set("subject/0/digest/sha256", "abc"), "subject[0].digest.sha256 must be 64 hex"),
    (SLSA1, _set("subject/0/digest/sha256", 12), "subject[0].digest.sha256 must be a non-empty"),
    (SLSA1, _set("subject/0/name", 5), "statement subject[0].name must be a string"),
    (SLSA1, _set("predicateType", "slsa provenance"), "statement predicateType must be a URI"),
    (SLSA1, _set("predicate", []), V1 + "predicate must be a JSON object"),
    (SLSA1, _delete("predicate/runDetails/builder/id"), V1 + "runDetails.builder.id is required"),
    (SLSA1, _delete("predicate/runDetails"), V1 + "runDetails is required"),
    (SLSA1, _set("predicate/runDetails/builder/id", ""), V1 + "runDetails.builder.id must be a"),
    (SLSA1, _delete("predicate/buildDefinition/buildType"), V1 + "buildDefinition.buildType is"),
    (
        SLSA1,
        _delete("predicate/buildDefinition/externalParameters"),
        V1 + "buildDefinition.externalParameters is required",
    ),
    (
        SLSA1,
        _set("predicate/buildDefinition/resolvedDependencies/0", {"name": "src"}),
        V1 + "buildDefinition.resolvedDependencies[0] needs a uri, digest or content",
    ),
    (
        SLSA1,
        _set("predicate/buildDefinition/resolvedDependencies", {}),
        V1 + "buildDefinition.resolvedDependencies must be an array",
    ),
    (
        SLSA1,
        _set("predicate/buildDefinition/resolvedDependencies/0/digest/sha256", "xyz"),
        "resolvedDependencies[0].digest.sha256 must be 64 hex digits",
    ),
    (
        SLSA02,
        _delete("predicate/builder"),
        "predicateType https://slsa.dev/provenance/v0.2: builder.id is required",
    ),
    (SLSA02, _delete("predicate/buildType"), "provenance/v0.2: buildType is required"),
    (SLSA02, _set("predicate/materials/0", 3), "provenance/v0.2: materials[0] must be an object"),
    (TESTS, _set("predicate/result", "OK"), "result must be one of PASSED, WARNED, FAILED"),
    (TESTS, _delete("predicate/result"), "test-result/v0.1: result is required"),
    (TESTS, _set("predicate/failedTests", [1, 2]), "failedTests must be an array of strings"),
    (VULNS, _delete("predicate/scanner/uri"), "vulns/v0.1: scanner.uri is required"),
    (VULNS, _delete("predicate/scanner/result"), "vulns/v0.1: scanner.result is required"),
    (
        VULNS,
        _delete("predicate/scanner/result/1/id"),
        "vulns/v0.1: scanner.result[1].id is required",
    ),
    (VULNS, _set("predicate/scanner/result/0/severity", "high"), "result[0].severity must be an"),
    (COSIGN, _delete("predicate/scanner/uri"), "vuln/v1: scanner.uri is required"),
    (COSIGN, _set("predicate/scanner/result", []), "vuln/v1: scanner.result must be an object"),
    (
        TESTS,
        lambda s: s.update(predicateType="https://spdx.dev/Document", predicate={"x": 1}),
        "predicateType https://spdx.dev/Document: predicate is not a valid SBOM: unknown SBOM",
    ),
]


@pytest.mark.parametrize(
    ("fixture", "mutate", "message"),
    STATEMENT_REJECTED,
    ids=[f"{f.split('.json')[0]}:{m[-40:]}" for f, _, m in STATEMENT_REJECTED],
)
def test_given_a_malformed_statement_when_parsed_then_the_error_names_the_problem(
    fixture: str, mutate: Mutation, message: str
) -> None:
    statement = load(fixture)
    interpret(parse_in_toto_statement_payload(statement_bytes(statement)))  # valid as-is
    mutate(statement)

    with pytest.raises(InvalidAttestation) as caught:
        interpret(parse_in_toto_statement_payload(statement_bytes(statement)))

    assert message in caught.value.message
    assert (caught.value.code, caught.value.http_status) == ("InvalidAttestation", 400)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "statement is not valid JSON"),
        (b"[1]", "statement must be a JSON object"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_given_a_payload_that_is_no_statement_when_parsed_then_rejected(
    payload: bytes, message: str
) -> None:
    with pytest.raises(InvalidAttestation, match=message):
        parse_in_toto_statement_payload(payload)


# --- DSSE envelope ----------------------------------------------------------------------------


@pytest.mark.parametrize("urlsafe", [False, True])
def test_given_an_envelope_when_read_then_statement_interpreted_and_envelope_kept(
    urlsafe: bool,
) -> None:
    envelope = envelope_for(load(SLSA1), urlsafe=urlsafe)
    attestation = attestation_from_envelope(envelope)
    assert attestation.kind == "slsa-provenance"
    assert attestation.envelope == envelope
    assert subject_matches(attestation.subjects, ARTIFACT_SHA256)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_set("payloadType", "application/json"), "envelope.payloadType must be application/vnd"),
        (_set("signatures", []), "envelope.signatures must be a non-empty array"),
        (_set("signatures/0", "sig"), "envelope.signatures[0] must be an object"),
        (_delete("signatures/0/sig"), "envelope.signatures[0].sig must be a base64 string"),
        (_set("signatures/0/sig", "!!not base64!!"), "envelope.signatures[0].sig is not valid"),
        (_set("signatures/0/sig", ""), "envelope.signatures[0].sig is empty"),
        (_set("signatures/0/keyid", 7), "envelope.signatures[0].keyid must be a string"),
        (_set("payload", "%%%"), "envelope.payload is not valid base64"),
        (_set("payload", base64.b64encode(b"{}").decode()), "statement _type must be"),
    ],
)
def test_given_a_malformed_envelope_when_read_then_rejected(mutate: Mutation, message: str) -> None:
    envelope = envelope_for(load(SLSA1))
    mutate(envelope)
    with pytest.raises(InvalidAttestation) as caught:
        attestation_from_envelope(envelope)
    assert message in caught.value.message


# --- Sigstore bundle ------------------------------------------------------------------------


def test_given_an_attest_build_provenance_bundle_when_parsed_then_dsse_cert_and_tlog() -> None:
    bundle = parse_sigstore_bundle((FIXTURES / "sigstore-bundle-v0.3.json").read_bytes())

    assert bundle.media_type == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle.version == "0.3"
    assert bundle.message_signature is None
    assert bundle.dsse_envelope is not None
    assert len(bundle.certificate_chain_pem) == 1
    assert bundle.certificate_chain_pem[0].startswith("-----BEGIN CERTIFICATE-----\n")
    assert bundle.public_key_hint is None
    assert [e["kindVersion"]["kind"] for e in bundle.tlog_entries] == ["dsse"]

    attestation = attestation_from_bundle(bundle)
    assert attestation.kind == "slsa-provenance"
    assert attestation.envelope == bundle.dsse_envelope
    check_subject(attestation.subjects, ARTIFACT_SHA256)


def test_given_the_bundle_when_its_leaf_key_checks_the_dsse_signature_then_it_verifies() -> None:
    """What an offline verifier can do: the leaf's key over the DSSE PAE (not the chain)."""
    bundle = parse_sigstore_bundle(load("sigstore-bundle-v0.3.json"))
    assert bundle.leaf_certificate_der is not None and bundle.dsse_envelope is not None
    certificate = x509.load_der_x509_certificate(bundle.leaf_certificate_der)
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    envelope = bundle.dsse_envelope
    payload = base64.b64decode(envelope["payload"])
    signature = base64.b64decode(envelope["signatures"][0]["sig"])

    key.verify(signature, pae(envelope["payloadType"], payload), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.verify(
            signature, pae(envelope["payloadType"], payload + b" "), ec.ECDSA(hashes.SHA256())
        )
    # The Fulcio-style identity a policy would match on, readable without the chain.
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [
        "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.4.0"
    ]


def _v02_with_chain(bundle: dict[str, Any]) -> None:
    bundle["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2"
    certificate = bundle["verificationMaterial"].pop("certificate")
    bundle["verificationMaterial"]["x509CertificateChain"] = {
        "certificates": [certificate, {"rawBytes": base64.b64encode(b"intermediate").decode()}]
    }


def _message_signature_with_key(bundle: dict[str, Any]) -> None:
    bundle["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3"
    del bundle["verificationMaterial"]["certificate"]
    bundle["verificationMaterial"]["publicKey"] = {"hint": "zas:release-key"}
    del bundle["dsseEnvelope"]
    bundle["messageSignature"] = {
        "messageDigest": {"algorithm": "SHA2_256", "digest": base64.b64encode(b"\1" * 32).decode()},
        "signature": base64.b64encode(b"\x30" * 70).decode(),
    }


def test_given_older_and_key_based_bundles_when_parsed_then_accepted() -> None:
    older = load("sigstore-bundle-v0.3.json")
    _v02_with_chain(older)
    parsed = parse_sigstore_bundle(older)
    assert parsed.version == "0.2"
    assert len(parsed.certificate_chain_pem) == 2

    keyed = load("sigstore-bundle-v0.3.json")
    _message_signature_with_key(keyed)
    parsed = parse_sigstore_bundle(keyed)
    assert (parsed.public_key_hint, parsed.certificate_chain_pem) == ("zas:release-key", ())
    assert parsed.leaf_certificate_der is None
    with pytest.raises(InvalidAttestation, match="holds a messageSignature, not an attestation"):
        attestation_from_bundle(parsed)


VM = "verificationMaterial"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_set("mediaType", "application/json"), "bundle mediaType 'application/json' is not a Sig"),
        (_delete(VM), "bundle verificationMaterial is required"),
        (_delete(f"{VM}/certificate"), "must hold exactly one of publicKey, x509CertificateChain"),
        (_set(f"{VM}/publicKey", {"hint": "k"}), "(found publicKey, certificate)"),
        (
            _set(f"{VM}/x509CertificateChain", {"certificates": []}),
            "(found x509CertificateChain, certificate)",
        ),
        (_set(f"{VM}/certificate/rawBytes", "@@"), "certificate.rawBytes is not valid base64"),
        (
            _set("mediaType", "application/vnd.dev.sigstore.bundle+json;version=0.1"),
            "verificationMaterial.certificate needs v0.3, this is v0.1",
        ),
        (_set(f"{VM}/tlogEntries", {}), "tlogEntries must be an array"),
        (
            _delete(f"{VM}/tlogEntries/0/inclusionProof"),
            "tlogEntries[0].inclusionProof is required",
        ),
        (_delete(f"{VM}/tlogEntries/0/logIndex"), "tlogEntries[0].logIndex is required"),
        (
            _set(
                f"{VM}/timestampVerificationData", {"rfc3161Timestamps": [{"signedTimestamp": 1}]}
            ),
            "rfc3161Timestamps[0].signedTimestamp must be a base64 string",
        ),
        (_delete("dsseEnvelope"), "bundle must hold exactly one of dsseEnvelope and messageSig"),
        (_set("messageSignature", {}), "bundle must hold exactly one of dsseEnvelope and message"),
        (_set("dsseEnvelope/payloadType", "text/plain"), "bundle dsseEnvelope.payloadType must be"),
        (_set("dsseEnvelope/signatures", []), "bundle dsseEnvelope.signatures must be a non-empty"),
    ],
)
def test_given_a_malformed_bundle_when_parsed_then_the_error_names_the_field(
    mutate: Mutation, message: str
) -> None:
    bundle = load("sigstore-bundle-v0.3.json")
    mutate(bundle)
    with pytest.raises(InvalidAttestation) as caught:
        parse_sigstore_bundle(bundle)
    assert message in caught.value.message


def test_given_a_v03_bundle_with_a_certificate_chain_when_parsed_then_rejected() -> None:
    bundle = load("sigstore-bundle-v0.3.json")
    _v02_with_chain(bundle)
    bundle["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.3+json"
    with pytest.raises(InvalidAttestation, match=r"v0\.3 must carry a single verificationMaterial"):
        parse_sigstore_bundle(bundle)


def test_given_a_v01_bundle_without_inclusion_promise_when_parsed_then_rejected() -> None:
    bundle = load("sigstore-bundle-v0.3.json")
    _v02_with_chain(bundle)
    bundle["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1"
    parse_sigstore_bundle(copy.deepcopy(bundle))
    del bundle[VM]["tlogEntries"][0]["inclusionPromise"]
    with pytest.raises(InvalidAttestation, match=r"inclusionPromise is required in bundle v0\.1"):
        parse_sigstore_bundle(bundle)


def test_given_bytes_that_are_no_bundle_when_parsed_then_rejected() -> None:
    with pytest.raises(InvalidAttestation, match="bundle is not valid JSON"):
        parse_sigstore_bundle(b"\x00")
    with pytest.raises(InvalidAttestation, match="bundle must be a JSON object"):
        parse_sigstore_bundle(b"[]")
