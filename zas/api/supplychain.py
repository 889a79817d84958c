"""`/supplychain`: signing keys, signatures, SBOMs, attestations, verification, policies.

    GET    /supplychain/keys                            zas:GetSignatures (public keys)
    POST   /supplychain/keys {"algorithm", "description"}   zas:ManageSigningKeys
    GET    /supplychain/keys/<id>[?format=pem]          zas:GetSignatures (PEM and JWK)
    PATCH  /supplychain/keys/<id> {"status"}            zas:ManageSigningKeys
    POST   /supplychain/keys/<id>/rotate                zas:ManageSigningKeys
    GET    /supplychain/trusted-keys                    zas:GetSignatures
    POST   /supplychain/trusted-keys {"public_key_pem", "key_id", "bucket", "uses", "rsa_scheme"}
                                                        zas:ManageTrustedKeys
    DELETE /supplychain/trusted-keys/<id>               zas:ManageTrustedKeys
    POST   /supplychain/sign/<bucket>/<key>?form=raw|dsse&key_id=   zas:SignObject
    POST   /supplychain/signatures/<bucket>/<key>?key_id=  zas:SignObject (a client's signature)
    GET    /supplychain/signatures/<bucket>/<key>       zas:GetSignatures
    POST   /supplychain/verify/<bucket>/<key>           zas:VerifyObject
    POST   /supplychain/sbom/<bucket>/<key>             zas:PutSbom
    GET    /supplychain/sbom/<bucket>/<key>             zas:GetSbom
    POST   /supplychain/attestations/<bucket>/<key>     zas:PutAttestation
    GET    /supplychain/attestations/<bucket>/<key>     zas:GetAttestations
    PUT/GET/DELETE /supplychain/policy/<bucket>         zas:PutVerificationPolicy / Get...
    POST   /supplychain/query {"sql", "max_rows"}       zas:GetSbom (SQL over sbom_components
                                                        and artifact_evidence)

Object-scoped routes authorize against the object's ARN (`arn:aws:s3:::bucket/key`), so IAM
and bucket policies can say who may sign or attach evidence where.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from quart import Blueprint, Response, jsonify, request

from zas.api.guard import Guard, json_body, sql_request
from zas.auth import actions
from zas.auth.audit import guarded_query
from zas.auth.authorize import bucket_arn, object_arn
from zas.meta.evidence import EvidenceRecord, SigningKeyRecord, TrustedKeyRecord
from zas.protocol.errors import InvalidRequest, NoSuchEntity, S3Error
from zas.supplychain.service import SupplyChain, encode_document

KEYS_ARN = "arn:zas:supplychain:::key/"
QUERY_VIEWS = ("sbom_components", "artifact_evidence")
MAX_EVIDENCE_BODY = 64 * 1024 * 1024


def _key_json(record: SigningKeyRecord | TrustedKeyRecord, chain: SupplyChain) -> dict[str, Any]:
    public = chain.public_key(record.key_id)
    found: dict[str, Any] = {
        "key_id": record.key_id,
        "algorithm": record.algorithm,
        "public_key_pem": record.public_pem,
        "jwk": public.jwk(),
        "created": record.created.isoformat(),
        "description": record.description,
    }
    if isinstance(record, SigningKeyRecord):
        found["status"] = record.status
    else:
        found |= {"bucket": record.bucket, "uses": list(record.uses), "rsa_scheme": record.scheme}
    return found


def _evidence_json(record: EvidenceRecord, *, document: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": record.id,
        "kind": record.kind,
        "format": record.format,
        "sha256": record.sha256,
        "key_id": record.key_id,
        "predicate_type": record.predicate_type,
        "created": record.created.isoformat(),
        "summary": record.summary,
    }
    if document:
        found["document"] = encode_document(record)
    return found


async def _body() -> bytes:
    if (request.content_length or 0) > MAX_EVIDENCE_BODY:
        raise InvalidRequest(f"Evidence documents are limited to {MAX_EVIDENCE_BODY} bytes")
    data = await request.get_data(cache=True, as_text=False)
    if not data:
        raise InvalidRequest("The request body is empty")
    return data if isinstance(data, bytes) else data.encode()


def supplychain_blueprint(guard: Guard, chain: SupplyChain) -> Blueprint:
    bp = Blueprint("supplychain", __name__, url_prefix="/supplychain")

    async def counted(operation: str, work: Awaitable[EvidenceRecord]) -> EvidenceRecord:
        """zas_supply_chain_operations_total: evidence accepted or refused."""
        try:
            record = await work
        except S3Error:
            chain.on_event(operation, "failure")
            raise
        chain.on_event(operation, "success")
        return record

    async def evidence_list(action: str, bucket: str, key: str, kinds: tuple[str, ...]) -> Response:
        await guard.check(action, object_arn(bucket, key))
        record = await chain.objects.head_object(bucket, key)
        found = []
        for item in chain.evidence(bucket, key, record.sha256 or ""):
            if item.kind in kinds:
                found.append(_evidence_json(await chain.document(item.id), document=True))
        return jsonify({"bucket": bucket, "key": key, "sha256": record.sha256, "items": found})

    # --- keys ----------------------------------------------------------------------------

    @bp.get("/keys")
    async def list_keys() -> Response:
        await guard.check(actions.ZAS_GET_SIGNATURES, KEYS_ARN + "*")
        return jsonify({"keys": [_key_json(k, chain) for k in chain.signing_keys()]})

    @bp.post("/keys")
    async def create_key() -> tuple[Response, int]:
        body = await json_body()
        await guard.check(actions.ZAS_MANAGE_SIGNING_KEYS, KEYS_ARN + "*")
        record = await chain.create_signing_key(
            str(body.get("algorithm", "ecdsa-p256")), str(body.get("description", ""))
        )
        return jsonify(_key_json(record, chain)), 201

    @bp.get("/keys/<key_id>")
    async def get_key(key_id: str) -> Response:
        await guard.check(actions.ZAS_GET_SIGNATURES, KEYS_ARN + key_id)
        public = chain.public_key(key_id)
        if request.args.get("format") == "pem":
            return Response(public.public_pem, content_type="application/x-pem-file")
        records: dict[str, SigningKeyRecord | TrustedKeyRecord] = {
            r.key_id: r for r in chain.signing_keys()
        }
        records |= {r.key_id: r for r in chain.trusted_keys()}
        return jsonify(_key_json(records[key_id], chain))

    @bp.patch("/keys/<key_id>")
    async def set_key_status(key_id: str) -> tuple[str, int]:
        body = await json_body()
        await guard.check(actions.ZAS_MANAGE_SIGNING_KEYS, KEYS_ARN + key_id)
        await chain.set_signing_key_status(key_id, str(body.get("status", "")))
        return "", 204

    @bp.post("/keys/<key_id>/rotate")
    async def rotate_key(key_id: str) -> tuple[Response, int]:
        await guard.check(actions.ZAS_MANAGE_SIGNING_KEYS, KEYS_ARN + key_id)
        record = await chain.rotate_signing_key(key_id)
        return jsonify(_key_json(record, chain)), 201

    @bp.get("/trusted-keys")
    async def list_trusted() -> Response:
        await guard.check(actions.ZAS_GET_SIGNATURES, KEYS_ARN + "*")
        return jsonify({"keys": [_key_json(k, chain) for k in chain.trusted_keys()]})

    @bp.post("/trusted-keys")
    async def add_trusted() -> tuple[Response, int]:
        body = await json_body()
        await guard.check(actions.ZAS_MANAGE_TRUSTED_KEYS, KEYS_ARN + "*")
        pem = body.get("public_key_pem")
        if not isinstance(pem, str) or not pem:
            raise InvalidRequest("'public_key_pem' must be the PEM text of a public key")
        uses = body.get("uses", ["signature", "attestation"])
        if not isinstance(uses, list):
            raise InvalidRequest("'uses' must be a list")
        record = await chain.add_trusted_key(
            pem,
            key_id=body.get("key_id") or None,
            bucket=body.get("bucket") or None,
            uses=tuple(str(use) for use in uses),
            rsa_scheme=str(body.get("rsa_scheme", "rsa-pss")),
            description=str(body.get("description", "")),
        )
        return jsonify(_key_json(record, chain)), 201

    @bp.delete("/trusted-keys/<key_id>")
    async def delete_trusted(key_id: str) -> tuple[str, int]:
        await guard.check(actions.ZAS_MANAGE_TRUSTED_KEYS, KEYS_ARN + key_id)
        await chain.delete_trusted_key(key_id)
        return "", 204

    # --- evidence ------------------------------------------------------------------------

    @bp.post("/sign/<bucket>/<path:key>")
    async def sign(bucket: str, key: str) -> tuple[Response, int]:
        await guard.check(actions.ZAS_SIGN_OBJECT, object_arn(bucket, key))
        record = await counted(
            "sign",
            chain.sign(
                bucket,
                key,
                key_id=request.args.get("key_id") or None,
                form=request.args.get("form", "raw"),
            ),
        )
        return jsonify(_evidence_json(record, document=True)), 201

    @bp.post("/signatures/<bucket>/<path:key>")
    async def add_signature(bucket: str, key: str) -> tuple[Response, int]:
        await guard.check(actions.ZAS_SIGN_OBJECT, object_arn(bucket, key))
        record = await counted(
            "sign",
            chain.add_signature(
                bucket, key, await _body(), key_id=request.args.get("key_id") or None
            ),
        )
        return jsonify(_evidence_json(record)), 201

    @bp.get("/signatures/<bucket>/<path:key>")
    async def get_signatures(bucket: str, key: str) -> Response:
        return await evidence_list(
            actions.ZAS_GET_SIGNATURES, bucket, key, ("signature", "envelope")
        )

    @bp.post("/verify/<bucket>/<path:key>")
    async def verify(bucket: str, key: str) -> Response:
        await guard.check(actions.ZAS_VERIFY_OBJECT, object_arn(bucket, key))
        report = await chain.verify(bucket, key)
        chain.on_event("verify", "success" if report["verified"] else "failure")
        policy = chain.policy(bucket)
        if policy is not None:
            record = await chain.objects.head_object(bucket, key)
            outcome = chain.outcome(record)
            assert outcome is not None
            report["policy"] = {
                "mode": policy.mode,
                "passed": outcome.passed,
                "missing": list(outcome.missing),
            }
        return jsonify(report)

    @bp.post("/sbom/<bucket>/<path:key>")
    async def add_sbom(bucket: str, key: str) -> tuple[Response, int]:
        await guard.check(actions.ZAS_PUT_SBOM, object_arn(bucket, key))
        record = await counted("sbom", chain.add_sbom(bucket, key, await _body()))
        return jsonify(_evidence_json(record)), 201

    @bp.get("/sbom/<bucket>/<path:key>")
    async def get_sbom(bucket: str, key: str) -> Response:
        return await evidence_list(actions.ZAS_GET_SBOM, bucket, key, ("sbom",))

    @bp.post("/attestations/<bucket>/<path:key>")
    async def add_attestation(bucket: str, key: str) -> tuple[Response, int]:
        await guard.check(actions.ZAS_PUT_ATTESTATION, object_arn(bucket, key))
        record = await counted("attestation", chain.add_attestation(bucket, key, await _body()))
        return jsonify(_evidence_json(record)), 201

    @bp.get("/attestations/<bucket>/<path:key>")
    async def get_attestations(bucket: str, key: str) -> Response:
        return await evidence_list(actions.ZAS_GET_ATTESTATIONS, bucket, key, ("attestation",))

    # --- policies --------------------------------------------------------------------------

    @bp.put("/policy/<bucket>")
    async def put_policy(bucket: str) -> tuple[str, int]:
        await guard.check(actions.ZAS_PUT_VERIFICATION_POLICY, bucket_arn(bucket))
        data = await _body()
        await chain.put_policy(bucket, data.decode("utf-8", "replace"))
        return "", 204

    @bp.get("/policy/<bucket>")
    async def get_policy(bucket: str) -> Response:
        await guard.check(actions.ZAS_GET_VERIFICATION_POLICY, bucket_arn(bucket))
        policy = chain.policy(bucket)
        if policy is None:
            raise NoSuchEntity(f"Bucket {bucket} has no verification policy.")
        return jsonify(policy.document)

    @bp.delete("/policy/<bucket>")
    async def delete_policy(bucket: str) -> tuple[str, int]:
        await guard.check(actions.ZAS_PUT_VERIFICATION_POLICY, bucket_arn(bucket))
        await chain.delete_policy(bucket)
        return "", 204

    @bp.post("/query")
    async def query() -> Response:
        body = await json_body()
        await guard.check(actions.ZAS_GET_SBOM, "arn:aws:s3:::*")
        sql, max_rows = sql_request(body)
        await chain.meta.caught_up()  # the views join objects: journaled PUTs first
        result = await guarded_query(
            chain.meta.connection, sql, views=QUERY_VIEWS, max_rows=max_rows, timeout=10.0
        )
        return jsonify(
            {"columns": result.columns, "rows": result.rows, "truncated": result.truncated}
        )

    return bp
