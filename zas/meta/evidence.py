"""Supply-chain rows: signing keys, trusted keys, evidence (signatures, SBOMs, attestations)
bound to an object's SHA-256, SBOM components, and per-bucket verification policies.

Evidence is bound to bytes, not to a name: a row names the bucket, the key *and* the SHA-256
it was checked against, so overwriting an object with other bytes makes its old evidence stop
applying at once (reads compare digests). Rows for bytes an object no longer has are deleted
when the object is deleted or overwritten (`DropStaleEvidence`, submitted by the object
handlers only for keys that have evidence; `SweepStaleEvidence` for a bucket after a
DeleteObjects, and for everything at start-up).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from zas.protocol.errors import EntityAlreadyExists, InvalidRequest, NoSuchEntity, NoSuchKey


@attrs.frozen(repr=False)
class SigningKeyRecord:
    key_id: str
    algorithm: str
    public_pem: str
    private_sealed: bytes
    status: str  # "active" | "retired" (verifies, no longer signs) | "disabled"
    created: datetime
    description: str

    def __repr__(self) -> str:
        return f"SigningKeyRecord({self.key_id!r}, {self.algorithm}, {self.status})"


@attrs.frozen
class TrustedKeyRecord:
    key_id: str
    algorithm: str
    public_pem: str
    scheme: str  # how RSA signatures are padded ("rsa-pss" | "rsa-pkcs1v15"); "" otherwise
    bucket: str | None  # None: trusted for every bucket
    uses: tuple[str, ...]  # "signature", "attestation"
    created: datetime
    description: str


@attrs.frozen
class EvidenceRecord:
    id: str
    bucket: str
    key: str
    sha256: str
    kind: str  # "signature" | "envelope" | "sbom" | "attestation"
    format: str  # "raw", "dsse", "spdx-2.3", "cyclonedx-1.5", "slsa-provenance", ...
    key_id: str | None
    predicate_type: str | None
    created: datetime
    summary: dict[str, Any]  # what was checked on arrival and what enforcement needs
    document: bytes


@attrs.frozen
class ComponentRow:
    name: str
    version: str | None
    purl: str | None
    type: str | None


@attrs.frozen
class VerificationPolicyRecord:
    bucket: str
    document: str
    updated: datetime


@attrs.frozen
class EvidenceSnapshot:
    signing_keys: dict[str, SigningKeyRecord]
    trusted_keys: dict[str, TrustedKeyRecord]
    evidence: dict[tuple[str, str], list[EvidenceRecord]]  # documents not loaded (b"")
    policies: dict[str, VerificationPolicyRecord]


_EVIDENCE_COLUMNS = (
    "id, bucket, key, sha256, kind, format, key_id, predicate_type, created, summary"
)


def _evidence(row: Sequence[Any], document: bytes = b"") -> EvidenceRecord:
    return EvidenceRecord(
        id=row[0],
        bucket=row[1],
        key=row[2],
        sha256=row[3],
        kind=row[4],
        format=row[5],
        key_id=row[6],
        predicate_type=row[7],
        created=row[8],
        summary=json.loads(row[9]),
        document=document,
    )


def load_snapshot(con: Any) -> EvidenceSnapshot:
    signing = {
        row[0]: SigningKeyRecord(row[0], row[1], row[2], bytes(row[3]), *row[4:])
        for row in con.execute(
            "SELECT key_id, algorithm, public_pem, private_sealed, status, created, description "
            "FROM signing_keys"
        ).fetchall()
    }
    trusted = {
        row[0]: TrustedKeyRecord(row[0], row[1], row[2], row[3], row[4], tuple(row[5]), *row[6:])
        for row in con.execute(
            "SELECT key_id, algorithm, public_pem, scheme, bucket, uses, created, description "
            "FROM trusted_keys"
        ).fetchall()
    }
    evidence: dict[tuple[str, str], list[EvidenceRecord]] = {}
    for row in con.execute(
        f"SELECT {_EVIDENCE_COLUMNS} FROM evidence ORDER BY created, id"
    ).fetchall():
        record = _evidence(row)
        evidence.setdefault((record.bucket, record.key), []).append(record)
    policies = {
        row[0]: VerificationPolicyRecord(*row)
        for row in con.execute(
            "SELECT bucket, document, updated FROM verification_policies"
        ).fetchall()
    }
    return EvidenceSnapshot(signing, trusted, evidence, policies)


def load_document(con: Any, evidence_id: str) -> EvidenceRecord | None:
    rows = con.execute(
        f"SELECT {_EVIDENCE_COLUMNS}, document FROM evidence WHERE id = ?", [evidence_id]
    ).fetchall()
    return _evidence(rows[0], bytes(rows[0][10])) if rows else None


class _Change:
    def object_keys(self) -> list[tuple[str, str]]:
        return []


@attrs.frozen
class PutSigningKey(_Change):
    record: SigningKeyRecord

    def apply(self, batch: Any) -> None:
        r = self.record
        batch.con.execute(
            "INSERT INTO signing_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
            [r.key_id, r.algorithm, r.public_pem, r.private_sealed, r.status, r.created,
             r.description],
        )  # fmt: skip


@attrs.frozen
class SetSigningKeyStatus(_Change):
    key_id: str
    status: str

    def apply(self, batch: Any) -> None:
        if not batch.con.execute(
            "SELECT 1 FROM signing_keys WHERE key_id = ?", [self.key_id]
        ).fetchall():
            raise NoSuchEntity(f"Signing key {self.key_id} does not exist.")
        batch.con.execute(
            "UPDATE signing_keys SET status = ? WHERE key_id = ?", [self.status, self.key_id]
        )


@attrs.frozen
class PutTrustedKey(_Change):
    record: TrustedKeyRecord

    def apply(self, batch: Any) -> None:
        r = self.record
        if batch.con.execute("SELECT 1 FROM trusted_keys WHERE key_id = ?", [r.key_id]).fetchall():
            raise EntityAlreadyExists(f"A trusted key with id {r.key_id} already exists.")
        if r.bucket is not None:
            batch.require_bucket(r.bucket)
        batch.con.execute(
            "INSERT INTO trusted_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [r.key_id, r.algorithm, r.public_pem, r.scheme, r.bucket, list(r.uses), r.created,
             r.description],
        )  # fmt: skip


@attrs.frozen
class DeleteTrustedKey(_Change):
    key_id: str

    def apply(self, batch: Any) -> None:
        if not batch.con.execute(
            "SELECT 1 FROM trusted_keys WHERE key_id = ?", [self.key_id]
        ).fetchall():
            raise NoSuchEntity(f"Trusted key {self.key_id} does not exist.")
        batch.con.execute("DELETE FROM trusted_keys WHERE key_id = ?", [self.key_id])


@attrs.frozen
class AddEvidence(_Change):
    """Evidence for the object's current bytes; refused if the object changed meanwhile."""

    record: EvidenceRecord
    components: tuple[ComponentRow, ...] = ()

    def object_keys(self) -> list[tuple[str, str]]:
        return [(self.record.bucket, self.record.key)]

    def apply(self, batch: Any) -> None:
        r = self.record
        current = batch.current((r.bucket, r.key))
        if current is None:
            raise NoSuchKey(resource=f"/{r.bucket}/{r.key}", Key=r.key)
        if current.sha256 != r.sha256:
            raise InvalidRequest(
                "The object changed while its evidence was being checked; send it again."
            )
        batch.con.execute(
            "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r.id, r.bucket, r.key, r.sha256, r.kind, r.format, r.key_id, r.predicate_type,
             r.created, json.dumps(r.summary), r.document],
        )  # fmt: skip
        if self.components:
            batch.con.execute(
                "INSERT INTO sbom_components SELECT ?, ?, ?, ?, unnest(?::VARCHAR[]), "
                "unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                [
                    r.id, r.bucket, r.key, r.sha256,
                    [c.name for c in self.components],
                    [c.version for c in self.components],
                    [c.purl for c in self.components],
                    [c.type for c in self.components],
                ],
            )  # fmt: skip


@attrs.frozen
class DropStaleEvidence(_Change):
    """Evidence of (bucket, key) for bytes other than `keep_sha256` (None: all of it)."""

    bucket: str
    key: str
    keep_sha256: str | None

    def apply(self, batch: Any) -> None:
        condition = "bucket = ? AND key = ? AND sha256 IS DISTINCT FROM ?"
        params = [self.bucket, self.key, self.keep_sha256]
        batch.con.execute(f"DELETE FROM sbom_components WHERE {condition}", params)
        batch.con.execute(f"DELETE FROM evidence WHERE {condition}", params)


@attrs.frozen
class SweepStaleEvidence(_Change):
    """Evidence whose object is gone or holds other bytes: at start-up for every bucket,
    after a DeleteObjects for its bucket."""

    bucket: str | None = None

    def apply(self, batch: Any) -> None:
        batch.flush_objects()  # the query below reads the objects table
        stale = (
            "NOT EXISTS (SELECT 1 FROM objects o WHERE o.bucket = t.bucket AND o.key = t.key "
            "AND o.sha256 = t.sha256)"
        )
        scope, params = ("t.bucket = ? AND ", [self.bucket]) if self.bucket else ("", [])
        batch.con.execute(f"DELETE FROM sbom_components t WHERE {scope}{stale}", params)
        batch.con.execute(f"DELETE FROM evidence t WHERE {scope}{stale}", params)


@attrs.frozen
class PutVerificationPolicy(_Change):
    record: VerificationPolicyRecord

    def apply(self, batch: Any) -> None:
        batch.require_bucket(self.record.bucket)
        bucket = self.record.bucket
        batch.con.execute("DELETE FROM verification_policies WHERE bucket = ?", [bucket])
        batch.con.execute(
            "INSERT INTO verification_policies VALUES (?, ?, ?)",
            [self.record.bucket, self.record.document, self.record.updated],
        )


@attrs.frozen
class DeleteVerificationPolicy(_Change):
    bucket: str

    def apply(self, batch: Any) -> None:
        batch.con.execute("DELETE FROM verification_policies WHERE bucket = ?", [self.bucket])
