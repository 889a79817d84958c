"""Parsing a bucket's verification policy (pure): what each requirement form means, and a
clear MalformedVerificationPolicy naming the field for every malformed one."""

from __future__ import annotations

import json

import pytest

from zas.supplychain.enforcement import MalformedVerificationPolicy, parse_policy


def policy(require: object, mode: str = "enforce") -> str:
    return json.dumps({"mode": mode, "require": require})


def test_true_means_any_key_or_builder_and_an_object_lists_them() -> None:
    anything = parse_policy(policy({"signature": True, "provenance": True, "sbom": True}))
    assert anything.signature_keys == frozenset()
    assert anything.builder_ids == frozenset()
    assert anything.sbom is True

    listed = parse_policy(
        policy(
            {
                "signature": {"keys": ["zas:ed25519:a"]},
                "provenance": {"builder_ids": ["https://ci.example/builder"]},
            },
            mode="warn",
        )
    )
    assert listed.mode == "warn"
    assert listed.signature_keys == frozenset({"zas:ed25519:a"})
    assert listed.builder_ids == frozenset({"https://ci.example/builder"})
    assert listed.sbom is False


def test_absent_requirements_require_nothing() -> None:
    only_sbom = parse_policy(policy({"sbom": True}))
    assert only_sbom.signature_keys is None
    assert only_sbom.builder_ids is None
    assert only_sbom.attestations == frozenset()


@pytest.mark.parametrize(
    ("require", "message"),
    [
        ({"signature": "yes"}, "require.signature must be true or an object"),
        ({"signature": False}, "require.signature must be true or an object"),
        ({"provenance": ["x"]}, "require.provenance must be true or an object"),
        ({"signature": {"keys": "k"}}, "require.signature.keys must be a list"),
        ({"provenance": {"builder_ids": [""]}}, "require.provenance.builder_ids must be a list"),
        ({"sbom": "yes"}, "require.sbom must be true or false"),
        ({"licence": True}, "unknown requirements: licence"),
        ({}, "require must be a non-empty object"),
    ],
)
def test_malformed_requirements_name_the_field(require: object, message: str) -> None:
    with pytest.raises(MalformedVerificationPolicy, match=message):
        parse_policy(policy(require))
