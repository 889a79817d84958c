"""DSSE envelopes and in-toto Statements: spec vectors, round trips, tampering, validation."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from zas.supplychain import dsse, keys
from zas.supplychain.dsse import InvalidEnvelope, InvalidStatement
from zas.supplychain.keys import PrivateKey, PublicKey, ServerKeyAlgorithm

ALGORITHMS: tuple[ServerKeyAlgorithm, ...] = ("ed25519", "ecdsa-p256", "rsa-3072-pss")
SHA_HEX = hashlib.sha256(b"the artifact").hexdigest()
SLSA = "https://slsa.dev/provenance/v1"


@functools.cache
def server_key(algorithm: ServerKeyAlgorithm, n: int = 0) -> PrivateKey:
    return keys.generate(algorithm, key_id=f"{algorithm}-{n}")


def _spki(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- spec vectors --------------------------------------------------------------------------


def test_pae_vector_from_the_dsse_protocol() -> None:
    # https://github.com/secure-systems-lab/dsse/blob/master/protocol.md#test-vectors
    assert (
        dsse.pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_utf8_bytes_and_keeps_the_trailing_space_of_an_empty_body() -> None:
    assert dsse.pae("application/vnd.ex\u00e4mple+json", b"{}").startswith(b"DSSEv1 29 ")
    assert dsse.pae(dsse.PAYLOAD_TYPE_INTOTO, b"") == b"DSSEv1 28 application/vnd.in-toto+json 0 "


def test_ecdsa_envelope_vector_from_the_dsse_protocol_verifies() -> None:
    # The protocol.md example: ECDSA P-256/SHA-256 over the PAE, signature as raw r||s.
    x = 46950820868899156662930047687818585632848591499744589407958293238635476079160
    y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    key = keys.load_public_pem(_spki(public), "spec")
    envelope = dsse.parse_envelope(
        {
            "payload": "aGVsbG8gd29ybGQ=",
            "payloadType": "http://example.com/HelloWorld",
            "signatures": [
                {
                    "sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJ"
                    "PcIAriEGAHTVeCUjW2JIZA=="
                }
            ],
        }
    )
    [check] = dsse.verify_envelope(envelope, [key])
    assert check.ok, check.reason
    assert (check.keyid, check.key_id_used) == ("", "spec")
    tampered = dsse.parse_envelope({**envelope.to_dict(), "payload": "aGVsbG8gd29ybGQh"})
    assert not dsse.verify_envelope(tampered, [key])[0].ok


def _rfc8032_key(seed_hex: str, key_id: str) -> PublicKey:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    return keys.load_public_pem(_spki(private.public_key()), key_id)


# Ed25519 is deterministic: signatures by the RFC 8032 section 7.1 TEST 1 and TEST 2 keys.
KEY_A = functools.partial(
    _rfc8032_key, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "A"
)
KEY_B = functools.partial(
    _rfc8032_key, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "B"
)
STATEMENT_B64 = "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ=="
SIG_A = "2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA=="
SIG_B = "c1+67/aT0yqEpwx8PsVY3MLHsj9D0CZ014/Fv/QlG59P+9CobUZ7xECJ/V3USG0Ob9CiE5LjReEZUzNF2l7eBw=="


@pytest.mark.parametrize(
    ("payload", "payload_type", "sig"),
    [
        (STATEMENT_B64, dsse.PAYLOAD_TYPE_INTOTO, SIG_A),
        # URL-safe alphabet: "verifiers MUST accept either"
        (
            "-_-_Pj8=",
            dsse.PAYLOAD_TYPE_INTOTO,
            "P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==",
        ),
        (
            STATEMENT_B64,
            "application/vnd.ex\u00e4mple+json",
            "xmSk/ug66ysT7ayhkCIjhAq42zgZXSsEWuzUaNL7w2eGAdF/NU6/fRXPtmfN+5DNSAs5/i2lUnHjbbjPsu0tAw==",
        ),
        (
            "",
            dsse.PAYLOAD_TYPE_INTOTO,
            "gSggCAaTLTYyRH6FIDBem6meyIynsYy8RTHVzwx9tnTb7Bg/1jMWnuVgI/gffqmbsC2VX5/jHfkkDqsj7CDbDg==",
        ),
    ],
)
def test_ed25519_envelope_vectors_verify(payload: str, payload_type: str, sig: str) -> None:
    envelope = dsse.parse_envelope(
        {
            "payload": payload,
            "payloadType": payload_type,
            "signatures": [{"sig": sig, "keyid": "A"}],
        }
    )
    [check] = dsse.verify_envelope(envelope, [KEY_A(), KEY_B()])
    assert check.ok, check.reason
    assert check.key_id_used == "A"


def test_swapped_payload_type_is_rejected() -> None:
    envelope = dsse.parse_envelope(
        {
            "payload": STATEMENT_B64,
            "payloadType": "application/vnd.example.other+json",
            "signatures": [{"sig": SIG_A, "keyid": "A"}],
        }
    )
    [check] = dsse.verify_envelope(envelope, [KEY_A()])
    assert not check.ok
    assert "does not verify with key A" in check.reason


def test_threshold_counts_distinct_keys() -> None:
    two = dsse.parse_envelope(
        {
            "payload": STATEMENT_B64,
            "payloadType": dsse.PAYLOAD_TYPE_INTOTO,
            "signatures": [{"sig": SIG_A}, {"sig": SIG_B}],  # no keyids: every key is tried
        }
    )
    assert dsse.verified_key_ids(dsse.verify_envelope(two, [KEY_A(), KEY_B()])) == {"A", "B"}
    twice = dsse.parse_envelope(
        {
            "payload": STATEMENT_B64,
            "payloadType": dsse.PAYLOAD_TYPE_INTOTO,
            "signatures": [{"sig": SIG_A, "keyid": "A"}, {"sig": SIG_A, "keyid": "A"}],
        }
    )
    checks = dsse.verify_envelope(twice, {"A": KEY_A(), "B": KEY_B()})
    assert [c.ok for c in checks] == [True, True]
    assert dsse.verified_key_ids(checks) == {"A"}


# --- round trips ---------------------------------------------------------------------------


def _intoto_payload() -> bytes:
    stmt = dsse.statement("builds/app.tar.gz", SHA_HEX, SLSA, {"buildType": "x"})
    return dsse.statement_payload(stmt)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sign_envelope_round_trip(algorithm: ServerKeyAlgorithm) -> None:
    key = server_key(algorithm)
    payload = _intoto_payload()
    wire = json.dumps(dsse.sign_envelope(key, dsse.PAYLOAD_TYPE_INTOTO, payload)).encode()
    envelope = dsse.parse_envelope(wire)
    assert envelope.payload == payload
    assert envelope.signatures[0].keyid == key.public.key_id
    [check] = dsse.verify_envelope(envelope, [server_key(a).public for a in ALGORITHMS])
    assert check.ok, check.reason
    assert check.key_id_used == key.public.key_id
    stmt = dsse.statement_from_envelope(envelope)
    assert dsse.statement_matches(stmt, SHA_HEX, name="builds/app.tar.gz")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_tampered_payload_or_type_fails(algorithm: ServerKeyAlgorithm) -> None:
    key = server_key(algorithm)
    wire = dsse.sign_envelope(key, dsse.PAYLOAD_TYPE_INTOTO, _intoto_payload())
    other = dsse.statement_payload(dsse.statement("builds/app.tar.gz", "0" * 64, SLSA, {}))
    for changed in (
        {**wire, "payload": base64.b64encode(other).decode()},
        {**wire, "payloadType": "application/vnd.in-toto+jsonx"},
    ):
        [check] = dsse.verify_envelope(dsse.parse_envelope(changed), [key.public])
        assert not check.ok
        assert "does not verify" in check.reason


def test_keyid_naming_another_trusted_key_is_not_tried_elsewhere() -> None:
    # Given a signature by key 0 whose keyid names trusted key 1, Then only key 1 is tried
    signer, other = server_key("ecdsa-p256"), server_key("ecdsa-p256", 1)
    wire = dsse.sign_envelope(signer, dsse.PAYLOAD_TYPE_INTOTO, b"{}")
    wire["signatures"][0]["keyid"] = other.public.key_id
    [check] = dsse.verify_envelope(dsse.parse_envelope(wire), [signer.public, other.public])
    assert not check.ok
    assert check.key_id_used == other.public.key_id


def test_keyid_naming_no_trusted_key_tries_them_all() -> None:
    # Other tools compute keyids their own way; the hint then narrows nothing.
    signer = server_key("ed25519")
    wire = dsse.sign_envelope(signer, dsse.PAYLOAD_TYPE_INTOTO, b"{}")
    wire["signatures"][0]["keyid"] = "SHA256:elsewhere"
    envelope = dsse.parse_envelope(wire)
    [check] = dsse.verify_envelope(envelope, [server_key("ecdsa-p256").public, signer.public])
    assert check.ok
    assert check.key_id_used == signer.public.key_id
    [miss] = dsse.verify_envelope(envelope, [server_key("ed25519", 1).public])
    assert not miss.ok
    assert miss.key_id_used is None
    assert "names none of them" in miss.reason
    [empty] = dsse.verify_envelope(envelope, [])
    assert (empty.ok, empty.reason) == (False, "no trusted keys")


def test_many_signatures_on_one_envelope() -> None:
    envelope = dsse.parse_envelope(
        dsse.sign_envelope(server_key("ed25519"), dsse.PAYLOAD_TYPE_INTOTO, _intoto_payload())
    )
    envelope = dsse.add_signature(envelope, server_key("rsa-3072-pss"))
    envelope = dsse.add_signature(envelope, server_key("ecdsa-p256"))
    again = dsse.parse_envelope(envelope.to_json())
    assert again == envelope
    checks = dsse.verify_envelope(again, [server_key(a).public for a in ALGORITHMS])
    assert all(c.ok for c in checks)
    assert len(dsse.verified_key_ids(checks)) == 3


# --- envelope validation -------------------------------------------------------------------

GOOD: dict[str, Any] = {
    "payload": "e30=",
    "payloadType": dsse.PAYLOAD_TYPE_INTOTO,
    "signatures": [{"keyid": "k", "sig": "AAAA"}],
}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        ({**GOOD, "payload": None}, "no string 'payload'"),
        ({**GOOD, "payload": "e30=!"}, "'payload' is not base64"),
        ({**GOOD, "payload": "e"}, "'payload' is not base64"),
        ({k: v for k, v in GOOD.items() if k != "payloadType"}, "no string 'payloadType'"),
        ({**GOOD, "signatures": []}, "non-empty list"),
        ({**GOOD, "signatures": {"sig": "AAAA"}}, "non-empty list"),
        ({**GOOD, "signatures": ["AAAA"]}, r"signatures\[0\] must be an object"),
        ({**GOOD, "signatures": [{"keyid": "k"}]}, r"signatures\[0\] has no string 'sig'"),
        ({**GOOD, "signatures": [{"sig": "AA AA"}]}, r"signatures\[0\].sig is not base64"),
        ({**GOOD, "signatures": [{"sig": "AAAA", "keyid": 7}]}, "keyid must be a string"),
        (b'{"payload": "e30=", "payload": "e31=", "payloadType": "x"}', "duplicate key"),
        (b"[" * 100_000, "nested too deeply|not valid JSON"),
    ],
)
def test_parse_envelope_names_what_is_wrong(data: bytes | dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEnvelope, match=message) as info:
        dsse.parse_envelope(data)
    assert info.value.http_status == 400
    assert info.value.code == "InvalidEnvelope"


def test_parse_envelope_ignores_unknown_fields_and_null_keyid() -> None:
    envelope = dsse.parse_envelope(
        {**GOOD, "extra": 1, "signatures": [{"sig": "AAAA", "keyid": None, "cert": "x"}]}
    )
    assert envelope.signatures == (dsse.EnvelopeSignature("", b"\x00\x00\x00"),)
    assert envelope.payload == b"{}"
    assert "keyid" not in envelope.to_dict()["signatures"][0]


# --- Statements ----------------------------------------------------------------------------


def test_statement_builder_and_parser_agree() -> None:
    stmt = dsse.statement("b/k", SHA_HEX.upper(), SLSA, {"a": 1})
    assert stmt == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "b/k", "digest": {"sha256": SHA_HEX}}],
        "predicateType": SLSA,
        "predicate": {"a": 1},
    }
    parsed = dsse.parse_statement(dsse.statement_payload(stmt))
    assert parsed.type == dsse.STATEMENT_TYPE_V1
    assert parsed.subjects == (dsse.Subject("b/k", {"sha256": SHA_HEX}),)
    assert (parsed.predicate_type, parsed.predicate) == (SLSA, {"a": 1})


def test_statement_matches_by_sha256_and_optionally_name() -> None:
    parsed = dsse.parse_statement(
        json.dumps(
            {
                "_type": dsse.STATEMENT_TYPE_V01,
                "subject": [
                    {"name": "other", "digest": {"sha512": "ab" * 64}},
                    {"name": "b/k", "digest": {"sha256": SHA_HEX.upper(), "sha1": "0" * 40}},
                ],
                "predicateType": SLSA,
            }
        ).encode()
    )
    assert parsed.predicate == {}
    assert dsse.statement_matches(parsed, SHA_HEX)
    assert dsse.statement_matches(parsed, SHA_HEX, name="b/k")
    assert not dsse.statement_matches(parsed, SHA_HEX, name="b/other")
    assert not dsse.statement_matches(parsed, "0" * 64)


def test_statement_builder_rejects_bad_input() -> None:
    with pytest.raises(InvalidStatement, match="64 hex"):
        dsse.statement("b/k", "abc", SLSA, {})
    with pytest.raises(InvalidStatement, match="predicateType"):
        dsse.statement("b/k", SHA_HEX, "", {})


def _stmt(**changes: Any) -> bytes:
    base: dict[str, Any] = {
        "_type": dsse.STATEMENT_TYPE_V1,
        "subject": [{"name": "b/k", "digest": {"sha256": SHA_HEX}}],
        "predicateType": SLSA,
        "predicate": {},
    }
    base.update(changes)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (_stmt(_type="https://in-toto.io/Statement/v2"), "_type must be"),
        (_stmt(_type=...), "_type must be"),
        (_stmt(subject=[]), "subject must be a non-empty array"),
        (_stmt(subject=...), "subject must be a non-empty array"),
        (_stmt(subject=["b/k"]), r"subject\[0\] must be an object"),
        (_stmt(subject=[{"name": 1, "digest": {"sha256": SHA_HEX}}]), r"subject\[0\].name"),
        (_stmt(subject=[{"name": "b/k"}]), r"subject\[0\].digest must be an object"),
        (_stmt(subject=[{"digest": {}}]), r"subject\[0\].digest must name at least one"),
        (_stmt(subject=[{"digest": {"sha256": 5}}]), r"digest.sha256 must be a non-empty string"),
        (_stmt(subject=[{"digest": {"sha256": "abc"}}]), "64 hex digits"),
        (_stmt(predicateType=""), "predicateType must be a URI"),
        (_stmt(predicateType=...), "predicateType must be a URI"),
        (_stmt(predicate=[1]), "predicate must be a JSON object"),
    ],
)
def test_parse_statement_names_what_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(InvalidStatement, match=message) as info:
        dsse.parse_statement(payload)
    assert info.value.code == "InvalidStatement"
    assert isinstance(info.value, InvalidEnvelope)


def test_statement_from_envelope_requires_the_in_toto_payload_type() -> None:
    envelope = dsse.parse_envelope(
        dsse.sign_envelope(server_key("ed25519"), "application/json", _intoto_payload())
    )
    with pytest.raises(InvalidEnvelope, match="payloadType 'application/json' is not supported"):
        dsse.statement_from_envelope(envelope)
