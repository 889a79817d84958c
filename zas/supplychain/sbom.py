"""SBOM documents: detect the format, validate what the spec requires, extract the components.

ZAS stores SBOMs next to the artifacts they describe and indexes their components so an analyst
can ask in SQL which artifacts ship a given package. This module is the pure part of that: bytes
in, an `Sbom` value (or `InvalidSbom` naming the JSON path of the problem) out. It performs no
I/O, knows nothing of buckets or DuckDB, and never fetches a schema or a JSON-LD context.

Supported formats (detected by content, never by file name or media type):

- SPDX 2.3 JSON — https://spdx.github.io/spdx-spec/v2.3/ (JSON schema:
  https://github.com/spdx/spdx-spec/blob/development/v2.3/schemas/spdx-schema.json)
- SPDX 3.0.x JSON-LD — https://spdx.github.io/spdx-spec/v3.0.1/ and its serialization
  https://spdx.github.io/spdx-spec/v3.0.1/serializations/ (context
  https://spdx.org/rdf/3.0.1/spdx-context.jsonld)
- CycloneDX 1.4, 1.5, 1.6 JSON — https://cyclonedx.org/docs/1.6/json/

Validation is a hand-written subset of each schema: the fields the spec marks required, the
enumerations and patterns that matter for indexing (component type, purl, hash content, serial
number), and shape limits so a hostile document is an error rather than a crash or a stall.
Package URLs follow https://github.com/package-url/purl-spec/blob/master/PURL-SPECIFICATION.rst.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, unquote

import attrs

from zas.protocol.errors import InvalidArgument

__all__ = [
    "MAX_COMPONENTS",
    "MAX_NESTING",
    "MAX_SBOM_BYTES",
    "SUPPORTED_FORMATS",
    "Component",
    "Described",
    "InvalidPurl",
    "InvalidSbom",
    "PackageUrl",
    "Sbom",
    "SbomFormat",
    "parse_purl",
    "parse_sbom",
    "parse_sbom_object",
]

SbomFormat = Literal["spdx-2.3", "spdx-3.0", "cyclonedx-1.4", "cyclonedx-1.5", "cyclonedx-1.6"]

SUPPORTED_FORMATS = "SPDX-2.3 JSON, SPDX 3.0 JSON-LD, CycloneDX 1.4/1.5/1.6 JSON"

# The API caps request bodies at this size too; checked here so the parser is safe on its own.
MAX_SBOM_BYTES = 64 * 1024 * 1024
# Real SBOMs of large container images hold tens of thousands of packages; 200k leaves room
# while bounding the rows one upload can add to the component index.
MAX_COMPONENTS = 200_000
# CycloneDX components nest (components[].components[]); real documents go a few levels deep.
# JSON nesting in general is bounded by the decoder's recursion guard (reported as an error).
MAX_NESTING = 32


class InvalidSbom(InvalidArgument):
    """The document is not an SBOM we accept; the message names the format and JSON path."""

    code = "InvalidSbom"
    http_status = 400
    default_message = "The SBOM document is not valid."


class InvalidPurl(InvalidArgument):
    """A string is not a package URL (https://github.com/package-url/purl-spec)."""

    default_message = "The package URL is not valid."


# --- Package URL ----------------------------------------------------------------------------
#
# purl grammar (PURL-SPECIFICATION.rst, "Rules for each purl component"):
#     scheme:type/namespace/name@version?qualifiers#subpath
# - scheme is "pkg"; type is ASCII letters, digits, '.', '+', '-', not starting with a digit,
#   case-insensitive (canonically lowercase);
# - namespace segments and name are percent-encoded; name is required;
# - qualifier keys are lowercase [a-z0-9.-_] and not starting with a digit; empty values dropped.
# Parsing goes right to left as the spec's "How to parse a purl string" section prescribes.


def _percent_decode(text: str) -> str:
    # Most purls have no escapes; skipping the decoder for them halves the cost of parsing one.
    return unquote(text) if "%" in text else text


_PURL_TYPE = re.compile(r"^[A-Za-z.+-][A-Za-z0-9.+-]*$")
_PURL_QUALIFIER_KEY = re.compile(r"^[A-Za-z.\-_][A-Za-z0-9.\-_]*$")
# Types whose namespace the spec makes mandatory (see PURL-TYPES.rst).
_PURL_NEEDS_NAMESPACE = frozenset({"maven", "golang", "github", "bitbucket", "composer", "swift"})
# Types whose name (and namespace) are case-insensitive, canonically lowercase.
_PURL_LOWERCASE_NAME = frozenset({"bitbucket", "github", "pypi", "hex", "composer", "npm"})


@attrs.frozen
class PackageUrl:
    """A parsed purl; `str()` gives the canonical form used as the index key."""

    type: str
    namespace: str | None
    name: str
    version: str | None
    qualifiers: tuple[tuple[str, str], ...] = ()
    subpath: str | None = None

    @property
    def without_version(self) -> str:
        """`pkg:type/namespace/name`: the key for "any version of this package" queries."""
        parts = [f"pkg:{self.type}/"]
        if self.namespace:
            parts.append("/".join(quote(seg, safe="") for seg in self.namespace.split("/")) + "/")
        parts.append(quote(self.name, safe=""))
        return "".join(parts)

    def __str__(self) -> str:
        text = self.without_version
        if self.version is not None:
            text += "@" + quote(self.version, safe=":+")
        if self.qualifiers:
            text += "?" + "&".join(f"{k}={quote(v, safe=':/')}" for k, v in self.qualifiers)
        if self.subpath:
            text += "#" + "/".join(quote(seg, safe="") for seg in self.subpath.split("/"))
        return text


def parse_purl(purl: str) -> PackageUrl:
    """Parse and validate a package URL, raising `InvalidPurl` with the reason."""
    if not isinstance(purl, str) or not purl:
        raise InvalidPurl("package URL must be a non-empty string")
    if len(purl) > 4096:
        raise InvalidPurl("package URL is longer than 4096 characters")
    remainder, _, subpath_text = purl.partition("#")
    remainder, _, qualifier_text = remainder.partition("?")
    scheme, colon, remainder = remainder.partition(":")
    if not colon or scheme.lower() != "pkg":
        raise InvalidPurl(f"package URL {purl!r} must start with 'pkg:'")
    remainder = remainder.strip("/")
    type_, slash, remainder = remainder.partition("/")
    if not slash or not remainder:
        raise InvalidPurl(f"package URL {purl!r} has no name")
    if not _PURL_TYPE.match(type_):
        raise InvalidPurl(f"package URL {purl!r} has an invalid type {type_!r}")
    type_ = type_.lower()

    version: str | None = None
    at = remainder.rfind("@")
    # An '@' inside the namespace (npm scopes) is percent-encoded by the spec, so the last '@'
    # after the last '/' separates the version.
    if at > remainder.rfind("/"):
        version = _percent_decode(remainder[at + 1 :]) or None
        remainder = remainder[:at]
    namespace_text, _, name_text = remainder.rpartition("/")
    name = _percent_decode(name_text.strip("/"))
    if not name:
        raise InvalidPurl(f"package URL {purl!r} has no name")
    segments = [_percent_decode(s) for s in namespace_text.split("/") if s]
    if any("/" in s for s in segments):
        raise InvalidPurl(f"package URL {purl!r} has a namespace segment containing '/'")
    namespace = "/".join(segments) or None
    if type_ in _PURL_NEEDS_NAMESPACE and namespace is None:
        raise InvalidPurl(f"package URL {purl!r}: type {type_!r} requires a namespace")
    if type_ in _PURL_LOWERCASE_NAME:
        name = name.lower()
        namespace = namespace.lower() if namespace else None
    if type_ == "pypi":
        name = name.replace("_", "-")

    qualifiers: dict[str, str] = {}
    for pair in qualifier_text.split("&") if qualifier_text else ():
        key, eq, value = pair.partition("=")
        if not eq or not _PURL_QUALIFIER_KEY.match(key):
            raise InvalidPurl(f"package URL {purl!r} has an invalid qualifier {pair!r}")
        if value:
            qualifiers[key.lower()] = _percent_decode(value)
    subpath_segments = [
        _percent_decode(s) for s in subpath_text.split("/") if s and s not in {".", ".."}
    ]
    return PackageUrl(
        type=type_,
        namespace=namespace,
        name=name,
        version=version,
        qualifiers=tuple(sorted(qualifiers.items())),
        subpath="/".join(subpath_segments) or None,
    )


# --- The result ---------------------------------------------------------------------------


@attrs.frozen
class Component:
    """One package an SBOM lists: what the component index stores, one row each."""

    name: str
    version: str | None
    purl: str | None
    # CycloneDX component type or SPDX primary package purpose, lowercase ("library", ...).
    type: str | None
    supplier: str | None
    # License ids or expressions as written (declared first, then concluded), deduplicated.
    licenses: tuple[str, ...]


class Described(NamedTuple):
    """What the SBOM says it describes, with its SHA-256 when the document records one."""

    name: str
    sha256: str | None


@attrs.frozen
class Sbom:
    format: SbomFormat
    # The exact version the document declares ("SPDX-2.3", "3.0.1", "1.5").
    spec_version: str
    name: str | None
    created: str | None
    tools: tuple[str, ...]
    components: tuple[Component, ...]
    describes: tuple[Described, ...]


# --- Entry points ---------------------------------------------------------------------------


def parse_sbom(data: bytes) -> Sbom:
    """Detect, validate and extract an SBOM from its JSON bytes."""
    if len(data) > MAX_SBOM_BYTES:
        raise InvalidSbom(f"SBOM is larger than {MAX_SBOM_BYTES} bytes")
    try:
        document = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidSbom("SBOM JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        # json.JSONDecodeError is a ValueError; its message carries line and column.
        raise InvalidSbom(f"SBOM is not valid JSON: {exc}") from None
    return parse_sbom_object(document)


def parse_sbom_object(document: object) -> Sbom:
    """Like `parse_sbom` for an already-decoded document (e.g. an attestation predicate)."""
    if not isinstance(document, dict):
        raise InvalidSbom("SBOM must be a JSON object")
    if "spdxVersion" in document:
        version = document["spdxVersion"]
        if version != "SPDX-2.3":
            raise InvalidSbom(
                f"unsupported SPDX version {version!r}: supported are {SUPPORTED_FORMATS}"
            )
        return _Spdx2(document).parse()
    if "bomFormat" in document:
        if document["bomFormat"] != "CycloneDX":
            raise InvalidSbom(f"bomFormat must be 'CycloneDX', got {document['bomFormat']!r}")
        spec = document.get("specVersion")
        if not isinstance(spec, str) or spec not in _CDX_TYPES:
            raise InvalidSbom(
                f"unsupported CycloneDX specVersion {spec!r}: supported are {SUPPORTED_FORMATS}"
            )
        return _CycloneDx(document, spec).parse()
    if "@context" in document:
        if not _is_spdx3_context(document["@context"]):
            raise InvalidSbom(
                "unknown SBOM format: @context is not an SPDX 3.0 context "
                f"(https://spdx.org/rdf/3.0.x/spdx-context.jsonld); supported are "
                f"{SUPPORTED_FORMATS}"
            )
        return _Spdx3(document).parse()
    raise InvalidSbom(
        "unknown SBOM format: no spdxVersion, bomFormat or SPDX 3 @context "
        f"(supported are {SUPPORTED_FORMATS})"
    )


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not allowed in JSON")


# --- Shared checks --------------------------------------------------------------------------

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
# ISO 8601 date-time as the specs use it (RFC 3339; SPDX 2.3 requires the Z form).
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class _Checker:
    """Field accessors that raise `InvalidSbom` prefixed with the format and JSON path."""

    label: str

    def fail(self, path: str, problem: str) -> InvalidSbom:
        where = f"{path} " if path else ""
        return InvalidSbom(f"{self.label}: {where}{problem}")

    def obj(self, value: object, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be an object")
        return value

    def lst(self, parent: dict[str, Any], key: str, path: str) -> list[Any]:
        value = parent.get(key, [])
        if not isinstance(value, list):
            raise self.fail(_join(path, key), "must be an array")
        return value

    def required_str(self, parent: dict[str, Any], key: str, path: str) -> str:
        if key not in parent:
            raise self.fail(_join(path, key), "is required")
        value = parent[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(path, key), "must be a non-empty string")
        return value

    def optional_str(self, parent: dict[str, Any], key: str, path: str) -> str | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(_join(path, key), "must be a string")
        return value

    def purl(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, "must be a string")
        try:
            parse_purl(value)
        except InvalidPurl as exc:
            raise self.fail(path, f"is not a valid package URL: {exc.message}") from None
        return value

    def datetime(self, parent: dict[str, Any], key: str, path: str, required: bool) -> str | None:
        value = self.required_str(parent, key, path) if required else parent.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not _DATETIME.match(value):
            raise self.fail(_join(path, key), f"must be an ISO 8601 date-time, got {value!r}")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _dedupe(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _limit_components(label: str, count: int) -> None:
    if count > MAX_COMPONENTS:
        raise InvalidSbom(f"{label}: more than {MAX_COMPONENTS} components")


# --- SPDX 2.3 -------------------------------------------------------------------------------
# Document creation information: https://spdx.github.io/spdx-spec/v2.3/document-creation-information/
#   spdxVersion, dataLicense (= CC0-1.0), SPDXID (= SPDXRef-DOCUMENT), name, documentNamespace
#   (a URI without '#'), creationInfo.creators (one or more "Tool: ", "Organization: ",
#   "Person: ") and creationInfo.created (YYYY-MM-DDThh:mm:ssZ) are mandatory.
# Package information: https://spdx.github.io/spdx-spec/v2.3/package-information/
#   name, SPDXID and downloadLocation are mandatory; externalRefs carry the purl
#   (referenceCategory PACKAGE-MANAGER, referenceType purl; Annex F).
# Relationships: https://spdx.github.io/spdx-spec/v2.3/relationships-between-SPDX-elements/

_SPDX_ID = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
_SPDX2_CREATOR = re.compile(r"^(Tool|Organization|Person): .+")
_SPDX2_REF_CATEGORIES = frozenset(
    {"SECURITY", "PACKAGE-MANAGER", "PACKAGE_MANAGER", "PERSISTENT-ID", "PERSISTENT_ID", "OTHER"}
)
_SPDX_NO_VALUE = frozenset({"NOASSERTION", "NONE"})


class _Spdx2(_Checker):
    label = "SPDX 2.3"

    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document

    def parse(self) -> Sbom:
        doc = self.doc
        if doc.get("dataLicense") != "CC0-1.0":
            raise self.fail("dataLicense", "must be CC0-1.0")
        if doc.get("SPDXID") != "SPDXRef-DOCUMENT":
            raise self.fail("SPDXID", "must be SPDXRef-DOCUMENT")
        name = self.required_str(doc, "name", "")
        namespace = self.required_str(doc, "documentNamespace", "")
        if not _URI_SCHEME.match(namespace) or "#" in namespace:
            raise self.fail("documentNamespace", "must be an absolute URI without '#'")
        info = self.obj(doc.get("creationInfo"), "creationInfo")
        created = self.datetime(info, "created", "creationInfo", required=True)
        creators = self.lst(info, "creators", "creationInfo")
        if not creators:
            raise self.fail("creationInfo.creators", "must list at least one creator")
        tools: list[str] = []
        for i, creator in enumerate(creators):
            if not isinstance(creator, str) or not _SPDX2_CREATOR.match(creator):
                raise self.fail(
                    f"creationInfo.creators[{i}]",
                    "must start with 'Tool: ', 'Organization: ' or 'Person: '",
                )
            if creator.startswith("Tool: "):
                tools.append(creator.removeprefix("Tool: ").strip())

        ids: dict[str, tuple[str, str | None]] = {}  # SPDXID -> (name, sha256)
        packages = self.lst(doc, "packages", "")
        _limit_components(self.label, len(packages))
        components = [self._package(p, f"packages[{i}]", ids) for i, p in enumerate(packages)]
        for i, file in enumerate(self.lst(doc, "files", "")):
            path = f"files[{i}]"
            file = self.obj(file, path)
            file_name = self.required_str(file, "fileName", path)
            self._register(file, path, ids, file_name)

        return Sbom(
            format="spdx-2.3",
            spec_version="SPDX-2.3",
            name=name,
            created=created,
            tools=tuple(tools),
            components=tuple(components),
            describes=self._describes(ids),
        )

    def _register(
        self,
        element: dict[str, Any],
        path: str,
        ids: dict[str, tuple[str, str | None]],
        name: str,
    ) -> None:
        spdx_id = self.required_str(element, "SPDXID", path)
        if not _SPDX_ID.match(spdx_id):
            raise self.fail(f"{path}.SPDXID", "must match SPDXRef-[A-Za-z0-9.-]+")
        if spdx_id in ids:
            raise self.fail(f"{path}.SPDXID", f"{spdx_id} is used twice")
        sha256: str | None = None
        for j, checksum in enumerate(self.lst(element, "checksums", path)):
            cpath = f"{path}.checksums[{j}]"
            checksum = self.obj(checksum, cpath)
            algorithm = self.required_str(checksum, "algorithm", cpath)
            value = self.required_str(checksum, "checksumValue", cpath)
            if not _HEX.match(value):
                raise self.fail(f"{cpath}.checksumValue", "must be hexadecimal")
            if algorithm == "SHA256":
                if not _SHA256_HEX.match(value):
                    raise self.fail(f"{cpath}.checksumValue", "must be 64 hex digits for SHA256")
                sha256 = value.lower()
        ids[spdx_id] = (name, sha256)

    def _package(
        self, package: object, path: str, ids: dict[str, tuple[str, str | None]]
    ) -> Component:
        package = self.obj(package, path)
        name = self.required_str(package, "name", path)
        self._register(package, path, ids, name)
        self.required_str(package, "downloadLocation", path)
        purl: str | None = None
        for j, ref in enumerate(self.lst(package, "externalRefs", path)):
            rpath = f"{path}.externalRefs[{j}]"
            ref = self.obj(ref, rpath)
            category = self.required_str(ref, "referenceCategory", rpath)
            if category not in _SPDX2_REF_CATEGORIES:
                raise self.fail(f"{rpath}.referenceCategory", f"unknown category {category!r}")
            ref_type = self.required_str(ref, "referenceType", rpath)
            locator = self.required_str(ref, "referenceLocator", rpath)
            if ref_type == "purl":
                self.purl(locator, f"{rpath}.referenceLocator")
                purl = purl or locator
        supplier = self.optional_str(package, "supplier", path)
        if supplier in _SPDX_NO_VALUE:
            supplier = None
        elif supplier is not None:
            supplier = re.sub(r"^(Organization|Person): ", "", supplier).strip() or None
        purpose = self.optional_str(package, "primaryPackagePurpose", path)
        licenses = [
            value
            for key in ("licenseDeclared", "licenseConcluded")
            if (value := self.optional_str(package, key, path)) and value not in _SPDX_NO_VALUE
        ]
        return Component(
            name=name,
            version=self.optional_str(package, "versionInfo", path),
            purl=purl,
            type=purpose.lower().replace("_", "-") if purpose else None,
            supplier=supplier,
            licenses=_dedupe(licenses),
        )

    def _describes(self, ids: dict[str, tuple[str, str | None]]) -> tuple[Described, ...]:
        # SPDX 2.3 §6.1 + §11: DESCRIBES relationships from the document (documentDescribes is
        # the older, still-accepted spelling of the same thing).
        targets: list[str] = []
        described = self.lst(self.doc, "documentDescribes", "")
        targets.extend(t for t in described if isinstance(t, str))
        for i, rel in enumerate(self.lst(self.doc, "relationships", "")):
            path = f"relationships[{i}]"
            rel = self.obj(rel, path)
            source = self.required_str(rel, "spdxElementId", path)
            kind = self.required_str(rel, "relationshipType", path)
            target = self.required_str(rel, "relatedSpdxElement", path)
            if kind == "DESCRIBES" and source == "SPDXRef-DOCUMENT":
                targets.append(target)
            elif kind == "DESCRIBED_BY" and target == "SPDXRef-DOCUMENT":
                targets.append(source)
        return tuple(Described(*ids[t]) for t in dict.fromkeys(targets) if t in ids)


# --- CycloneDX 1.4 to 1.6 ----------------------------------------------------------------------
# https://cyclonedx.org/docs/1.6/json/ (and /1.5/json/, /1.4/json/): bomFormat "CycloneDX" and
# specVersion are required; version (integer >= 1) and serialNumber (urn:uuid) are optional
# but constrained; each component needs type (an enumeration that grew in 1.5 and 1.6) and
# name; components nest via components[].components; metadata.tools is an array of tools in
# 1.4 and, from 1.5, preferably an object {components, services}.

_CDX_TYPES_14 = frozenset(
    {
        "application",
        "framework",
        "library",
        "container",
        "operating-system",
        "device",
        "firmware",
        "file",
    }
)
_CDX_TYPES_15 = _CDX_TYPES_14 | {"platform", "device-driver", "machine-learning-model", "data"}
_CDX_TYPES: dict[str, frozenset[str]] = {
    "1.4": _CDX_TYPES_14,
    "1.5": _CDX_TYPES_15,
    "1.6": _CDX_TYPES_15 | {"cryptographic-asset"},
}
_CDX_FORMATS: dict[str, SbomFormat] = {
    "1.4": "cyclonedx-1.4",
    "1.5": "cyclonedx-1.5",
    "1.6": "cyclonedx-1.6",
}
_CDX_HASH_ALGS = frozenset(
    {
        "MD5",
        "SHA-1",
        "SHA-256",
        "SHA-384",
        "SHA-512",
        "SHA3-256",
        "SHA3-384",
        "SHA3-512",
        "BLAKE2b-256",
        "BLAKE2b-384",
        "BLAKE2b-512",
        "BLAKE3",
    }
)
_UUID_URN = re.compile(
    r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


class _CycloneDx(_Checker):
    def __init__(self, document: dict[str, Any], spec: str) -> None:
        self.doc = document
        self.spec = spec
        self.label = f"CycloneDX {spec}"
        self.types = _CDX_TYPES[spec]

    def parse(self) -> Sbom:
        doc = self.doc
        if "version" in doc:
            version = doc["version"]
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise self.fail("version", "must be an integer >= 1")
        serial = doc.get("serialNumber")
        if serial is not None and (not isinstance(serial, str) or not _UUID_URN.match(serial)):
            raise self.fail("serialNumber", "must be a urn:uuid:<RFC 4122 UUID>")

        created: str | None = None
        tools: list[str] = []
        describes: list[Described] = []
        name: str | None = None
        if "metadata" in doc:
            metadata = self.obj(doc["metadata"], "metadata")
            created = self.datetime(metadata, "timestamp", "metadata", required=False)
            tools = self._tools(metadata)
            if "component" in metadata:
                root = self.obj(metadata["component"], "metadata.component")
                root_component, sha256 = self._component(root, "metadata.component")
                name = root_component.name
                describes.append(Described(root_component.name, sha256))

        components: list[Component] = []
        for component, path in self._walk(doc):
            components.append(self._component(component, path)[0])
            _limit_components(self.label, len(components))
        return Sbom(
            format=_CDX_FORMATS[self.spec],
            spec_version=self.spec,
            name=name,
            created=created,
            tools=tuple(tools),
            components=tuple(components),
            describes=tuple(describes),
        )

    def _walk(self, doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
        """Every component, nested ones flattened (a parent before its children), iteratively."""
        stack: list[tuple[list[Any], str, int]] = [(self.lst(doc, "components", ""), "", 1)]
        # cyclonedx-npm and others put bundled dependencies under the root component.
        root = doc.get("metadata", {}).get("component")
        if isinstance(root, dict) and "components" in root:
            nested = self.lst(root, "components", "metadata.component")
            stack.insert(0, (nested, "metadata.component.", 2))
        while stack:
            items, prefix, depth = stack.pop()
            pending: list[tuple[list[Any], str, int]] = []
            for i, item in enumerate(items):
                path = f"{prefix}components[{i}]"
                component = self.obj(item, path)
                yield component, path
                if "components" in component:
                    if depth >= MAX_NESTING:
                        raise self.fail(path, f"nests components deeper than {MAX_NESTING}")
                    pending.append((self.lst(component, "components", path), f"{path}.", depth + 1))
            stack.extend(reversed(pending))

    def _tools(self, metadata: dict[str, Any]) -> list[str]:
        raw = metadata.get("tools")
        if raw is None:
            return []
        if isinstance(raw, dict):
            # 1.5+: {"components": [...], "services": [...]}
            if self.spec == "1.4":
                raise self.fail("metadata.tools", "must be an array in CycloneDX 1.4")
            entries = [
                (f"metadata.tools.{key}[{i}]", item)
                for key in ("components", "services")
                for i, item in enumerate(self.lst(raw, key, "metadata.tools"))
            ]
        elif isinstance(raw, list):
            entries = [(f"metadata.tools[{i}]", item) for i, item in enumerate(raw)]
        else:
            raise self.fail("metadata.tools", "must be an array or an object")
        tools = []
        for path, item in entries:
            tool = self.obj(item, path)
            tool_name = self.optional_str(tool, "name", path)
            if tool_name:
                version = self.optional_str(tool, "version", path)
                tools.append(f"{tool_name} {version}" if version else tool_name)
        return tools

    def _component(self, component: dict[str, Any], path: str) -> tuple[Component, str | None]:
        if "type" not in component:
            raise self.fail(f"{path}.type", "is required")
        kind = component["type"]
        if not isinstance(kind, str) or kind not in self.types:
            raise self.fail(
                f"{path}.type", f"{kind!r} is not one of {', '.join(sorted(self.types))}"
            )
        name = self.required_str(component, "name", path)
        version = self.optional_str(component, "version", path)
        purl = component.get("purl")
        if purl is not None:
            self.purl(purl, f"{path}.purl")
        sha256: str | None = None
        for j, entry in enumerate(self.lst(component, "hashes", path)):
            hpath = f"{path}.hashes[{j}]"
            entry = self.obj(entry, hpath)
            alg = self.required_str(entry, "alg", hpath)
            if alg not in _CDX_HASH_ALGS:
                raise self.fail(f"{hpath}.alg", f"unknown hash algorithm {alg!r}")
            content = self.required_str(entry, "content", hpath)
            if not _HEX.match(content):
                raise self.fail(f"{hpath}.content", "must be hexadecimal")
            if alg == "SHA-256":
                if not _SHA256_HEX.match(content):
                    raise self.fail(f"{hpath}.content", "must be 64 hex digits for SHA-256")
                sha256 = content.lower()
        supplier = None
        if "supplier" in component:
            supplier = self.optional_str(
                self.obj(component["supplier"], f"{path}.supplier"), "name", f"{path}.supplier"
            )
        return (
            Component(
                name=name,
                version=version,
                purl=purl,
                type=kind,
                supplier=supplier,
                licenses=self._licenses(component, path),
            ),
            sha256,
        )

    def _licenses(self, component: dict[str, Any], path: str) -> tuple[str, ...]:
        # Each entry is {"license": {"id" | "name": ...}} or {"expression": "..."}.
        found: list[str] = []
        for k, entry in enumerate(self.lst(component, "licenses", path)):
            lpath = f"{path}.licenses[{k}]"
            entry = self.obj(entry, lpath)
            if "expression" in entry:
                found.append(self.required_str(entry, "expression", lpath))
            elif "license" in entry:
                choice = self.obj(entry["license"], f"{lpath}.license")
                value = self.optional_str(choice, "id", f"{lpath}.license") or self.optional_str(
                    choice, "name", f"{lpath}.license"
                )
                if not value:
                    raise self.fail(f"{lpath}.license", "needs an id or a name")
                found.append(value)
            else:
                raise self.fail(lpath, "must hold 'license' or 'expression'")
        return _dedupe(found)


# --- SPDX 3.0 JSON-LD -----------------------------------------------------------------------
# https://spdx.github.io/spdx-spec/v3.0.1/serializations/ : a JSON-LD document whose @context
# is the SPDX context and whose @graph holds the elements. With that context the properties
# are compacted: "type" (= @type), "spdxId" (= @id), "software_packageVersion", ...
# Every element needs spdxId and creationInfo (an inline CreationInfo or the @id of a blank
# node "_:..." elsewhere in the graph); CreationInfo needs specVersion, created and createdBy.
# software_Package (https://spdx.github.io/spdx-spec/v3.0.1/model/Software/Classes/Package/)
# carries software_packageVersion, software_packageUrl, externalIdentifier[] (type
# packageUrl), verifiedUsing[] (Hash: algorithm, hashValue), suppliedBy (an Agent) and
# software_primaryPurpose; licenses are Relationships hasDeclaredLicense/hasConcludedLicense
# to simplelicensing_LicenseExpression elements or to listed-license IRIs.

_SPDX3_CONTEXT = re.compile(r"^https://spdx\.org/rdf/3\.0\.\d+/spdx-context\.jsonld$")
_SPDX3_SPEC_VERSION = re.compile(r"^3\.0\.\d+$")
_SPDX_LICENSE_IRI = "https://spdx.org/licenses/"
_COLLECTIONS = frozenset({"software_Sbom", "SpdxDocument", "Bom", "Bundle"})


def _is_spdx3_context(context: object) -> bool:
    contexts = context if isinstance(context, list) else [context]
    return any(isinstance(c, str) and _SPDX3_CONTEXT.match(c) for c in contexts)


class _Spdx3(_Checker):
    label = "SPDX 3.0"

    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document

    def parse(self) -> Sbom:
        graph = self.doc.get("@graph")
        if not isinstance(graph, list) or not graph:
            raise self.fail("@graph", "must be a non-empty array of elements")
        by_id: dict[str, dict[str, Any]] = {}
        creation_infos: dict[str, dict[str, Any]] = {}
        typed: list[tuple[str, dict[str, Any], str]] = []
        for i, item in enumerate(graph):
            path = f"@graph[{i}]"
            element = self.obj(item, path)
            kind = element.get("type", element.get("@type"))
            if not isinstance(kind, str) or not kind:
                raise self.fail(f"{path}.type", "is required")
            if kind == "CreationInfo":
                node_id = element.get("@id")
                if not isinstance(node_id, str):
                    raise self.fail(f"{path}.@id", "is required on a CreationInfo node")
                creation_infos[node_id] = self._creation_info(element, path)
                continue
            spdx_id = element.get("spdxId", element.get("@id"))
            if not isinstance(spdx_id, str) or not spdx_id:
                raise self.fail(f"{path}.spdxId", "is required")
            if spdx_id in by_id:
                raise self.fail(f"{path}.spdxId", f"{spdx_id} is used twice")
            by_id[spdx_id] = element
            typed.append((kind, element, path))
        if not typed:
            raise self.fail("@graph", "has no elements besides CreationInfo")
        # Every element must carry its creation info; the first one dates the document.
        infos = [self._element_info(e, p, creation_infos) for _, e, p in typed]
        first_info = infos[0]

        packages = [(e, p) for k, e, p in typed if k == "software_Package"]
        _limit_components(self.label, len(packages))
        licenses = self._licenses(typed, by_id)
        components = [self._package(e, p, by_id, licenses) for e, p in packages]

        document = next((e for k, e, _ in typed if k == "SpdxDocument"), None)
        sbom = next((e for k, e, _ in typed if k == "software_Sbom"), None)
        name = next(
            (n for e in (document, sbom) if e and isinstance(n := e.get("name"), str)), None
        )
        tools = [
            tool["name"]
            for ref in first_info.get("createdUsing", [])
            if isinstance(ref, str)
            and isinstance(tool := by_id.get(ref), dict)
            and isinstance(tool.get("name"), str)
        ]
        return Sbom(
            format="spdx-3.0",
            spec_version=first_info["specVersion"],
            name=name,
            created=first_info["created"],
            tools=tuple(tools),
            components=tuple(components),
            describes=self._describes(document, sbom, by_id),
        )

    def _creation_info(self, info: dict[str, Any], path: str) -> dict[str, Any]:
        version = self.required_str(info, "specVersion", path)
        if not _SPDX3_SPEC_VERSION.match(version):
            raise self.fail(f"{path}.specVersion", f"must be 3.0.x, got {version!r}")
        self.datetime(info, "created", path, required=True)
        created_by = info.get("createdBy")
        if not isinstance(created_by, list) or not created_by:
            raise self.fail(f"{path}.createdBy", "must list at least one Agent")
        if not isinstance(info.get("createdUsing", []), list):
            raise self.fail(f"{path}.createdUsing", "must be an array of Tool ids")
        return info

    def _element_info(
        self, element: dict[str, Any], path: str, infos: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        ref = element.get("creationInfo")
        if ref is None:
            raise self.fail(f"{path}.creationInfo", "is required")
        if isinstance(ref, dict):
            return self._creation_info(ref, f"{path}.creationInfo")
        if not isinstance(ref, str) or ref not in infos:
            raise self.fail(f"{path}.creationInfo", f"refers to no CreationInfo: {ref!r}")
        return infos[ref]

    def _licenses(
        self, typed: list[tuple[str, dict[str, Any], str]], by_id: dict[str, dict[str, Any]]
    ) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for kind, element, path in typed:
            if kind != "Relationship":
                continue
            source = self.required_str(element, "from", path)
            rel_type = self.required_str(element, "relationshipType", path)
            targets = element.get("to")
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                raise self.fail(f"{path}.to", "must be an array of element ids")
            if rel_type not in {"hasDeclaredLicense", "hasConcludedLicense"}:
                continue
            for target in targets:
                license_ = by_id.get(target)
                if license_ is not None:
                    text = license_.get("simplelicensing_licenseExpression") or license_.get("name")
                elif target.startswith(_SPDX_LICENSE_IRI):
                    text = target.removeprefix(_SPDX_LICENSE_IRI)
                else:
                    text = None
                if isinstance(text, str) and text and text not in _SPDX_NO_VALUE:
                    # Declared before concluded, as for SPDX 2.3.
                    bucket = found.setdefault(source, [])
                    if rel_type == "hasDeclaredLicense":
                        bucket.insert(0, text)
                    else:
                        bucket.append(text)
        return found

    def _package(
        self,
        package: dict[str, Any],
        path: str,
        by_id: dict[str, dict[str, Any]],
        licenses: dict[str, list[str]],
    ) -> Component:
        name = self.required_str(package, "name", path)
        purl = package.get("software_packageUrl")
        if purl is not None:
            self.purl(purl, f"{path}.software_packageUrl")
        for j, ident in enumerate(self.lst(package, "externalIdentifier", path)):
            ipath = f"{path}.externalIdentifier[{j}]"
            ident = self.obj(ident, ipath)
            ident_type = self.required_str(ident, "externalIdentifierType", ipath)
            value = self.required_str(ident, "identifier", ipath)
            if ident_type == "packageUrl":
                self.purl(value, f"{ipath}.identifier")
                purl = purl or value
        self._sha256(package, path)
        supplier = None
        supplier_ref = package.get("suppliedBy")
        if isinstance(supplier_ref, str) and isinstance(agent := by_id.get(supplier_ref), dict):
            supplier = agent.get("name") if isinstance(agent.get("name"), str) else None
        purpose = self.optional_str(package, "software_primaryPurpose", path)
        spdx_id = package.get("spdxId", package.get("@id"))
        return Component(
            name=name,
            version=self.optional_str(package, "software_packageVersion", path),
            purl=purl,
            type=purpose.lower() if purpose else None,
            supplier=supplier,
            licenses=_dedupe(licenses.get(str(spdx_id), [])),
        )

    def _sha256(self, element: dict[str, Any], path: str) -> str | None:
        sha256 = None
        for j, method in enumerate(self.lst(element, "verifiedUsing", path)):
            mpath = f"{path}.verifiedUsing[{j}]"
            method = self.obj(method, mpath)
            if method.get("type", method.get("@type")) != "Hash":
                continue
            algorithm = self.required_str(method, "algorithm", mpath)
            value = self.required_str(method, "hashValue", mpath)
            if not _HEX.match(value):
                raise self.fail(f"{mpath}.hashValue", "must be hexadecimal")
            if algorithm == "sha256":
                if not _SHA256_HEX.match(value):
                    raise self.fail(f"{mpath}.hashValue", "must be 64 hex digits for sha256")
                sha256 = value.lower()
        return sha256

    def _describes(
        self,
        document: dict[str, Any] | None,
        sbom: dict[str, Any] | None,
        by_id: dict[str, dict[str, Any]],
    ) -> tuple[Described, ...]:
        # The SpdxDocument's rootElement is usually the software_Sbom, whose rootElement is the
        # thing described; follow collections one level so either layout works.
        roots: list[str] = []
        for holder in (sbom, document):
            if holder is not None:
                where = str(holder.get("spdxId", holder.get("@id")))
                roots.extend(
                    r for r in self.lst(holder, "rootElement", where) if isinstance(r, str)
                )
        described: dict[str, Described] = {}
        for ref in roots:
            element = by_id.get(ref)
            if element is None or element.get("type", element.get("@type")) in _COLLECTIONS:
                continue
            name = element.get("name")
            if isinstance(name, str):
                described[ref] = Described(name, self._sha256(element, ref))
        return tuple(described.values())
