"""Fuzz target: supply-chain documents (`zas.supplychain`: sbom, dsse, attestations).

The input is a document as a client would upload it: an SBOM, a DSSE envelope or a Sigstore
bundle. Each parser sees every input. Invariant: each returns or raises an `S3Error`
(InvalidSbom, InvalidEnvelope, InvalidAttestation, ...), never anything else; what an SBOM
parser returns has named components; a parsed envelope re-encodes to an equal envelope.
"""

from __future__ import annotations

from fuzz._harness import attempt, run
from zas.supplychain import attestations, dsse, sbom


def test_one_input(data: bytes) -> None:
    parsed = attempt(sbom.parse_sbom, data)
    if parsed is not None:
        assert all(component.name for component in parsed.components)
    envelope = attempt(dsse.parse_envelope, data)
    if envelope is not None:
        assert dsse.parse_envelope(envelope.to_json()) == envelope
        attempt(dsse.statement_from_envelope, envelope)
    bundle = attempt(attestations.parse_sigstore_bundle, data)
    if bundle is not None and bundle.dsse_envelope is not None:
        attempt(attestations.attestation_from_bundle, bundle)
    attempt(attestations.parse_in_toto_statement_payload, data)


def main() -> None:
    run(test_one_input)


if __name__ == "__main__":
    main()
