"""XML request bodies (zas/protocol/xml_requests.py): what botocore sends, AWS's documented
examples, and every way a body can be wrong, including hostile ones."""

from __future__ import annotations

import base64
import hashlib
import time
import zlib

import pytest

from tests.protocol.botocore_requests import botocore_request
from zas.protocol import errors
from zas.protocol.headers import Checksum
from zas.protocol.xml import MAX_XML_BODY, parse_xml
from zas.protocol.xml_requests import (
    MAX_COMPLETE_MULTIPART_BODY,
    MAX_DELETE_BODY,
    CompletedPart,
    DeleteRequest,
    ObjectIdentifier,
    parse_complete_multipart_upload,
    parse_delete,
    parse_tagging,
)

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- CompleteMultipartUpload ----------------------------------------------------------------


def test_given_boto3_complete_body_then_parts_in_order_with_checksums() -> None:
    crc = zlib.crc32(b"one").to_bytes(4, "big")
    sha = hashlib.sha256(b"two").digest()
    _, body = botocore_request(
        "complete_multipart_upload",
        Bucket="b",
        Key="k",
        UploadId="u",
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": '"' + "a" * 32 + '"', "ChecksumCRC32": _b64(crc)},
                {"PartNumber": 3, "ETag": "b" * 32, "ChecksumSHA256": _b64(sha)},
                {"PartNumber": 2, "ETag": '"c"'},
            ]
        },
    )

    parts = parse_complete_multipart_upload(body)

    assert parts == (
        CompletedPart(1, '"' + "a" * 32 + '"', (Checksum("crc32", crc),)),
        CompletedPart(3, '"' + "b" * 32 + '"', (Checksum("sha256", sha),)),
        CompletedPart(2, '"c"'),  # out of order: InvalidPartOrder is decided later
    )


def test_given_the_aws_doc_example_then_parsed() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html#API_CompleteMultipartUpload_Examples
    body = b"""<CompleteMultipartUpload>
  <Part>
    <PartNumber>1</PartNumber>
    <ETag>"a54357aff0632cce46d942af68356b38"</ETag>
  </Part>
  <Part>
    <PartNumber>2</PartNumber>
    <ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag>
  </Part>
  <Part>
    <PartNumber>3</PartNumber>
    <ETag>"acbd18db4cc2f85cedef654fccc4a4d8"</ETag>
  </Part>
</CompleteMultipartUpload>"""

    parts = parse_complete_multipart_upload(body)

    assert [(p.part_number, p.etag) for p in parts] == [
        (1, '"a54357aff0632cce46d942af68356b38"'),
        (2, '"0c78aef83f66abc1fa1e8477f296d394"'),
        (3, '"acbd18db4cc2f85cedef654fccc4a4d8"'),
    ]


def test_given_every_checksum_element_then_each_algorithm() -> None:
    sizes = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
    elements = "".join(f"<Checksum{n}>{_b64(bytes(s))}</Checksum{n}>" for n, s in sizes.items())
    body = f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>{elements}"
    body += "</Part></CompleteMultipartUpload>"

    (part,) = parse_complete_multipart_upload(body.encode())

    assert {c.algorithm: len(c.digest) for c in part.checksums} == {
        name.lower(): size for name, size in sizes.items()
    }


def test_given_10000_parts_with_checksums_then_within_the_cap() -> None:
    part = '<Part><PartNumber>{}</PartNumber><ETag>"{}"</ETag>'
    part += "<ChecksumSHA256>{}</ChecksumSHA256></Part>"
    sha = _b64(bytes(32))
    body = (
        f"<CompleteMultipartUpload {NS}>"
        + "".join(part.format(n, "f" * 32, sha) for n in range(1, 10_001))
        + "</CompleteMultipartUpload>"
    ).encode()
    assert MAX_XML_BODY < len(body) < MAX_COMPLETE_MULTIPART_BODY

    parts = parse_complete_multipart_upload(body)

    assert len(parts) == 10_000 and parts[-1].part_number == 10_000


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"  ",
        b"<CompleteMultipartUpload/>",
        b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Other/></CompleteMultipartUpload>",
        b"<Complete><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></Complete>",
        b"<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>\xd9\xa1</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber>"
        b"<ETag>e</ETag></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag><x/></ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>"
        b"<ChecksumCRC32>nope</ChecksumCRC32></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>"
        b"<ChecksumSHA1>AAAAAA==</ChecksumSHA1></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part>",
    ],
)
def test_given_malformed_complete_body_then_malformed_xml(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML) as caught:
        parse_complete_multipart_upload(body)
    assert caught.value.http_status == 400


def test_given_more_than_10000_parts_then_malformed_xml() -> None:
    part = b"<Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
    body = b"<CompleteMultipartUpload>" + part * 10_001 + b"</CompleteMultipartUpload>"

    with pytest.raises(errors.MalformedXML):
        parse_complete_multipart_upload(body)


def test_given_unknown_elements_then_ignored_as_s3_does() -> None:
    body = (
        b"<CompleteMultipartUpload><Note>x</Note><Part><PartNumber> 7 </PartNumber>"
        b"<ETag>&quot;e&quot;</ETag><Size>5</Size></Part></CompleteMultipartUpload>"
    )

    assert parse_complete_multipart_upload(body) == (CompletedPart(7, '"e"'),)


# --- Delete ---------------------------------------------------------------------------------


def test_given_boto3_delete_body_then_keys_versions_and_quiet() -> None:
    keys = ["a", " spaced key ", "<b> & \"c\" 'd'", "\u00fcn\u00ef/\u6587", "x" * 1024]
    objects = [{"Key": key} for key in keys] + [{"Key": "v", "VersionId": "null", "ETag": '"e"'}]
    _, body = botocore_request(
        "delete_objects", Bucket="b", Delete={"Objects": objects, "Quiet": True}
    )

    request = parse_delete(body)

    assert request == DeleteRequest(
        True, (*(ObjectIdentifier(key) for key in keys), ObjectIdentifier("v", "null", '"e"'))
    )


def test_given_the_aws_doc_example_then_not_quiet() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<Delete>
    <Object>
         <Key>sample1.txt</Key>
    </Object>
    <Object>
         <Key>sample2.txt</Key>
    </Object>
</Delete>"""

    assert parse_delete(body) == DeleteRequest(
        False, (ObjectIdentifier("sample1.txt"), ObjectIdentifier("sample2.txt"))
    )


@pytest.mark.parametrize(("text", "quiet"), [("true", True), ("TRUE", True), (" false ", False)])
def test_given_quiet_values_then_boolean(text: str, quiet: bool) -> None:
    body = f"<Delete><Quiet>{text}</Quiet><Object><Key>k</Key></Object></Delete>".encode()

    assert parse_delete(body).quiet is quiet


def test_given_1000_objects_then_accepted_and_1001_malformed_xml() -> None:
    def body(count: int) -> bytes:
        objects = "".join(f"<Object><Key>key-{i}</Key></Object>" for i in range(count))
        return f"<Delete {NS}>{objects}</Delete>".encode()

    assert len(parse_delete(body(1000)).objects) == 1000
    with pytest.raises(errors.MalformedXML):
        parse_delete(body(1001))


def test_given_1000_longest_keys_escaped_then_within_the_cap() -> None:
    objects = "".join(f"<Object><Key>{'&amp;' * 1024}</Key></Object>" for _ in range(1000))
    body = f"<Delete {NS}>{objects}</Delete>".encode()
    assert len(body) < MAX_DELETE_BODY

    assert parse_delete(body).objects[0].key == "&" * 1024


@pytest.mark.parametrize("body", [b"", b"\n "])
def test_given_empty_delete_body_then_missing_request_body(body: bytes) -> None:
    with pytest.raises(errors.MissingRequestBodyError) as caught:
        parse_delete(body)
    assert (caught.value.code, caught.value.http_status) == ("MissingRequestBodyError", 400)


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete/>",
        b"<Delete><Quiet>true</Quiet></Delete>",
        b"<Delete><Object><Key>object</Key></Object>",
        b"<Remove><Object><Key>object</Key></Object></Remove>",
        b"<Delete><Object><ETag>x</ETag></Object></Delete>",
        b"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
        b"<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>",
        b"<Delete><Object><Key>k</Key></Object></Delete>trailing",
        b"<Delete><Object><Key>\x00</Key></Object></Delete>",
    ],
)
def test_given_malformed_delete_body_then_malformed_xml(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML):
        parse_delete(body)


def test_given_an_empty_key_then_kept_for_a_per_key_error() -> None:
    assert parse_delete(b"<Delete><Object><Key/></Object></Delete>").objects == (
        ObjectIdentifier(""),
    )


# --- Tagging --------------------------------------------------------------------------------


def test_given_boto3_tagging_body_then_tags_in_order() -> None:
    tags = [("b", "2"), ("a", ""), ("k k", "v+v=v")]
    _, body = botocore_request(
        "put_object_tagging",
        Bucket="b",
        Key="k",
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags]},
    )

    assert parse_tagging(body) == tuple(tags)


def test_given_an_empty_tag_set_then_no_tags() -> None:
    assert parse_tagging(f"<Tagging {NS}><TagSet/></Tagging>".encode()) == ()


@pytest.mark.parametrize("body", [b"", b" "])
def test_given_empty_tagging_body_then_missing_request_body(body: bytes) -> None:
    with pytest.raises(errors.MissingRequestBodyError):
        parse_tagging(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<Tagging><TagSet>",
        b"<Tagging></Tagging>",
        b"<Tagging><TagSet/><TagSet/></Tagging>",
        b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
        b"<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
        b"<Tags><TagSet></TagSet></Tags>",
    ],
)
def test_given_malformed_tagging_body_then_malformed_xml(body: bytes) -> None:
    with pytest.raises(errors.MalformedXML):
        parse_tagging(body)


def test_given_tags_breaking_the_limits_then_the_tag_errors() -> None:
    def body(*tags: tuple[str, str]) -> bytes:
        items = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in tags)
        return f"<Tagging><TagSet>{items}</TagSet></Tagging>".encode()

    with pytest.raises(errors.BadRequest):
        parse_tagging(body(*((f"k{i}", "") for i in range(11))))
    with pytest.raises(errors.InvalidTag, match="multiple Tags with the same key"):
        parse_tagging(body(("a", "1"), ("a", "2")))
    with pytest.raises(errors.InvalidTag, match="TagKey"):
        parse_tagging(body(("k" * 129, "")))
    with pytest.raises(errors.InvalidTag, match="TagValue"):
        parse_tagging(body(("k", "v" * 257)))


# --- hostile bodies -------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Delete><Object><Key>&lol9;</Key></Object></Delete>
"""
PARSERS = [parse_complete_multipart_upload, parse_delete, parse_tagging]


@pytest.mark.timeout(10)  # a hang guard; the budget below is the claim
@pytest.mark.parametrize("parse", PARSERS)
def test_given_an_xml_bomb_then_malformed_xml_in_milliseconds(parse: object) -> None:
    assert callable(parse)
    started = time.perf_counter()

    with pytest.raises(errors.MalformedXML) as caught:
        parse(BILLION_LAUGHS)

    assert time.perf_counter() - started < 0.5  # expanded, it would take minutes and GBs
    assert type(caught.value.__cause__).__name__ == "DTDForbidden"


@pytest.mark.parametrize(
    "doctype",
    [
        b"<!DOCTYPE Delete>",
        b'<!DOCTYPE Delete SYSTEM "http://example.com/s3.dtd">',
        b"<!DOCTYPE Delete [<!ELEMENT Delete ANY>]>",
        b'<!DOCTYPE Delete [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ],
)
def test_given_any_dtd_then_malformed_xml_even_without_entities(doctype: bytes) -> None:
    body = doctype + b"<Delete><Object><Key>k</Key></Object></Delete>"

    with pytest.raises(errors.MalformedXML):
        parse_delete(body)
    with pytest.raises(errors.MalformedXML):
        parse_xml(body)


@pytest.mark.timeout(10)
def test_given_deep_nesting_within_the_cap_then_an_answer_not_a_crash() -> None:
    depth = (MAX_XML_BODY - 64) // 7
    nested = b"<a>" * depth + b"</a>" * depth
    body = b"<Tagging><TagSet>" + nested + b"</TagSet></Tagging>"
    assert len(body) <= MAX_XML_BODY

    assert parse_tagging(body) == ()  # unknown elements are ignored, however deep
    with pytest.raises(errors.MalformedXML):
        parse_tagging(body[:-20])


@pytest.mark.parametrize(
    ("parse", "cap"),
    [
        (parse_complete_multipart_upload, MAX_COMPLETE_MULTIPART_BODY),
        (parse_delete, MAX_DELETE_BODY),
        (parse_tagging, MAX_XML_BODY),
    ],
)
def test_given_body_over_its_cap_then_malformed_xml_before_parsing(parse: object, cap: int) -> None:
    assert callable(parse)

    with pytest.raises(errors.MalformedXML, match="larger than the maximum allowed size"):
        parse(b"<x>" + b" " * cap + b"</x>")
