"""DSSE envelopes holding in-toto Statements: build, sign, parse and verify.

DSSE v1 (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md, envelope.md):

    SIGNATURE = Sign(PAE(UTF8(PAYLOAD_TYPE), SERIALIZED_BODY))
    PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body) + SP + body
    LEN(s) = ASCII decimal byte length of s, no leading zeros

    {"payload": "<Base64(SERIALIZED_BODY)>", "payloadType": "<PAYLOAD_TYPE>",
     "signatures": [{"keyid": "<KEYID>", "sig": "<Base64(SIGNATURE)>"}]}

"Either standard or URL-safe base64 encodings are allowed. Signers may use either, and
verifiers MUST accept either." The keyid is an unauthenticated hint: "It MUST NOT be used for
security decisions; it may only be used to narrow the selection of possible keys to try."

Sign() per key algorithm, as sigstore/cosign do it: Ed25519 signs the PAE itself; ECDSA
P-256 signs SHA-256(PAE) and writes DER (64-byte r||s is accepted too, as the spec's own test
vector uses it); RSA signs SHA-256(PAE) with the key's scheme (PSS for server keys).

The payload ZAS attests is an in-toto Statement v1
(https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md):

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "<bucket>/<key>", "digest": {"sha256": "<hex>"}}],
     "predicateType": "<URI>", "predicate": {...}}

Pure: no storage, no HTTP; the caller decides which keys are trusted and which predicate
types are accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from zas.protocol.errors import InvalidArgument
from zas.supplychain.attestations import InvalidAttestation, parse_in_toto_statement_payload
from zas.supplychain.keys import PrivateKey, PublicKey
from zas.supplychain.signatures import sign_message, verify_message

__all__ = [
    "PAYLOAD_TYPE_INTOTO",
    "STATEMENT_TYPES",
    "STATEMENT_TYPE_V01",
    "STATEMENT_TYPE_V1",
    "Envelope",
    "EnvelopeSignature",
    "InvalidEnvelope",
    "InvalidStatement",
    "SignatureCheck",
    "Statement",
    "Subject",
    "add_signature",
    "pae",
    "parse_envelope",
    "parse_statement",
    "sign_envelope",
    "statement",
    "statement_from_envelope",
    "statement_matches",
    "statement_payload",
    "verified_key_ids",
    "verify_envelope",
]

PAYLOAD_TYPE_INTOTO = "application/vnd.in-toto+json"
STATEMENT_TYPE_V1 = "https://in-toto.io/Statement/v1"
# v0.1 Statements are still what many producers write (older cosign, in-toto-golang).
STATEMENT_TYPE_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_TYPES = (STATEMENT_TYPE_V1, STATEMENT_TYPE_V01)

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_BASE64 = re.compile(r"[A-Za-z0-9+/_\-]*={0,2}")


class InvalidEnvelope(InvalidArgument):
    code = "InvalidEnvelope"
    default_message = "The DSSE envelope is not valid."


class InvalidStatement(InvalidEnvelope):
    code = "InvalidStatement"
    default_message = "The in-toto Statement is not valid."


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 Pre-Authentication Encoding: what is actually signed.

    LEN counts bytes of UTF-8, not characters, so a non-ASCII type is measured encoded.
    """
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str, error: type[InvalidEnvelope] = InvalidEnvelope) -> bytes:
    # Standard or URL-safe, padded or not (DSSE: verifiers MUST accept either alphabet).
    if not _BASE64.fullmatch(text):
        raise error(f"{what} is not base64")
    normalized = text.rstrip("=").replace("-", "+").replace("_", "/")
    normalized += "=" * (-len(normalized) % 4)
    try:
        return base64.b64decode(normalized, validate=True)
    except binascii.Error as exc:
        raise error(f"{what} is not base64") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two readers of one document must not see two different values: a duplicated key is
    # refused instead of letting the last one win silently.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _load_json(data: bytes | str, what: str, error: type[InvalidEnvelope]) -> Any:
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates)
    except RecursionError as exc:
        raise error(f"{what} is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{what} is not valid JSON: {exc}") from exc


# --- envelopes ------------------------------------------------------------------------------


@attrs.frozen
class EnvelopeSignature:
    keyid: str  # "" when the signer gave none
    sig: bytes


@attrs.frozen
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope; an empty keyid is omitted ("Empty fields may be omitted")."""
        signatures: list[dict[str, str]] = []
        for signature in self.signatures:
            entry = {"keyid": signature.keyid} if signature.keyid else {}
            entry["sig"] = _b64(signature.sig)
            signatures.append(entry)
        return {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": signatures,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8")


@attrs.frozen
class SignatureCheck:
    """The outcome for one signature of an envelope."""

    keyid: str  # as the envelope said; "" when absent
    key_id_used: str | None  # the trusted key that verified it (or was tried last); None if none
    ok: bool
    reason: str


def sign_envelope(key: PrivateKey, payload_type: str, payload: bytes) -> dict[str, Any]:
    """A one-signature DSSE JSON envelope, keyid = the ZAS key id."""
    signature = sign_message(key, pae(payload_type, payload))
    envelope = Envelope(payload_type, payload, (EnvelopeSignature(key.public.key_id, signature),))
    return envelope.to_dict()


def add_signature(envelope: Envelope, key: PrivateKey) -> Envelope:
    """The envelope with one more signature (DSSE allows many over the same payload)."""
    signature = sign_message(key, pae(envelope.payload_type, envelope.payload))
    return attrs.evolve(
        envelope,
        signatures=(*envelope.signatures, EnvelopeSignature(key.public.key_id, signature)),
    )


def parse_envelope(data: bytes | str | Mapping[str, Any]) -> Envelope:
    """Decode a DSSE JSON envelope (JSON bytes/text or an already-decoded object).

    Checks the shape only, not signatures: `payload` and `sig` base64 (either alphabet),
    `payloadType` a string, `signatures` a non-empty list of objects whose `keyid`, when
    present, is a string. Unknown fields are ignored. Raises `InvalidEnvelope` naming the field.
    """
    obj = data if isinstance(data, Mapping) else _load_json(data, "the envelope", InvalidEnvelope)
    if not isinstance(obj, Mapping):
        raise InvalidEnvelope("the envelope must be a JSON object")
    payload_b64 = obj.get("payload")
    if not isinstance(payload_b64, str):
        raise InvalidEnvelope("the envelope has no string 'payload'")
    payload_type = obj.get("payloadType")
    if not isinstance(payload_type, str):
        raise InvalidEnvelope("the envelope has no string 'payloadType'")
    raw_signatures = obj.get("signatures")
    if not isinstance(raw_signatures, list) or not raw_signatures:
        raise InvalidEnvelope("the envelope's 'signatures' must be a non-empty list")
    signatures: list[EnvelopeSignature] = []
    for index, entry in enumerate(raw_signatures):
        where = f"signatures[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidEnvelope(f"{where} must be an object")
        sig = entry.get("sig")
        if not isinstance(sig, str) or not sig:
            raise InvalidEnvelope(f"{where} has no string 'sig'")
        keyid = entry.get("keyid", "")
        if keyid is None:
            keyid = ""
        if not isinstance(keyid, str):
            raise InvalidEnvelope(f"{where}.keyid must be a string")
        signatures.append(EnvelopeSignature(keyid, _unb64(sig, f"{where}.sig")))
    return Envelope(payload_type, _unb64(payload_b64, "'payload'"), tuple(signatures))


def verify_envelope(
    envelope: Envelope, keys: Mapping[str, PublicKey] | Sequence[PublicKey]
) -> list[SignatureCheck]:
    """Check every signature of the envelope against the trusted `keys`; one result each.

    A signature whose keyid names a trusted key is tried against that key only (the keyid
    narrows the choice, as DSSE allows). A signature with no keyid, or a keyid naming none of
    the keys (other tools compute keyids differently), is tried against every key, so a keyid
    can never make a signature pass, only stop it from being tried elsewhere. Thresholds are
    the caller's: count distinct `key_id_used` of the ok results (`verified_key_ids`).
    """
    trusted = dict(keys) if isinstance(keys, Mapping) else {key.key_id: key for key in keys}
    message = pae(envelope.payload_type, envelope.payload)
    checks: list[SignatureCheck] = []
    for signature in envelope.signatures:
        named = trusted.get(signature.keyid) if signature.keyid else None
        candidates = [named] if named is not None else list(trusted.values())
        if not candidates:
            checks.append(SignatureCheck(signature.keyid, None, False, "no trusted keys"))
            continue
        check: SignatureCheck | None = None
        for key in candidates:
            result = verify_message(key, signature.sig, message)
            check = SignatureCheck(signature.keyid, key.key_id, result.ok, result.reason)
            if result.ok:
                break
        assert check is not None
        if not check.ok and named is None:
            hint = f" (keyid {signature.keyid!r} names none of them)" if signature.keyid else ""
            check = attrs.evolve(
                check,
                key_id_used=None,
                reason=f"no trusted key verifies the signature{hint}",
            )
        checks.append(check)
    return checks


def verified_key_ids(checks: Sequence[SignatureCheck]) -> set[str]:
    """The distinct trusted keys that verified at least one signature (for a t-of-n rule)."""
    return {check.key_id_used for check in checks if check.ok and check.key_id_used is not None}


# --- in-toto Statements ---------------------------------------------------------------------


@attrs.frozen
class Subject:
    name: str  # "" when the producer left it unset
    digest: Mapping[str, str]


@attrs.frozen
class Statement:
    type: str
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Mapping[str, Any]


def statement(
    subject_name: str, sha256_hex: str, predicate_type: str, predicate: Mapping[str, Any]
) -> dict[str, Any]:
    """An in-toto Statement v1 about one object, `subject_name` being "<bucket>/<key>"."""
    if not _SHA256_HEX.fullmatch(sha256_hex):
        raise InvalidStatement("the subject digest must be 64 hex digits of SHA-256")
    if not predicate_type:
        raise InvalidStatement("the predicateType must not be empty")
    return {
        "_type": STATEMENT_TYPE_V1,
        "subject": [{"name": subject_name, "digest": {"sha256": sha256_hex.lower()}}],
        "predicateType": predicate_type,
        "predicate": dict(predicate),
    }


def statement_payload(stmt: Mapping[str, Any]) -> bytes:
    """Serialized Statement for a DSSE payload (compact JSON, UTF-8)."""
    return json.dumps(stmt, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_statement(payload: bytes) -> Statement:
    """Validate an in-toto Statement (v1, or v0.1 which has the same shape).

    One set of rules for every Statement ZAS reads: `zas.supplychain.attestations.
    parse_in_toto_statement_payload` (subject digests checked and lowercased, predicateType a
    URI, a missing predicate is `{}`); its refusals are raised here as `InvalidStatement`.
    """
    try:
        obj = parse_in_toto_statement_payload(payload)
    except InvalidAttestation as exc:
        raise InvalidStatement(exc.message) from None
    subjects = tuple(
        Subject(entry.get("name") or "", dict(entry["digest"])) for entry in obj["subject"]
    )
    return Statement(str(obj["_type"]), subjects, obj["predicateType"], obj["predicate"])


def statement_from_envelope(envelope: Envelope) -> Statement:
    """The Statement inside an envelope, refusing any payloadType other than in-toto's.

    DSSE: "Reject if PAYLOAD_TYPE is not a supported type." Check signatures first.
    """
    if envelope.payload_type != PAYLOAD_TYPE_INTOTO:
        raise InvalidEnvelope(
            f"payloadType {envelope.payload_type!r} is not supported; use {PAYLOAD_TYPE_INTOTO!r}"
        )
    return parse_statement(envelope.payload)


def statement_matches(stmt: Statement, sha256_hex: str, *, name: str | None = None) -> bool:
    """Whether a subject of the Statement is the object with this SHA-256.

    in-toto matches subjects "purely by digest"; ZAS binds on sha256 (the only algorithm it
    computes; a subject with only other digests does not match). With `name`, the subject
    must also carry that name ("<bucket>/<key>").
    """
    wanted = sha256_hex.lower()
    for subject in stmt.subjects:
        digest = subject.digest.get("sha256")
        if (
            digest is not None
            and digest.lower() == wanted
            and (name is None or subject.name == name)
        ):
            return True
    return False
