"""in-toto attestations and Sigstore bundles: parse, validate and summarise, without I/O.

An attestation reaches ZAS as a DSSE envelope (https://github.com/secure-systems-lab/dsse)
whose payload is an in-toto Statement (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md),
either bare or inside a Sigstore bundle (https://github.com/sigstore/protobuf-specs, the file
GitHub's `actions/attest-build-provenance` writes). This module turns those bytes into values:
`parse_in_toto_statement_payload` checks the Statement layer, `interpret` checks the predicate
types we understand (SLSA Provenance v1 and v0.2, test results, vulnerability scans, SBOMs) and
summarises them, and `parse_sigstore_bundle` unpacks a bundle. It does not verify signatures
(`zas.supplychain.dsse` does, against trusted keys) and it cannot check a Fulcio certificate
chain or a Rekor inclusion proof (that needs the Sigstore trust root, see the lead's note); it
never touches storage or the network.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from zas.protocol.errors import InvalidArgument
from zas.supplychain.sbom import InvalidSbom, Sbom, parse_sbom_object

__all__ = [
    "IN_TOTO_PAYLOAD_TYPE",
    "MAX_PAYLOAD_BYTES",
    "PREDICATE_COSIGN_VULN_V1",
    "PREDICATE_CYCLONEDX",
    "PREDICATE_SLSA_PROVENANCE_V02",
    "PREDICATE_SLSA_PROVENANCE_V1",
    "PREDICATE_SPDX",
    "PREDICATE_TEST_RESULT",
    "PREDICATE_VULNS",
    "STATEMENT_V01",
    "STATEMENT_V1",
    "Attestation",
    "AttestationKind",
    "InvalidAttestation",
    "Provenance",
    "ResourceRef",
    "SigstoreBundle",
    "Subject",
    "attestation_from_bundle",
    "attestation_from_envelope",
    "check_subject",
    "decode_envelope_payload",
    "interpret",
    "parse_in_toto_statement_payload",
    "parse_sigstore_bundle",
    "subject_matches",
]

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

PREDICATE_SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
PREDICATE_SLSA_PROVENANCE_V02 = "https://slsa.dev/provenance/v0.2"
PREDICATE_TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"
PREDICATE_VULNS = "https://in-toto.io/attestation/vulns/v0.1"
PREDICATE_COSIGN_VULN_V1 = "https://cosign.sigstore.dev/attestation/vuln/v1"
# cosign uses the bare URIs; GitHub's attest-sbom and others append the spec version
# ("https://spdx.dev/Document/v2.3", "https://cyclonedx.org/bom/v1.5"), so these are prefixes.
PREDICATE_SPDX = "https://spdx.dev/Document"
PREDICATE_CYCLONEDX = "https://cyclonedx.org/bom"

# SBOM predicates make large payloads; the API caps bodies at the same size.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024

AttestationKind = Literal["slsa-provenance", "test-result", "vuln-scan", "sbom", "other"]


class InvalidAttestation(InvalidArgument):
    """The envelope, Statement, predicate or bundle is malformed; the message says where."""

    code = "InvalidAttestation"
    http_status = 400
    default_message = "The attestation is not valid."


# --- Values ---------------------------------------------------------------------------------


@attrs.frozen
class Subject:
    """A Statement subject: the artifact an attestation is about, named by its digests."""

    name: str | None
    # Algorithm -> lowercase hex (in-toto DigestSet), e.g. {"sha256": "..."}.
    digest: Mapping[str, str]


@attrs.frozen
class ResourceRef:
    """An in-toto ResourceDescriptor as SLSA uses it for sources and dependencies."""

    uri: str | None
    digest: Mapping[str, str]


@attrs.frozen
class Provenance:
    """The SLSA fields a policy or an analyst asks about, the same for v1 and v0.2."""

    builder_id: str
    build_type: str
    invocation_id: str | None
    # Where the build came from: the first resolved dependency (v1; GitHub puts the git source
    # there) or invocation.configSource (v0.2).
    source_uri: str | None
    resolved_dependencies: tuple[ResourceRef, ...]
    started: str | None
    finished: str | None


@attrs.frozen
class Attestation:
    predicate_type: str
    kind: AttestationKind
    subjects: tuple[Subject, ...]
    predicate: Mapping[str, Any]
    provenance: Provenance | None
    # Small, JSON-ready facts for listings: test-result {"result", "passed", "warned",
    # "failed"}; vuln-scan {"scanner", "total", "by_severity"}; sbom {"format", "components"}.
    summary: Mapping[str, Any]
    # The DSSE envelope as received (for re-verification later); None when built from a bare
    # Statement.
    envelope: Mapping[str, Any] | None = None
    # For SBOM predicates, the parsed document, so its components can be indexed.
    sbom: Sbom | None = None


@attrs.frozen
class SigstoreBundle:
    media_type: str
    # "0.1", "0.2" or "0.3".
    version: str
    dsse_envelope: Mapping[str, Any] | None
    message_signature: Mapping[str, Any] | None
    verification_material: Mapping[str, Any]
    # Leaf first. Built from the DER bytes without parsing them: checking the chain to the
    # Fulcio root needs the Sigstore trust root, which this module does not have.
    certificate_chain_pem: tuple[str, ...]
    # verificationMaterial.publicKey.hint when the bundle was signed with a known key.
    public_key_hint: str | None
    tlog_entries: tuple[Mapping[str, Any], ...]
    rfc3161_timestamps: tuple[str, ...]

    @property
    def leaf_certificate_der(self) -> bytes | None:
        """The signing certificate's DER bytes, for a verifier to take the public key from."""
        if not self.certificate_chain_pem:
            return None
        body = "".join(
            line for line in self.certificate_chain_pem[0].splitlines() if "-----" not in line
        )
        return base64.b64decode(body)


# --- Statement ------------------------------------------------------------------------------
# Statement v1: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
#   _type       REQUIRED "https://in-toto.io/Statement/v1"
#   subject     REQUIRED non-empty list of ResourceDescriptor, each with a non-empty digest
#   predicateType REQUIRED TypeURI
#   predicate   OPTIONAL object ("unset is treated the same as set-but-empty")
# v0.1 (https://github.com/in-toto/attestation/blob/v0.1.0/spec/README.md#statement) has the
# same shape; SLSA v0.2 provenance is normally carried in v0.1 Statements.
# DigestSet: https://github.com/in-toto/attestation/blob/main/spec/v1/digest_set.md — values are
# lowercase hex; we accept uppercase and lowercase it.

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40, "md5": 32}
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


def _fail(message: str) -> InvalidAttestation:
    return InvalidAttestation(message)


def _load_json(data: bytes, what: str) -> Any:
    if len(data) > MAX_PAYLOAD_BYTES:
        raise _fail(f"{what} is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        return json.loads(data)
    except RecursionError:
        raise _fail(f"{what} JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(f"{what} is not valid JSON: {exc}") from None


def parse_in_toto_statement_payload(payload: bytes) -> dict[str, Any]:
    """Decode a DSSE payload and check it is an in-toto Statement (v1 or v0.1).

    Returns the statement with its subject digests lowercased and a missing predicate set to
    `{}`, so later code needs no defaults.
    """
    statement = _load_json(payload, "statement")
    if not isinstance(statement, dict):
        raise _fail("statement must be a JSON object")
    kind = statement.get("_type")
    if kind not in (STATEMENT_V1, STATEMENT_V01):
        raise _fail(f"statement _type must be {STATEMENT_V1} (or {STATEMENT_V01}), got {kind!r}")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise _fail("statement subject must be a non-empty array")
    normalised = [_subject_json(s, f"statement subject[{i}]") for i, s in enumerate(subjects)]
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str) or not _URI.match(predicate_type):
        raise _fail(f"statement predicateType must be a URI, got {predicate_type!r}")
    predicate = statement.get("predicate", {})
    if predicate is None:
        predicate = {}
    if not isinstance(predicate, dict):
        raise _fail(f"predicateType {predicate_type}: predicate must be a JSON object")
    return {**statement, "subject": normalised, "predicate": predicate}


def _subject_json(subject: object, path: str) -> dict[str, Any]:
    if not isinstance(subject, dict):
        raise _fail(f"{path} must be an object")
    name = subject.get("name")
    if name is not None and not isinstance(name, str):
        raise _fail(f"{path}.name must be a string")
    digest = _digest_set(subject.get("digest"), f"{path}.digest")
    if not digest:
        raise _fail(f"{path}.digest must name at least one digest")
    return {**subject, "digest": digest}


def _digest_set(value: object, path: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _fail(f"{path} must be an object of algorithm -> hex digest")
    digest: dict[str, str] = {}
    for alg, hex_value in value.items():
        if not isinstance(hex_value, str) or not hex_value:
            raise _fail(f"{path}.{alg} must be a non-empty string")
        expected = _DIGEST_LENGTHS.get(alg)
        if expected is not None and (len(hex_value) != expected or not _HEX.match(hex_value)):
            raise _fail(f"{path}.{alg} must be {expected} hex digits")
        # Other algorithms (gitCommit, dirHash, ...) are kept as given: they are not always hex.
        digest[alg] = hex_value.lower() if _HEX.match(hex_value) else hex_value
    return digest


def _subjects(statement: Mapping[str, Any]) -> tuple[Subject, ...]:
    return tuple(Subject(name=s.get("name"), digest=s["digest"]) for s in statement["subject"])


def subject_matches(subjects: Iterable[Subject], sha256_hex: str) -> bool:
    """Whether any subject names the artifact whose SHA-256 is `sha256_hex`."""
    wanted = sha256_hex.lower()
    return any(s.digest.get("sha256") == wanted for s in subjects)


def check_subject(subjects: Iterable[Subject], sha256_hex: str) -> None:
    """Raise unless a subject names the artifact, saying why none does."""
    subjects = tuple(subjects)
    if subject_matches(subjects, sha256_hex):
        return
    without = [i for i, s in enumerate(subjects) if "sha256" not in s.digest]
    if len(without) == len(subjects):
        raise _fail(f"statement subject[{without[0]}].digest has no sha256")
    raise _fail(
        f"no statement subject has the artifact's sha256 {sha256_hex.lower()}; subjects are "
        + ", ".join(f"{s.name or '?'} sha256:{s.digest.get('sha256', '-')}" for s in subjects)
    )


# --- Predicates -----------------------------------------------------------------------------


_EXPECTED: dict[type[Any], str] = {str: "a non-empty string", dict: "an object", list: "an array"}


class _Predicate:
    """Path-naming accessors for one predicate; errors start with the predicate type."""

    def __init__(self, predicate_type: str, predicate: Mapping[str, Any]) -> None:
        self.type = predicate_type
        self.predicate = predicate

    def fail(self, problem: str) -> InvalidAttestation:
        return _fail(f"predicateType {self.type}: {problem}")

    def get(self, path: str, *, required: bool = False, kind: type[Any] = str) -> Any:
        node: Any = self.predicate
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node or node[part] is None:
                if required:
                    raise self.fail(f"{path} is required")
                return None
            node = node[part]
        if not isinstance(node, kind) or (kind is str and not node):
            expected = _EXPECTED.get(kind, kind.__name__)
            raise self.fail(f"{path} must be {expected}")
        return node

    def resources(self, path: str) -> tuple[ResourceRef, ...]:
        refs = []
        for i, item in enumerate(self.get(path, kind=list) or []):
            where = f"{path}[{i}]"
            if not isinstance(item, dict):
                raise self.fail(f"{where} must be an object")
            uri = item.get("uri")
            if uri is not None and not isinstance(uri, str):
                raise self.fail(f"{where}.uri must be a string")
            digest = (
                _digest_set(item["digest"], f"predicateType {self.type}: {where}.digest")
                if item.get("digest") is not None
                else {}
            )
            if uri is None and not digest and "content" not in item:
                raise self.fail(f"{where} needs a uri, digest or content")
            refs.append(ResourceRef(uri=uri, digest=digest))
        return tuple(refs)


def _slsa_v1(p: _Predicate) -> Provenance:
    # https://slsa.dev/spec/v1.0/provenance: buildDefinition.{buildType, externalParameters}
    # and runDetails.builder.id are REQUIRED.
    p.get("buildDefinition", required=True, kind=dict)
    build_type = p.get("buildDefinition.buildType", required=True)
    p.get("buildDefinition.externalParameters", required=True, kind=dict)
    p.get("buildDefinition.internalParameters", kind=dict)
    dependencies = p.resources("buildDefinition.resolvedDependencies")
    p.get("runDetails", required=True, kind=dict)
    builder_id = p.get("runDetails.builder.id", required=True)
    p.resources("runDetails.byproducts")
    return Provenance(
        builder_id=builder_id,
        build_type=build_type,
        invocation_id=p.get("runDetails.metadata.invocationId"),
        source_uri=next((d.uri for d in dependencies if d.uri), None),
        resolved_dependencies=dependencies,
        started=p.get("runDetails.metadata.startedOn"),
        finished=p.get("runDetails.metadata.finishedOn"),
    )


def _slsa_v02(p: _Predicate) -> Provenance:
    # https://slsa.dev/spec/v0.2/provenance: builder.id and buildType are REQUIRED.
    builder_id = p.get("builder.id", required=True)
    build_type = p.get("buildType", required=True)
    p.get("invocation", kind=dict)
    materials = p.resources("materials")
    return Provenance(
        builder_id=builder_id,
        build_type=build_type,
        invocation_id=p.get("metadata.buildInvocationId"),
        source_uri=p.get("invocation.configSource.uri"),
        resolved_dependencies=materials,
        started=p.get("metadata.buildStartedOn"),
        finished=p.get("metadata.buildFinishedOn"),
    )


_TEST_RESULTS = ("PASSED", "WARNED", "FAILED")


def _test_result(p: _Predicate) -> dict[str, Any]:
    # https://github.com/in-toto/attestation/blob/main/spec/predicates/test-result.md
    result = p.get("result", required=True)
    if result not in _TEST_RESULTS:
        raise p.fail(f"result must be one of {', '.join(_TEST_RESULTS)}, got {result!r}")
    p.resources("configuration")
    counts = {}
    for key, label in (
        ("passedTests", "passed"),
        ("warnedTests", "warned"),
        ("failedTests", "failed"),
    ):
        tests = p.get(key, kind=list) or []
        if not all(isinstance(t, str) for t in tests):
            raise p.fail(f"{key} must be an array of strings")
        counts[label] = len(tests)
    return {"result": result, **counts, "url": p.get("url")}


# Severity bands of CVSS v3 (https://www.first.org/cvss/v3.1/specification-document §5).
def _cvss_band(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0.0:
        return "low"
    return "none"


_SEVERITY_ORDER = ("critical", "high", "medium", "low", "negligible", "none", "unknown")


def _severity(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _cvss_band(float(value))
    if isinstance(value, str):
        try:
            return _cvss_band(float(value))
        except ValueError:
            word = value.strip().lower()
            return word if word in _SEVERITY_ORDER else "unknown"
    return "unknown"


def _count(severities: Iterable[str]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    total = 0
    for severity in severities:
        counts[severity] = counts.get(severity, 0) + 1
        total += 1
    ordered = {k: counts[k] for k in _SEVERITY_ORDER if k in counts}
    return {"total": total, "by_severity": ordered}


def _vulns_v01(p: _Predicate) -> dict[str, Any]:
    # https://github.com/in-toto/attestation/blob/main/spec/predicates/vulns_01.md:
    # scanner.uri and scanner.result (a list of {id, severity: [{method, score}]}) are required.
    scanner_uri = p.get("scanner.uri", required=True)
    results = p.get("scanner.result", required=True, kind=list)
    severities = []
    for i, item in enumerate(results):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise p.fail(f"scanner.result[{i}].id is required")
        scores = item.get("severity") or []
        if not isinstance(scores, list):
            raise p.fail(f"scanner.result[{i}].severity must be an array")
        # A finding with several ratings (nvd, vendor, ...) counts once, at its worst.
        bands = [_severity(s.get("score")) for s in scores if isinstance(s, dict)]
        severities.append(min(bands, key=_SEVERITY_ORDER.index) if bands else "unknown")
    return {
        "scanner": scanner_uri,
        "scanner_version": p.get("scanner.version"),
        **_count(severities),
    }


def _cosign_vuln_v1(p: _Predicate) -> dict[str, Any]:
    # https://github.com/sigstore/cosign/blob/main/specs/COSIGN_VULN_ATTESTATION_SPEC.md:
    # scanner.uri is required; scanner.result is the scanner's own report, kept as-is. Trivy's
    # (Results[].Vulnerabilities[].Severity) and Grype's (matches[].vulnerability.severity)
    # reports are counted; others are stored without counts.
    scanner_uri = p.get("scanner.uri", required=True)
    report = p.get("scanner.result", kind=dict) or {}
    severities: list[str] | None = None
    if isinstance(report.get("Results"), list):
        severities = [
            _severity(v.get("Severity"))
            for r in report["Results"]
            if isinstance(r, dict) and isinstance(r.get("Vulnerabilities"), list)
            for v in r["Vulnerabilities"]
            if isinstance(v, dict)
        ]
    elif isinstance(report.get("matches"), list):
        severities = [
            _severity(m.get("vulnerability", {}).get("severity"))
            for m in report["matches"]
            if isinstance(m, dict) and isinstance(m.get("vulnerability"), dict)
        ]
    summary: dict[str, Any] = {"scanner": scanner_uri, "scanner_version": p.get("scanner.version")}
    if severities is not None:
        summary.update(_count(severities))
    return summary


def interpret(
    statement: Mapping[str, Any], envelope: Mapping[str, Any] | None = None
) -> Attestation:
    """Validate the predicate of a checked Statement and summarise it.

    `statement` is what `parse_in_toto_statement_payload` returned. Unknown predicate types are
    kept as-is (kind "other"); known ones must have the shape their spec requires.
    """
    predicate_type: str = statement["predicateType"]
    predicate: Mapping[str, Any] = statement["predicate"]
    p = _Predicate(predicate_type, predicate)
    kind: AttestationKind = "other"
    provenance = None
    summary: dict[str, Any] = {}
    sbom = None
    if predicate_type == PREDICATE_SLSA_PROVENANCE_V1:
        kind, provenance = "slsa-provenance", _slsa_v1(p)
    elif predicate_type == PREDICATE_SLSA_PROVENANCE_V02:
        kind, provenance = "slsa-provenance", _slsa_v02(p)
    elif predicate_type == PREDICATE_TEST_RESULT:
        kind, summary = "test-result", _test_result(p)
    elif predicate_type == PREDICATE_VULNS:
        kind, summary = "vuln-scan", _vulns_v01(p)
    elif predicate_type == PREDICATE_COSIGN_VULN_V1:
        kind, summary = "vuln-scan", _cosign_vuln_v1(p)
    elif predicate_type.startswith((PREDICATE_SPDX, PREDICATE_CYCLONEDX)):
        try:
            sbom = parse_sbom_object(predicate)
        except InvalidSbom as exc:
            raise p.fail(f"predicate is not a valid SBOM: {exc.message}") from None
        kind = "sbom"
        summary = {"format": sbom.format, "components": len(sbom.components)}
    if provenance is not None:
        summary = {"builder_id": provenance.builder_id, "build_type": provenance.build_type}
    return Attestation(
        predicate_type=predicate_type,
        kind=kind,
        subjects=_subjects(statement),
        predicate=predicate,
        provenance=provenance,
        summary=summary,
        envelope=envelope,
        sbom=sbom,
    )


# --- DSSE envelope --------------------------------------------------------------------------
# https://github.com/secure-systems-lab/dsse/blob/master/envelope.md:
#   {"payload": base64, "payloadType": string, "signatures": [{"keyid"?: string, "sig": base64}]}
# Only the shape is checked here; signatures are verified by zas.supplychain.dsse.


def _b64(value: object, path: str) -> bytes:
    if not isinstance(value, str):
        raise _fail(f"{path} must be a base64 string")
    # DSSE says standard base64 but allows URL-safe; protobuf JSON (Sigstore) accepts both.
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _fail(f"{path} is not valid base64") from None


def decode_envelope_payload(envelope: object, path: str = "envelope") -> bytes:
    """Check a DSSE envelope's shape and return its in-toto payload bytes."""
    if not isinstance(envelope, dict):
        raise _fail(f"{path} must be a JSON object")
    payload_type = envelope.get("payloadType")
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise _fail(f"{path}.payloadType must be {IN_TOTO_PAYLOAD_TYPE}, got {payload_type!r}")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise _fail(f"{path}.signatures must be a non-empty array")
    for i, signature in enumerate(signatures):
        if not isinstance(signature, dict):
            raise _fail(f"{path}.signatures[{i}] must be an object")
        if not _b64(signature.get("sig"), f"{path}.signatures[{i}].sig"):
            raise _fail(f"{path}.signatures[{i}].sig is empty")
        keyid = signature.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise _fail(f"{path}.signatures[{i}].keyid must be a string")
    return _b64(envelope.get("payload"), f"{path}.payload")


def attestation_from_envelope(envelope: Mapping[str, Any]) -> Attestation:
    """Envelope -> checked Statement -> interpreted Attestation (signatures not verified)."""
    payload = decode_envelope_payload(envelope)
    return interpret(parse_in_toto_statement_payload(payload), envelope=envelope)


# --- Sigstore bundle ------------------------------------------------------------------------
# https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto (JSON form:
# protobuf JSON mapping, camelCase, bytes as base64, int64 as strings).
#   mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json" (v0.3; the older spelling
#     "application/vnd.dev.sigstore.bundle+json;version=0.3" is also valid), or
#     "...bundle+json;version=0.2" / "...;version=0.1".
#   verificationMaterial: exactly one of publicKey {hint}, x509CertificateChain
#     {certificates: [{rawBytes}]} (v0.1/v0.2), certificate {rawBytes} (v0.3: a single leaf);
#     tlogEntries [...]; timestampVerificationData {rfc3161Timestamps: [{signedTimestamp}]}.
#     v0.1 entries carry an inclusionPromise; from v0.2 an inclusionProof is required.
#   content: exactly one of messageSignature {messageDigest, signature} or dsseEnvelope.

_BUNDLE_MEDIA_TYPES = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "0.3",
}


def _pem(der: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def parse_sigstore_bundle(data: bytes | Mapping[str, Any]) -> SigstoreBundle:
    """Unpack a Sigstore bundle (v0.1 to v0.3), checking the structure each version requires."""
    bundle = _load_json(data, "bundle") if isinstance(data, bytes) else data
    if not isinstance(bundle, Mapping):
        raise _fail("bundle must be a JSON object")
    media_type = bundle.get("mediaType")
    version = _BUNDLE_MEDIA_TYPES.get(media_type) if isinstance(media_type, str) else None
    if version is None or not isinstance(media_type, str):
        raise _fail(
            f"bundle mediaType {media_type!r} is not a Sigstore bundle v0.1, v0.2 or v0.3 "
            "(e.g. application/vnd.dev.sigstore.bundle.v0.3+json)"
        )
    material = bundle.get("verificationMaterial")
    if not isinstance(material, Mapping):
        raise _fail("bundle verificationMaterial is required")

    forms = [k for k in ("publicKey", "x509CertificateChain", "certificate") if k in material]
    if len(forms) != 1:
        raise _fail(
            "bundle verificationMaterial must hold exactly one of publicKey, "
            f"x509CertificateChain, certificate (found {', '.join(forms) or 'none'})"
        )
    chain: list[str] = []
    hint = None
    if forms[0] == "certificate":
        if version != "0.3":
            raise _fail(f"bundle verificationMaterial.certificate needs v0.3, this is v{version}")
        cert = material["certificate"]
        raw = cert.get("rawBytes") if isinstance(cert, Mapping) else None
        chain.append(_pem(_b64(raw, "bundle verificationMaterial.certificate.rawBytes")))
    elif forms[0] == "x509CertificateChain":
        if version == "0.3":
            raise _fail(
                "bundle v0.3 must carry a single verificationMaterial.certificate, "
                "not an x509CertificateChain"
            )
        certificates = material["x509CertificateChain"]
        certificates = (
            certificates.get("certificates") if isinstance(certificates, Mapping) else None
        )
        if not isinstance(certificates, list) or not certificates:
            raise _fail("bundle verificationMaterial.x509CertificateChain.certificates is empty")
        for i, cert in enumerate(certificates):
            raw = cert.get("rawBytes") if isinstance(cert, Mapping) else None
            where = f"bundle verificationMaterial.x509CertificateChain.certificates[{i}].rawBytes"
            chain.append(_pem(_b64(raw, where)))
    else:
        key = material["publicKey"]
        hint = key.get("hint") if isinstance(key, Mapping) else None
        if hint is not None and not isinstance(hint, str):
            raise _fail("bundle verificationMaterial.publicKey.hint must be a string")

    tlog_entries = material.get("tlogEntries", [])
    if not isinstance(tlog_entries, list):
        raise _fail("bundle verificationMaterial.tlogEntries must be an array")
    for i, entry in enumerate(tlog_entries):
        where = f"bundle verificationMaterial.tlogEntries[{i}]"
        if not isinstance(entry, Mapping):
            raise _fail(f"{where} must be an object")
        for key in ("logIndex", "logId", "kindVersion", "integratedTime", "canonicalizedBody"):
            if key not in entry:
                raise _fail(f"{where}.{key} is required")
        if version == "0.1" and "inclusionPromise" not in entry:
            raise _fail(f"{where}.inclusionPromise is required in bundle v0.1")
        if version != "0.1" and not isinstance(entry.get("inclusionProof"), Mapping):
            raise _fail(f"{where}.inclusionProof is required from bundle v0.2")
    timestamps = []
    tvd = material.get("timestampVerificationData") or {}
    if not isinstance(tvd, Mapping):
        raise _fail("bundle verificationMaterial.timestampVerificationData must be an object")
    for i, ts in enumerate(tvd.get("rfc3161Timestamps") or []):
        signed = ts.get("signedTimestamp") if isinstance(ts, Mapping) else None
        where = f"bundle verificationMaterial.timestampVerificationData.rfc3161Timestamps[{i}]"
        _b64(signed, f"{where}.signedTimestamp")
        timestamps.append(str(signed))

    has_dsse = "dsseEnvelope" in bundle
    has_message = "messageSignature" in bundle
    if has_dsse == has_message:
        raise _fail("bundle must hold exactly one of dsseEnvelope and messageSignature")
    dsse = message = None
    if has_dsse:
        dsse = bundle["dsseEnvelope"]
        if not isinstance(dsse, Mapping):
            raise _fail("bundle dsseEnvelope must be an object")
        decode_envelope_payload(dict(dsse), "bundle dsseEnvelope")
    else:
        message = bundle["messageSignature"]
        if not isinstance(message, Mapping):
            raise _fail("bundle messageSignature must be an object")
        _b64(message.get("signature"), "bundle messageSignature.signature")
    return SigstoreBundle(
        media_type=media_type,
        version=version,
        dsse_envelope=dsse,
        message_signature=message,
        verification_material=material,
        certificate_chain_pem=tuple(chain),
        public_key_hint=hint,
        tlog_entries=tuple(tlog_entries),
        rfc3161_timestamps=tuple(timestamps),
    )


def attestation_from_bundle(bundle: SigstoreBundle) -> Attestation:
    """The Statement inside a bundle's DSSE envelope, interpreted (signatures not verified)."""
    if bundle.dsse_envelope is None:
        raise _fail("bundle holds a messageSignature, not an attestation (dsseEnvelope)")
    return attestation_from_envelope(bundle.dsse_envelope)
