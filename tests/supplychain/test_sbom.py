"""SBOM parsing: realistic SPDX 2.3 / 3.0 and CycloneDX 1.4-1.6 documents in, components out.

The fixtures imitate what syft, trivy, cyclonedx-maven/gradle and spdx-tools emit; each holds
log4j-core 2.14.1 so the component index can be queried for it. Malformed variants are built
by mutating a valid fixture, so each failing case differs from a passing one by one field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zas.supplychain import sbom as sbom_module
from zas.supplychain.sbom import (
    Component,
    Described,
    InvalidPurl,
    InvalidSbom,
    PackageUrl,
    Sbom,
    parse_purl,
    parse_sbom,
)

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACT_SHA256 = "f4f864bf58440a86a37378f68189392c8317da08b9206e51f11ca7df54138d80"
LOG4J_PURL = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def parse(document: object) -> Sbom:
    return parse_sbom(json.dumps(document).encode())


def log4j(result: Sbom) -> Component:
    [component] = [c for c in result.components if c.name == "log4j-core"]
    return component


# --- Each format, as a tool emits it ---------------------------------------------------------


def test_given_syft_spdx_23_when_parsed_then_packages_purls_and_described_file_digest() -> None:
    result = parse_sbom((FIXTURES / "spdx-2.3-syft.json").read_bytes())

    assert (result.format, result.spec_version) == ("spdx-2.3", "SPDX-2.3")
    assert result.name == "app-1.4.0.jar"
    assert result.created == "2024-05-14T09:12:44Z"
    assert result.tools == ("syft-1.4.1",)
    assert [c.name for c in result.components] == [
        "log4j-core",
        "log4j-api",
        "jackson-databind",
        "app-1.4.0.jar",
    ]
    assert log4j(result) == Component(
        name="log4j-core",
        version="2.14.1",
        purl=LOG4J_PURL,
        type=None,
        supplier=None,  # NOASSERTION is no supplier
        licenses=("Apache-2.0",),  # licenseConcluded NOASSERTION dropped
    )
    jackson = result.components[2]
    assert jackson.supplier == "FasterXML"
    assert result.components[3].type == "file"
    assert result.describes == (Described("app-1.4.0.jar", ARTIFACT_SHA256),)


def test_given_spdx_30_jsonld_when_parsed_then_packages_licenses_suppliers_and_root() -> None:
    result = parse_sbom((FIXTURES / "spdx-3.0.1.json").read_bytes())

    assert (result.format, result.spec_version) == ("spdx-3.0", "3.0.1")
    assert result.name == "app-1.4.0"
    assert result.created == "2024-11-05T16:20:31Z"
    assert result.tools == ("spdx-tools 0.8.3",)
    assert log4j(result) == Component(
        name="log4j-core",
        version="2.14.1",
        purl=LOG4J_PURL,
        type="library",
        supplier="The Apache Software Foundation",
        licenses=("Apache-2.0",),
    )
    slf4j = next(c for c in result.components if c.name == "slf4j-api")
    assert slf4j.purl == "pkg:maven/org.slf4j/slf4j-api@1.7.36"
    assert slf4j.licenses == ("MIT",)  # a listed-license IRI outside the graph
    # The document's root is the Sbom; the Sbom's root is the package it describes.
    assert result.describes == (Described("app", ARTIFACT_SHA256),)


def test_given_cyclonedx_14_from_maven_plugin_when_parsed_then_components_and_root_hash() -> None:
    result = parse_sbom((FIXTURES / "cyclonedx-1.4-maven.json").read_bytes())

    assert (result.format, result.spec_version) == ("cyclonedx-1.4", "1.4")
    assert result.name == "app"
    assert result.created == "2023-09-18T07:41:02Z"
    assert result.tools == ("CycloneDX Maven plugin 2.7.9",)
    assert [c.name for c in result.components] == ["log4j-core", "log4j-api", "snakeyaml"]
    assert log4j(result).purl == LOG4J_PURL + "?type=jar"
    assert log4j(result).licenses == ("Apache-2.0",)
    assert result.components[2].licenses == ("Apache License, Version 2.0",)
    assert result.describes == (Described("app", ARTIFACT_SHA256),)


def test_given_trivy_cyclonedx_15_when_parsed_then_tools_object_and_container_root() -> None:
    result = parse_sbom((FIXTURES / "cyclonedx-1.5-trivy.json").read_bytes())

    assert (result.format, result.spec_version) == ("cyclonedx-1.5", "1.5")
    assert result.tools == ("trivy 0.50.1",)
    assert result.created == "2024-03-21T14:05:59+00:00"
    by_name = {c.name: c for c in result.components}
    assert by_name["alpine"].type == "operating-system"
    assert by_name["musl"].supplier == "Timo Teräs <timo.teras@iki.fi>"
    assert by_name["log4j-core"].purl == LOG4J_PURL
    # An image root carries no SHA-256 hash in trivy's output.
    assert result.describes == (Described("ghcr.io/acme/app:1.4.0", None),)


def test_given_cyclonedx_16_with_nested_components_when_parsed_then_flattened() -> None:
    result = parse_sbom((FIXTURES / "cyclonedx-1.6-nested.json").read_bytes())

    assert (result.format, result.spec_version) == ("cyclonedx-1.6", "1.6")
    assert result.tools == ("cyclonedx-gradle-plugin 1.10.0", "acme-sbom-enricher 0.3.2")
    assert [c.name for c in result.components] == [
        "logging-bundle",
        "AES-128-GCM",
        "core",
        "log4j-core",
        "org/apache/logging/log4j/core/lookup/JndiLookup.class",
    ]
    assert log4j(result).purl == LOG4J_PURL
    assert result.components[0].supplier == "Acme Corp"
    assert result.components[1].type == "cryptographic-asset"
    assert result.components[2].licenses == ("MIT",)
    # Uppercase hex in the document; lowercase in the result so it compares with stored digests.
    assert result.describes == (Described("app", ARTIFACT_SHA256),)


# --- Rejections, by mutation of a valid document ----------------------------------------------

Mutation = Callable[[dict[str, Any]], object]


def _set(path: str, value: object) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return mutate


SPDX2 = "spdx-2.3-syft.json"
SPDX3 = "spdx-3.0.1.json"
CDX14 = "cyclonedx-1.4-maven.json"
CDX15 = "cyclonedx-1.5-trivy.json"
CDX16 = "cyclonedx-1.6-nested.json"

REJECTED: list[tuple[str, Mutation, str]] = [
    (SPDX2, _set("dataLicense", "MIT"), "SPDX 2.3: dataLicense must be CC0-1.0"),
    (SPDX2, _set("SPDXID", "SPDXRef-DOC"), "SPDX 2.3: SPDXID must be SPDXRef-DOCUMENT"),
    (SPDX2, _delete("name"), "SPDX 2.3: name is required"),
    (SPDX2, _delete("documentNamespace"), "SPDX 2.3: documentNamespace is required"),
    (SPDX2, _set("documentNamespace", "https://x/y#frag"), "documentNamespace must be an abso"),
    (SPDX2, _delete("creationInfo"), "SPDX 2.3: creationInfo must be an object"),
    (SPDX2, _set("creationInfo.created", "yesterday"), "creationInfo.created must be an ISO"),
    (SPDX2, _set("creationInfo.creators", []), "creationInfo.creators must list at least one"),
    (SPDX2, _set("creationInfo.creators.1", "syft"), "creationInfo.creators[1] must start with"),
    (SPDX2, _delete("packages.2.name"), "SPDX 2.3: packages[2].name is required"),
    (SPDX2, _delete("packages.0.SPDXID"), "SPDX 2.3: packages[0].SPDXID is required"),
    (SPDX2, _set("packages.0.SPDXID", "pkg-1"), "packages[0].SPDXID must match SPDXRef-"),
    (
        SPDX2,
        _set("packages.1.SPDXID", "SPDXRef-Package-java-archive-log4j-core-8c2f5a1b0e9d4f37"),
        "packages[1].SPDXID SPDXRef-Package-java-archive-log4j-core-8c2f5a1b0e9d4f37 is used twice",
    ),
    (SPDX2, _delete("packages.1.downloadLocation"), "packages[1].downloadLocation is required"),
    (
        SPDX2,
        _set("packages.0.externalRefs.1.referenceLocator", "maven:log4j-core:2.14.1"),
        "packages[0].externalRefs[1].referenceLocator is not a valid package URL",
    ),
    (
        SPDX2,
        _set("packages.0.externalRefs.1.referenceCategory", "PACKAGE-MANGLER"),
        "packages[0].externalRefs[1].referenceCategory unknown category",
    ),
    (
        SPDX2,
        _set("packages.3.checksums.0.checksumValue", "abc123"),
        "packages[3].checksums[0].checksumValue must be 64 hex digits for SHA256",
    ),
    (SPDX2, _set("packages", {}), "SPDX 2.3: packages must be an array"),
    (SPDX2, _set("relationships.0.relationshipType", 7), "relationships[0].relationshipType must"),
    (SPDX2, _set("spdxVersion", "SPDX-2.2"), "unsupported SPDX version 'SPDX-2.2': supported are"),
    (CDX15, _delete("components.2.name"), "CycloneDX 1.5: components[2].name is required"),
    (CDX15, _delete("components.0.type"), "CycloneDX 1.5: components[0].type is required"),
    (CDX15, _set("components.0.type", "os"), "components[0].type 'os' is not one of"),
    (
        CDX15,
        _set("components.0.type", "cryptographic-asset"),
        "CycloneDX 1.5: components[0].type 'cryptographic-asset' is not one of",
    ),
    (CDX14, _set("components.0.type", "data"), "CycloneDX 1.4: components[0].type 'data'"),
    (CDX14, _set("components.1.purl", "pkg:maven/log4j-api@2.14.1"), "requires a namespace"),
    (CDX14, _set("components.1.purl", "log4j-api"), "components[1].purl is not a valid package"),
    (CDX14, _set("version", "1"), "CycloneDX 1.4: version must be an integer >= 1"),
    (CDX14, _set("version", 0), "CycloneDX 1.4: version must be an integer >= 1"),
    (CDX14, _set("serialNumber", "6b3f9a2e-1c4d"), "serialNumber must be a urn:uuid"),
    (CDX14, _set("metadata.tools", {"components": []}), "metadata.tools must be an array in"),
    (CDX14, _set("metadata.timestamp", "18/09/2023"), "metadata.timestamp must be an ISO 8601"),
    (CDX14, _set("components.0.hashes.1.alg", "SHA1"), "components[0].hashes[1].alg unknown hash"),
    (
        CDX14,
        _set("components.0.hashes.2.content", "zz" * 32),
        "components[0].hashes[2].content must be hexadecimal",
    ),
    (
        CDX14,
        _set("metadata.component.hashes.0.content", "ab" * 20),
        "metadata.component.hashes[0].content must be 64 hex digits for SHA-256",
    ),
    (
        CDX14,
        _set("components.2.licenses.0", {"licence": {}}),
        "components[2].licenses[0] must hold",
    ),
    (CDX14, _set("components.2.licenses.0.license", {}), "licenses[0].license needs an id or a"),
    (CDX14, _set("specVersion", "1.3"), "unsupported CycloneDX specVersion '1.3': supported are"),
    (CDX14, _set("bomFormat", "cyclonedx"), "bomFormat must be 'CycloneDX'"),
    (
        CDX16,
        _delete("components.0.components.0.components.0.type"),
        "CycloneDX 1.6: components[0].components[0].components[0].type is required",
    ),
    (CDX16, _set("components.0.components", "x"), "components[0].components must be an array"),
    (SPDX3, _set("@graph", []), "SPDX 3.0: @graph must be a non-empty array"),
    (SPDX3, _delete("@graph.7.name"), "SPDX 3.0: @graph[7].name is required"),
    (SPDX3, _delete("@graph.7.spdxId"), "SPDX 3.0: @graph[7].spdxId is required"),
    (SPDX3, _delete("@graph.7.type"), "SPDX 3.0: @graph[7].type is required"),
    (SPDX3, _set("@graph.7.creationInfo", "_:nope"), "@graph[7].creationInfo refers to no Creat"),
    (SPDX3, _set("@graph.0.specVersion", "2.3"), "@graph[0].specVersion must be 3.0.x"),
    (SPDX3, _set("@graph.0.createdBy", []), "@graph[0].createdBy must list at least one Agent"),
    (
        SPDX3,
        _set("@graph.7.externalIdentifier.0.identifier", "org.apache.logging.log4j:log4j-core"),
        "@graph[7].externalIdentifier[0].identifier is not a valid package URL",
    ),
    (SPDX3, _set("@graph.8.software_packageUrl", "pkg:"), "@graph[8].software_packageUrl is not"),
    (
        SPDX3,
        _set("@graph.6.verifiedUsing.0.hashValue", "123"),
        "@graph[6].verifiedUsing[0].hashValue must be 64 hex digits for sha256",
    ),
    (SPDX3, _set("@graph.11.to", "x"), "@graph[11].to must be an array of element ids"),
    (
        SPDX3,
        _set("@context", "https://spdx.org/rdf/terms"),
        "unknown SBOM format: @context is not an SPDX 3.0 context",
    ),
]


@pytest.mark.parametrize(
    ("fixture", "mutate", "message"),
    REJECTED,
    ids=[f"{f.split('.json')[0]}:{m[:40]}" for f, _, m in REJECTED],
)
def test_given_a_malformed_document_when_parsed_then_the_error_names_the_problem(
    fixture: str, mutate: Mutation, message: str
) -> None:
    document = load(fixture)
    parse(copy.deepcopy(document))  # the unmutated fixture is valid
    mutate(document)

    with pytest.raises(InvalidSbom) as caught:
        parse(document)

    assert message in caught.value.message
    assert (caught.value.code, caught.value.http_status) == ("InvalidSbom", 400)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "SBOM is not valid JSON"),
        (b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'/>", "SBOM is not valid JSON"),
        (b"\xff\xfe\xfa", "SBOM is not valid JSON"),
        (b'{"bomFormat": "CycloneDX", "specVersion": NaN}', "NaN is not allowed"),
        (b"[]", "SBOM must be a JSON object"),
        (
            b'{"name": "x", "packages": []}',
            "unknown SBOM format: no spdxVersion, bomFormat or SPDX",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_given_bytes_that_are_no_sbom_when_parsed_then_rejected(data: bytes, message: str) -> None:
    with pytest.raises(InvalidSbom, match=message):
        parse_sbom(data)


def test_given_an_sbom_over_the_size_limit_when_parsed_then_rejected_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = (FIXTURES / CDX14).read_bytes()
    monkeypatch.setattr(sbom_module, "MAX_SBOM_BYTES", len(data) - 1)
    with pytest.raises(InvalidSbom, match="larger than"):
        parse_sbom(data)


@pytest.mark.parametrize("fixture", [SPDX2, SPDX3, CDX15])
def test_given_more_components_than_the_limit_when_parsed_then_rejected(
    fixture: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sbom_module, "MAX_COMPONENTS", 2)
    with pytest.raises(InvalidSbom, match="more than 2 components"):
        parse_sbom((FIXTURES / fixture).read_bytes())


def test_given_components_nested_past_the_limit_when_parsed_then_rejected() -> None:
    component: dict[str, Any] = {"type": "library", "name": "leaf"}
    for depth in range(sbom_module.MAX_NESTING + 1):
        component = {"type": "library", "name": f"level-{depth}", "components": [component]}
    document = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [component]}

    with pytest.raises(
        InvalidSbom, match=f"nests components deeper than {sbom_module.MAX_NESTING}"
    ):
        parse(document)


def test_given_a_minimal_cyclonedx_15_when_parsed_then_version_and_metadata_are_optional() -> None:
    result = parse({"bomFormat": "CycloneDX", "specVersion": "1.5"})
    assert result == Sbom(
        format="cyclonedx-1.5",
        spec_version="1.5",
        name=None,
        created=None,
        tools=(),
        components=(),
        describes=(),
    )


def test_given_an_spdx_23_with_document_describes_when_parsed_then_it_counts_as_describes() -> None:
    document = load(SPDX2)
    del document["relationships"]
    document["documentDescribes"] = ["SPDXRef-DocumentRoot-File-app-1.4.0.jar"]
    assert parse(document).describes == (Described("app-1.4.0.jar", ARTIFACT_SHA256),)


# --- Package URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        (
            LOG4J_PURL,
            PackageUrl("maven", "org.apache.logging.log4j", "log4j-core", "2.14.1"),
            LOG4J_PURL,
        ),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar&classifier=",
            PackageUrl(
                "maven", "org.apache.logging.log4j", "log4j-core", "2.14.1", (("type", "jar"),)
            ),
            LOG4J_PURL + "?type=jar",
        ),
        (
            "pkg:npm/%40angular/core@17.3.0",
            PackageUrl("npm", "@angular", "core", "17.3.0"),
            "pkg:npm/%40angular/core@17.3.0",
        ),
        (
            "pkg:PYPI/Django_Allauth@0.5.0",
            PackageUrl("pypi", None, "django-allauth", "0.5.0"),
            "pkg:pypi/django-allauth@0.5.0",
        ),
        (
            "pkg:apk/alpine/musl@1.2.4_git20230717-r4?distro=3.19.1&arch=x86_64",
            PackageUrl(
                "apk",
                "alpine",
                "musl",
                "1.2.4_git20230717-r4",
                (("arch", "x86_64"), ("distro", "3.19.1")),
            ),
            "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=3.19.1",
        ),
        (
            "pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c#api/v1",
            PackageUrl(
                "golang", "github.com/gorilla", "context", "234fd47e07d1004f0aed9c", (), "api/v1"
            ),
            "pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c#api/v1",
        ),
        (
            "pkg:generic/openssl",
            PackageUrl("generic", None, "openssl", None),
            "pkg:generic/openssl",
        ),
    ],
)
def test_given_a_purl_when_parsed_then_its_parts_and_canonical_form(
    text: str, expected: PackageUrl, canonical: str
) -> None:
    parsed = parse_purl(text)
    assert parsed == expected
    assert str(parsed) == canonical
    assert parse_purl(str(parsed)) == parsed


def test_given_a_purl_when_asked_without_version_then_the_any_version_key() -> None:
    assert parse_purl(LOG4J_PURL + "?type=jar").without_version == (
        "pkg:maven/org.apache.logging.log4j/log4j-core"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("maven/org.apache/log4j@1", "must start with 'pkg:'"),
        ("pkg:maven", "has no name"),
        ("pkg:maven/", "has no name"),
        ("pkg:1maven/org/x@1", "invalid type"),
        ("pkg:maven/log4j-core@2.14.1", "requires a namespace"),
        ("pkg:npm/left-pad@1?=x", "invalid qualifier"),
        ("pkg:npm/left-pad@1?arch", "invalid qualifier"),
        ("pkg:npm/%2F/left-pad", "namespace segment containing '/'"),
        ("pkg:npm/" + "a" * 5000, "longer than 4096"),
    ],
)
def test_given_an_invalid_purl_when_parsed_then_rejected(text: str, message: str) -> None:
    with pytest.raises(InvalidPurl, match=message):
        parse_purl(text)


def test_given_components_bundled_under_the_root_component_when_parsed_then_indexed() -> None:
    document = load(CDX14)
    document["metadata"]["component"]["components"] = [
        {"type": "library", "name": "bundled-util", "version": "1.0.0"},
        {"type": "library"},
    ]
    with pytest.raises(
        InvalidSbom, match=r"metadata\.component\.components\[1\]\.name is required"
    ):
        parse(document)
    del document["metadata"]["component"]["components"][1]

    names = [c.name for c in parse(document).components]
    assert names == ["log4j-core", "log4j-api", "snakeyaml", "bundled-util"]
