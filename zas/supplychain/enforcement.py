"""Per-bucket verification policies and their evaluation (pure).

A policy says what an artifact must have before it may be downloaded:

    {
      "mode": "enforce",                       # or "warn": serve, flag with a header
      "require": {
        "signature": {"keys": ["zas:ecdsa-...", "ci-key"]},   # a valid signature by one of these
        "sbom": true,                                          # at least one SBOM
        "provenance": {"builder_ids": ["https://github.com/actions/runner/github-hosted"]},
        "attestations": ["https://in-toto.io/attestation/test-result/v0.1"]
      }
    }

`signature.keys` may be omitted (any trusted or server key counts). Evidence was verified
when it arrived (signatures against the keys, attestation subjects against the object's
SHA-256, which is bound to the stored bytes); evaluation only reads those outcomes and the
keys' current status, so it is cheap enough to run on every GET (and is cached on top).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from zas.protocol.errors import InvalidArgument, S3Error

Mode = Literal["enforce", "warn"]
_REQUIREMENTS = frozenset({"signature", "sbom", "provenance", "attestations"})
MAX_POLICY_BYTES = 64 * 1024


class MalformedVerificationPolicy(InvalidArgument):
    code = "MalformedVerificationPolicy"


class VerificationFailed(S3Error):
    """GET/HEAD refused: the artifact does not satisfy its bucket's verification policy."""

    code = "VerificationFailed"
    http_status = 403
    default_message = "The object does not satisfy its bucket's verification policy."


@attrs.frozen
class VerificationPolicy:
    mode: Mode
    signature_keys: frozenset[str] | None  # None: no signature required; empty: any key
    sbom: bool
    builder_ids: frozenset[str] | None  # None: no provenance required; empty: any builder
    attestations: frozenset[str]  # predicate types that must be present (verified)
    document: dict[str, Any]


def parse_policy(text: str | bytes) -> VerificationPolicy:
    if len(text) > MAX_POLICY_BYTES:
        raise MalformedVerificationPolicy(f"policies are limited to {MAX_POLICY_BYTES} bytes")
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedVerificationPolicy(f"the policy is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedVerificationPolicy("the policy must be a JSON object")
    unknown = set(document) - {"mode", "require"}
    if unknown:
        raise MalformedVerificationPolicy(f"unknown policy fields: {', '.join(sorted(unknown))}")
    mode = document.get("mode", "enforce")
    if mode not in ("enforce", "warn"):
        raise MalformedVerificationPolicy("mode must be 'enforce' or 'warn'")
    require = document.get("require", {})
    if not isinstance(require, dict) or not require:
        raise MalformedVerificationPolicy("require must be a non-empty object")
    unknown = set(require) - _REQUIREMENTS
    if unknown:
        raise MalformedVerificationPolicy(
            f"unknown requirements: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_REQUIREMENTS))})"
        )
    signature = _requirement(require, "signature")
    signature_keys = (
        None
        if signature is None
        else frozenset(_strings(signature.get("keys", []), "require.signature.keys"))
    )
    sbom = require.get("sbom", False)
    if not isinstance(sbom, bool):
        raise MalformedVerificationPolicy("require.sbom must be true or false")
    provenance = _requirement(require, "provenance")
    builder_ids = (
        None
        if provenance is None
        else frozenset(
            _strings(provenance.get("builder_ids", []), "require.provenance.builder_ids")
        )
    )
    attestations = frozenset(_strings(require.get("attestations", []), "require.attestations"))
    return VerificationPolicy(mode, signature_keys, sbom, builder_ids, attestations, document)


def _requirement(require: dict[str, Any], name: str) -> dict[str, Any] | None:
    """`require.<name>` given as `true` or as an object of options: the options ({} for true);
    None when the requirement is absent."""
    if name not in require:
        return None
    value = require[name]
    if value is True:
        return {}
    if not isinstance(value, dict):
        raise MalformedVerificationPolicy(f"require.{name} must be true or an object")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise MalformedVerificationPolicy(f"{where} must be a list of non-empty strings")
    return list(value)


@attrs.frozen
class EvidenceFacts:
    """What enforcement needs of one piece of evidence (from its arrival-time summary)."""

    kind: str  # signature | envelope | sbom | attestation
    verified_by: frozenset[str]  # key ids whose signatures verified on arrival
    predicate_type: str | None = None
    builder_id: str | None = None


@attrs.frozen
class Outcome:
    passed: bool
    missing: tuple[str, ...]  # machine-readable: "signature", "sbom", "provenance", types...
    mode: Mode

    def header(self) -> str:
        if self.passed:
            return "passed"
        return "failed; missing=" + ",".join(self.missing)


def evaluate(
    policy: VerificationPolicy,
    evidence: Iterable[EvidenceFacts],
    usable_keys: frozenset[str],
) -> Outcome:
    """`usable_keys`: keys that still count (not disabled, trusted for this bucket)."""
    items = list(evidence)
    missing: list[str] = []

    def verified(fact: EvidenceFacts, allowed: frozenset[str] | None) -> bool:
        keys = fact.verified_by & usable_keys
        return bool(keys if not allowed else keys & allowed)

    if policy.signature_keys is not None and not any(
        fact.kind in ("signature", "envelope", "attestation")
        and verified(fact, policy.signature_keys)
        for fact in items
    ):
        missing.append("signature")
    if policy.sbom and not any(fact.kind == "sbom" for fact in items):
        missing.append("sbom")
    if policy.builder_ids is not None and not any(
        fact.kind == "attestation"
        and fact.builder_id is not None
        and (not policy.builder_ids or fact.builder_id in policy.builder_ids)
        and verified(fact, None)
        for fact in items
    ):
        missing.append("provenance")
    for predicate_type in sorted(policy.attestations):
        if not any(
            fact.kind == "attestation"
            and fact.predicate_type == predicate_type
            and verified(fact, None)
            for fact in items
        ):
            missing.append(predicate_type)
    return Outcome(not missing, tuple(missing), policy.mode)


def facts_from_summary(kind: str, summary: Mapping[str, Any]) -> EvidenceFacts:
    return EvidenceFacts(
        kind=kind,
        verified_by=frozenset(summary.get("verified_by", ())),
        predicate_type=summary.get("predicate_type"),
        builder_id=summary.get("builder_id"),
    )
