"""The supply-chain service: keys, evidence on arrival, verification, enforcement.

Everything a client sends is checked before it is stored: a signature against the trusted
keys, an envelope's or attestation's subject against the object's SHA-256, an SBOM against
its format. What was checked is kept with the evidence (`summary`), so enforcement on GET
reads outcomes instead of redoing cryptography; `verify()` redoes all of it, re-hashing the
stored bytes, for when someone wants proof now.

State lives in `zas.meta.evidence` rows and, for reads on the request path, in memory
(keys, evidence summaries without documents, policies), reloaded after every change like
the IAM directory. Enforcement outcomes are cached per (bucket, key, SHA-256) and dropped on
any change.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
import trio

from zas.auth.sealing import MasterKey
from zas.lazy import LazyModule
from zas.meta import evidence as rows
from zas.meta.evidence import EvidenceRecord, EvidenceSnapshot, SigningKeyRecord, TrustedKeyRecord
from zas.meta.records import ObjectRecord
from zas.meta.store import MetaStore
from zas.objects.service import ObjectService
from zas.protocol.errors import InvalidArgument, InvalidRequest, NoSuchEntity
from zas.supplychain import attestations, sbom
from zas.supplychain.enforcement import (
    Outcome,
    VerificationPolicy,
    evaluate,
    facts_from_summary,
    parse_policy,
)

if TYPE_CHECKING:
    from zas.supplychain import dsse, keys, signatures
else:  # cryptography is loaded when keys or signatures are first used (zas.lazy)
    dsse = LazyModule("zas.supplychain.dsse")
    keys = LazyModule("zas.supplychain.keys")
    signatures = LazyModule("zas.supplychain.signatures")

ACTIVE, RETIRED, DISABLED = "active", "retired", "disabled"
USES = ("signature", "attestation")
# Ed25519 raw signatures cover the bytes themselves (no prehash): held in memory to sign or
# verify, so they are limited to artifacts of this size.
MAX_ED25519_ARTIFACT = 64 * 1024 * 1024


@attrs.frozen
class Check:
    """One verification step's outcome, for the structured /verify answer."""

    evidence_id: str | None
    kind: str
    check: str
    ok: bool
    key_id: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _digest_bytes(sha256_hex: str) -> bytes:
    return bytes.fromhex(sha256_hex)


def _new_id(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(8)}"


class SupplyChain:
    def __init__(
        self,
        meta: MetaStore,
        objects: ObjectService,
        master: MasterKey,
        clock: Callable[[], datetime],
    ) -> None:
        self.meta = meta
        self.objects = objects
        self.master = master
        self.clock = clock
        self._lock = trio.Lock()
        self._snapshot = EvidenceSnapshot({}, {}, {}, {})
        self._public: dict[str, keys.PublicKey] = {}
        self._policies: dict[str, VerificationPolicy] = {}
        self._outcomes: dict[tuple[str, str, str], Outcome] = {}
        # Private keys opened once (unsealing and parsing an RSA key costs milliseconds).
        self._opened: dict[str, keys.PrivateKey] = {}
        # (operation, result) for metrics: sign|verify|sbom|attestation x success|failure.
        self.on_event: Callable[[str, str], None] = lambda operation, result: None

    # --- state -------------------------------------------------------------------------

    async def reload(self) -> None:
        async with self._lock:
            snapshot = await self.meta.load_evidence()
            records: list[SigningKeyRecord | TrustedKeyRecord] = [
                *snapshot.signing_keys.values(),
                *snapshot.trusted_keys.values(),
            ]
            public = {
                r.key_id: keys.PublicKey(r.key_id, r.algorithm, r.public_pem)  # type: ignore[arg-type]
                for r in records
            }
            self._policies = {
                bucket: parse_policy(record.document)
                for bucket, record in snapshot.policies.items()
            }
            self._snapshot = snapshot
            self._public = public
            self._outcomes.clear()
            self._opened.clear()

    async def _change(self, change: Any) -> Any:
        try:
            return await self.meta.change(change)
        finally:
            # Shielded: a cancelled change has still committed (MetaStore waits for it), and
            # a disabled key or a new policy must take effect now.
            with trio.CancelScope(shield=True):
                await self.reload()

    async def sweep(self) -> None:
        """Start-up: drop evidence whose object is gone or holds other bytes."""
        await self._change(rows.SweepStaleEvidence())

    async def objects_deleted(self, bucket: str) -> None:
        """After a DeleteObjects: drop the bucket's evidence whose object is gone."""
        if any(key[0] == bucket for key in self._snapshot.evidence):
            await self._change(rows.SweepStaleEvidence(bucket))

    def has_evidence(self, bucket: str, key: str) -> bool:
        return (bucket, key) in self._snapshot.evidence

    async def object_changed(self, bucket: str, key: str) -> None:
        """After a write or delete of an object that had evidence: drop what no longer
        applies to its current bytes (all of it when the object is gone)."""
        if self.has_evidence(bucket, key):
            record = await self.meta.get_object(bucket, key)
            sha256 = record.sha256 if record is not None else None
            await self._change(rows.DropStaleEvidence(bucket, key, sha256))

    # --- keys --------------------------------------------------------------------------

    def signing_keys(self) -> list[SigningKeyRecord]:
        return sorted(self._snapshot.signing_keys.values(), key=lambda r: r.created)

    def trusted_keys(self) -> list[TrustedKeyRecord]:
        return sorted(self._snapshot.trusted_keys.values(), key=lambda r: r.created)

    def public_key(self, key_id: str) -> keys.PublicKey:
        public = self._public.get(key_id)
        if public is None:
            raise NoSuchEntity(f"No signing or trusted key {key_id}.")
        return public

    async def create_signing_key(self, algorithm: str, description: str = "") -> SigningKeyRecord:
        if algorithm not in keys.SERVER_KEY_ALGORITHMS:
            raise InvalidArgument(
                f"algorithm must be one of {', '.join(keys.SERVER_KEY_ALGORITHMS)}",
                ArgumentName="algorithm",
            )
        private = await trio.to_thread.run_sync(keys.generate, algorithm)
        record = SigningKeyRecord(
            key_id=private.public.key_id,
            algorithm=private.public.algorithm,
            public_pem=private.public.public_pem,
            private_sealed=keys.seal_private(private, self.master),
            status=ACTIVE,
            created=self.clock(),
            description=description,
        )
        await self._change(rows.PutSigningKey(record))
        return record

    async def set_signing_key_status(self, key_id: str, status: str) -> None:
        if status not in (ACTIVE, RETIRED, DISABLED):
            raise InvalidArgument(
                f"status must be {ACTIVE}, {RETIRED} or {DISABLED}", ArgumentName="status"
            )
        await self._change(rows.SetSigningKeyStatus(key_id, status))

    async def rotate_signing_key(self, key_id: str) -> SigningKeyRecord:
        """A new key of the same algorithm; the old one is retired (still verifies)."""
        old = self._snapshot.signing_keys.get(key_id)
        if old is None:
            raise NoSuchEntity(f"Signing key {key_id} does not exist.")
        new = await self.create_signing_key(old.algorithm, f"rotated from {key_id}")
        await self.set_signing_key_status(key_id, RETIRED)
        return new

    async def add_trusted_key(
        self,
        public_pem: str,
        *,
        key_id: str | None,
        bucket: str | None,
        uses: tuple[str, ...],
        rsa_scheme: str,
        description: str,
    ) -> TrustedKeyRecord:
        if not uses or not set(uses) <= set(USES):
            raise InvalidArgument(f"uses must be a non-empty subset of {list(USES)}")
        if rsa_scheme not in ("rsa-pss", "rsa-pkcs1v15"):
            raise InvalidArgument("rsa_scheme must be rsa-pss or rsa-pkcs1v15")
        public = keys.load_public_pem(public_pem, key_id, rsa_scheme=rsa_scheme)  # type: ignore[arg-type]
        record = TrustedKeyRecord(
            key_id=public.key_id,
            algorithm=public.algorithm,
            public_pem=public.public_pem,
            scheme=rsa_scheme if public.algorithm.startswith("rsa") else "",
            bucket=bucket,
            uses=tuple(uses),
            created=self.clock(),
            description=description,
        )
        await self._change(rows.PutTrustedKey(record))
        return record

    async def delete_trusted_key(self, key_id: str) -> None:
        await self._change(rows.DeleteTrustedKey(key_id))

    def verification_keys(self, bucket: str, use: str) -> dict[str, keys.PublicKey]:
        """Keys whose signatures count for `bucket`: server keys not disabled, and trusted
        keys (global or for this bucket) allowed for `use`."""
        found = {
            key_id: self._public[key_id]
            for key_id, record in self._snapshot.signing_keys.items()
            if record.status != DISABLED
        }
        for key_id, trusted in self._snapshot.trusted_keys.items():
            if trusted.bucket in (None, bucket) and use in trusted.uses:
                found[key_id] = self._public[key_id]
        return found

    def _private(self, key_id: str | None) -> keys.PrivateKey:
        if key_id is None:
            active = [r for r in self.signing_keys() if r.status == ACTIVE]
            if not active:
                raise InvalidRequest("No active signing key: create one first.")
            record = active[-1]
        else:
            found = self._snapshot.signing_keys.get(key_id)
            if found is None:
                raise NoSuchEntity(f"Signing key {key_id} does not exist.")
            if found.status != ACTIVE:
                raise InvalidRequest(f"Signing key {key_id} is {found.status}; it does not sign.")
            record = found
        private = self._opened.get(record.key_id)
        if private is None:
            private = keys.open_private(
                record.private_sealed, self.master, record.key_id, self._public[record.key_id]
            )
            self._opened[record.key_id] = private
        return private

    # --- evidence ----------------------------------------------------------------------

    async def _object(self, bucket: str, key: str) -> ObjectRecord:
        record = await self.objects.head_object(bucket, key)
        if record.sha256 is None:
            raise InvalidRequest(
                "The object's SHA-256 is still being computed (multipart upload); retry shortly."
            )
        return record

    async def _bytes(self, record: ObjectRecord, limit: int) -> bytes:
        if record.size > limit:
            raise InvalidRequest(
                f"Ed25519 signatures cover the artifact bytes; artifacts over {limit} bytes "
                "need an ECDSA or RSA key."
            )
        return b"".join([chunk async for chunk in self.objects.read_object(record)])

    def evidence(self, bucket: str, key: str, sha256: str) -> list[EvidenceRecord]:
        return [e for e in self._snapshot.evidence.get((bucket, key), []) if e.sha256 == sha256]

    async def document(self, evidence_id: str) -> EvidenceRecord:
        found = await self.meta.evidence_document(evidence_id)
        if found is None:
            raise NoSuchEntity(f"No evidence {evidence_id}.")
        return found

    async def _store(
        self, record: EvidenceRecord, components: tuple[rows.ComponentRow, ...] = ()
    ) -> EvidenceRecord:
        # Evidence is only ever added here: memory gets the committed row appended instead of
        # a reload of every row (which made signing N objects cost O(N^2), BENCHMARKS.md).
        try:
            await self.meta.change(rows.AddEvidence(record, components))
        except BaseException:
            with trio.CancelScope(shield=True):
                await self.reload()
            raise
        # Shielded: the row is committed, so memory must get it even if we were cancelled.
        with trio.CancelScope(shield=True):
            async with self._lock:  # after any reload that read the database before the commit
                known = self._snapshot.evidence.setdefault((record.bucket, record.key), [])
                if all(item.id != record.id for item in known):  # ... not one that read after
                    known.append(attrs.evolve(record, document=b""))
                self._outcomes.clear()
        return record

    def _record(
        self,
        obj: ObjectRecord,
        kind: str,
        form: str,
        summary: dict[str, Any],
        document: bytes,
        *,
        key_id: str | None = None,
        predicate_type: str | None = None,
    ) -> EvidenceRecord:
        assert obj.sha256 is not None
        return EvidenceRecord(
            id=_new_id(kind),
            bucket=obj.bucket,
            key=obj.key,
            sha256=obj.sha256,
            kind=kind,
            format=form,
            key_id=key_id,
            predicate_type=predicate_type,
            created=self.clock(),
            summary=summary,
            document=document,
        )

    async def sign(self, bucket: str, key: str, *, key_id: str | None, form: str) -> EvidenceRecord:
        """Server-side signing: a raw signature or a DSSE envelope (in-toto Statement)."""
        obj = await self._object(bucket, key)
        assert obj.sha256 is not None
        private = self._private(key_id)
        if form == "raw":
            if signatures.needs_artifact_bytes(private.algorithm):
                data = await self._bytes(obj, MAX_ED25519_ARTIFACT)
                signature = await trio.to_thread.run_sync(signatures.sign_blob, private, data)
            else:
                signature = await trio.to_thread.run_sync(
                    signatures.sign_blob_digest, private, _digest_bytes(obj.sha256)
                )
            summary = {"verified_by": [private.public.key_id], "signed_by_server": True}
            record = self._record(
                obj, "signature", "raw", summary, signature, key_id=private.public.key_id
            )
        elif form == "dsse":
            statement = dsse.statement(
                f"{bucket}/{key}",
                obj.sha256,
                "https://zas.dev/signature/v1",
                {"signedBy": private.public.key_id, "signedAt": self.clock().isoformat()},
            )
            envelope = await trio.to_thread.run_sync(
                dsse.sign_envelope,
                private,
                dsse.PAYLOAD_TYPE_INTOTO,
                dsse.statement_payload(statement),
            )
            summary = {"verified_by": [private.public.key_id], "signed_by_server": True}
            record = self._record(
                obj,
                "envelope",
                "dsse",
                summary,
                json.dumps(envelope).encode(),
                key_id=private.public.key_id,
            )
        else:
            raise InvalidArgument("form must be raw or dsse", ArgumentName="form")
        return await self._store(record)

    async def add_signature(
        self, bucket: str, key: str, body: bytes, *, key_id: str | None
    ) -> EvidenceRecord:
        """A client-side signature: a DSSE envelope (JSON) or a raw signature (binary, or
        base64 as cosign writes it) by `key_id`; verified against trusted keys on arrival."""
        obj = await self._object(bucket, key)
        assert obj.sha256 is not None
        trusted = self.verification_keys(bucket, "signature")
        if body.lstrip().startswith(b"{"):
            stmt, verified = await trio.to_thread.run_sync(
                _check_client_envelope, body, obj.sha256, trusted
            )
            if not verified:
                raise signatures.InvalidSignature(
                    "No signature of the envelope verifies with a trusted key."
                )
            summary = {"verified_by": verified, "predicate_type": stmt.predicate_type}
            record = self._record(
                obj, "envelope", "dsse", summary, body, key_id=verified[0],
                predicate_type=stmt.predicate_type,
            )  # fmt: skip
            return await self._store(record)
        if not key_id:
            raise InvalidArgument(
                "A raw signature needs key_id: the trusted key that made it",
                ArgumentName="key_id",
            )
        public = trusted.get(key_id)
        if public is None:
            raise NoSuchEntity(f"{key_id} is not a key trusted for signatures on {bucket}.")
        signature = signatures.decode_signature(body)
        data = None
        if signatures.needs_artifact_bytes(public.algorithm):
            data = await self._bytes(obj, MAX_ED25519_ARTIFACT)
        result = await trio.to_thread.run_sync(
            functools.partial(
                signatures.verify_blob, public, signature, sha256=_digest_bytes(obj.sha256),
                data=data,
            )
        )  # fmt: skip
        if not result.ok:
            raise signatures.InvalidSignature(f"The signature does not verify: {result.reason}")
        summary = {"verified_by": [key_id]}
        return await self._store(
            self._record(obj, "signature", "raw", summary, signature, key_id=key_id)
        )

    async def add_sbom(self, bucket: str, key: str, body: bytes) -> EvidenceRecord:
        obj = await self._object(bucket, key)
        if len(body) > sbom.MAX_SBOM_BYTES:
            raise sbom.InvalidSbom(f"SBOMs are limited to {sbom.MAX_SBOM_BYTES} bytes")
        parsed = await trio.to_thread.run_sync(sbom.parse_sbom, body)
        summary = {
            "format": parsed.format,
            "name": parsed.name,
            "components": len(parsed.components),
            "tools": list(parsed.tools),
        }
        components = tuple(
            rows.ComponentRow(c.name, c.version, c.purl, c.type) for c in parsed.components
        )
        return await self._store(
            self._record(obj, "sbom", parsed.format, summary, body), components
        )

    async def add_attestation(self, bucket: str, key: str, body: bytes) -> EvidenceRecord:
        """A DSSE envelope holding an in-toto Statement, or a Sigstore bundle."""
        obj = await self._object(bucket, key)
        assert obj.sha256 is not None
        trusted = self.verification_keys(bucket, "attestation")
        attestation, bundle, verified = await trio.to_thread.run_sync(
            _check_attestation, body, obj.sha256, trusted
        )
        summary: dict[str, Any] = {
            "kind": attestation.kind,
            "predicate_type": attestation.predicate_type,
            "verified_by": verified,
            **dict(attestation.summary),
        }
        if attestation.provenance is not None:
            summary["builder_id"] = attestation.provenance.builder_id
            summary["build_type"] = attestation.provenance.build_type
        if bundle is not None:
            summary["sigstore"] = {
                "bundle": bundle.media_type,
                "certificate_chain": "not checked offline (no Sigstore trusted root)",
                "transparency_log": "entry present, not verified offline"
                if bundle.tlog_entries
                else "none",
            }
        if not verified:
            summary["signature"] = "no trusted key verifies the envelope"
        components: tuple[rows.ComponentRow, ...] = ()
        if attestation.sbom is not None:
            components = tuple(
                rows.ComponentRow(c.name, c.version, c.purl, c.type)
                for c in attestation.sbom.components
            )
        record = self._record(
            obj, "attestation", attestation.kind, summary, body,
            key_id=verified[0] if verified else None,
            predicate_type=attestation.predicate_type,
        )  # fmt: skip
        return await self._store(record, components)

    # --- verification ------------------------------------------------------------------

    async def verify(self, bucket: str, key: str) -> dict[str, Any]:
        """Re-hash the stored bytes and re-check every piece of evidence, now."""
        obj = await self._object(bucket, key)
        assert obj.sha256 is not None
        actual = await self._hash(self.objects.read_object(obj))
        checks = [
            Check(
                None,
                "object",
                "sha256",
                actual == obj.sha256,
                reason="stored bytes match the recorded SHA-256"
                if actual == obj.sha256
                else f"stored bytes hash to {actual}, not {obj.sha256}: the blob is damaged",
            )
        ]
        data: bytes | None = None
        for item in self.evidence(bucket, key, obj.sha256):
            if item.kind == "sbom":
                checks.append(Check(item.id, "sbom", "bound", True, reason=item.format))
                continue
            full = await self.document(item.id)
            use = "attestation" if item.kind == "attestation" else "signature"
            trusted = self.verification_keys(bucket, use)
            if item.kind == "signature":
                public = trusted.get(item.key_id or "")
                if public is None:
                    checks.append(
                        Check(item.id, "signature", "key", False, item.key_id,
                              "the key is disabled or no longer trusted")
                    )  # fmt: skip
                    continue
                if signatures.needs_artifact_bytes(public.algorithm) and data is None:
                    data = await self._bytes(obj, MAX_ED25519_ARTIFACT)
                result = await trio.to_thread.run_sync(
                    functools.partial(
                        signatures.verify_blob, public, full.document,
                        sha256=_digest_bytes(actual), data=data,
                    )
                )  # fmt: skip
                checks.append(
                    Check(item.id, "signature", "signature", result.ok, public.key_id,
                          result.reason)
                )  # fmt: skip
                continue
            checks.extend(
                await trio.to_thread.run_sync(
                    self._check_envelope, item, full.document, trusted, actual
                )
            )
        return {
            "bucket": bucket,
            "key": key,
            "sha256": obj.sha256,
            "verified": all(check.ok for check in checks),
            "checks": [check.to_json() for check in checks],
        }

    def _check_envelope(
        self,
        item: EvidenceRecord,
        document: bytes,
        trusted: dict[str, keys.PublicKey],
        actual_sha256: str,
    ) -> list[Check]:
        parsed = json.loads(document)
        if isinstance(parsed, dict) and "mediaType" in parsed:
            bundle = attestations.parse_sigstore_bundle(parsed)
            parsed = bundle.dsse_envelope
        envelope = dsse.parse_envelope(parsed)
        stmt = dsse.statement_from_envelope(envelope)
        found = [
            Check(
                item.id,
                item.kind,
                "subject",
                dsse.statement_matches(stmt, actual_sha256),
                reason="the statement names the object's SHA-256",
            )
        ]
        for result in dsse.verify_envelope(envelope, trusted):
            found.append(
                Check(item.id, item.kind, "signature", result.ok, result.key_id_used,
                      result.reason)
            )  # fmt: skip
        return found

    @staticmethod
    async def _hash(chunks: AsyncIterator[bytes]) -> str:
        digest = hashlib.sha256()
        async for chunk in chunks:
            await trio.to_thread.run_sync(digest.update, chunk)
        return digest.hexdigest()

    # --- policies and enforcement ------------------------------------------------------

    def policy(self, bucket: str) -> VerificationPolicy | None:
        return self._policies.get(bucket)

    async def put_policy(self, bucket: str, text: str) -> VerificationPolicy:
        policy = parse_policy(text)
        await self._change(
            rows.PutVerificationPolicy(rows.VerificationPolicyRecord(bucket, text, self.clock()))
        )
        return policy

    async def delete_policy(self, bucket: str) -> None:
        await self._change(rows.DeleteVerificationPolicy(bucket))

    def outcome(self, record: ObjectRecord) -> Outcome | None:
        """The bucket policy's verdict on this object's current bytes (None: no policy)."""
        policy = self._policies.get(record.bucket)
        if policy is None:
            return None
        cache_key = (record.bucket, record.key, record.sha256 or "")
        cached = self._outcomes.get(cache_key)
        if cached is not None:
            return cached
        facts = [
            facts_from_summary(item.kind, item.summary)
            for item in self.evidence(record.bucket, record.key, record.sha256 or "")
        ]
        usable = frozenset(self.verification_keys(record.bucket, "signature")) | frozenset(
            self.verification_keys(record.bucket, "attestation")
        )
        outcome = evaluate(policy, facts, usable)
        if len(self._outcomes) > 100_000:
            self._outcomes.clear()
        self._outcomes[cache_key] = outcome
        return outcome


def encode_document(record: EvidenceRecord) -> Any:
    """How a document is returned in JSON: parsed JSON, or base64 for a raw signature."""
    if record.kind == "signature":
        return base64.b64encode(record.document).decode("ascii")
    return json.loads(record.document)


# --- checks run in worker threads (documents up to 64 MiB, signature arithmetic) -----------


def _check_client_envelope(
    body: bytes, sha256: str, trusted: dict[str, keys.PublicKey]
) -> tuple[dsse.Statement, list[str]]:
    """A client's DSSE envelope: it must name the object and verify with a trusted key."""
    envelope = dsse.parse_envelope(body)
    stmt = dsse.statement_from_envelope(envelope)
    if not dsse.statement_matches(stmt, sha256):
        raise InvalidArgument(
            "The envelope's statement does not name this object's SHA-256 as a subject."
        )
    return stmt, sorted(dsse.verified_key_ids(dsse.verify_envelope(envelope, trusted)))


def _check_attestation(
    body: bytes, sha256: str, trusted: dict[str, keys.PublicKey]
) -> tuple[attestations.Attestation, attestations.SigstoreBundle | None, list[str]]:
    """An attestation (DSSE envelope or Sigstore bundle) about the object, and the trusted
    keys its signatures verify with (none is allowed: it is then stored but counts for
    nothing)."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise attestations.InvalidAttestation(f"the attestation is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise attestations.InvalidAttestation("the attestation must be a JSON object")
    bundle = None
    if "mediaType" in document:
        bundle = attestations.parse_sigstore_bundle(document)
        attestation = attestations.attestation_from_bundle(bundle)
        envelope_json: Any = bundle.dsse_envelope
    else:
        attestation = attestations.attestation_from_envelope(document)
        envelope_json = document
    attestations.check_subject(attestation.subjects, sha256)
    envelope = dsse.parse_envelope(envelope_json)
    checks = dsse.verify_envelope(envelope, trusted) if trusted else []
    return attestation, bundle, sorted(dsse.verified_key_ids(checks))
