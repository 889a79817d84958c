"""aws-chunked request bodies (streaming SigV4) on the wire: signed chunks, unsigned chunks
with trailing checksums, signed trailers, and every way they can be wrong."""

from __future__ import annotations

import base64
import zlib
from typing import Any

from awscrt import checksums  # type: ignore[import-untyped]

from tests.e2e.raw import chunked_upload
from tests.zasproc import ZasProcess

CHUNKS = [b"a" * 65536, b"b" * 8192, b"c" * 100]
BODY = b"".join(CHUNKS)


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_signed_chunks_are_decoded_and_stored(zas: ZasProcess, s3: Any, bucket: str) -> None:
    response = chunked_upload(f"{zas.endpoint}/{bucket}/signed", CHUNKS)
    assert response.status == 200, response
    assert s3.get_object(Bucket=bucket, Key="signed")["Body"].read() == BODY


def test_a_bad_chunk_signature_stores_nothing(zas: ZasProcess, s3: Any, bucket: str) -> None:
    response = chunked_upload(f"{zas.endpoint}/{bucket}/tampered", CHUNKS, tamper_chunk=1)
    assert (response.status, response.code) == (403, "SignatureDoesNotMatch"), response
    assert keys(s3, bucket) == []
    assert list((zas.data_dir / "tmp").iterdir()) == []


def test_unsigned_chunks_with_a_crc32_trailer(zas: ZasProcess, s3: Any, bucket: str) -> None:
    trailer = [("x-amz-checksum-crc32", crc32(BODY))]
    response = chunked_upload(
        f"{zas.endpoint}/{bucket}/trailer", CHUNKS, signed=False, trailers=trailer
    )
    assert response.status == 200, response
    assert response.headers["x-amz-checksum-crc32"] == crc32(BODY)
    got = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == BODY
    assert got["ChecksumCRC32"] == crc32(BODY)


def test_a_wrong_trailing_checksum_is_bad_digest_and_stores_nothing(
    zas: ZasProcess, s3: Any, bucket: str
) -> None:
    trailer = [("x-amz-checksum-crc32", crc32(b"something else"))]
    response = chunked_upload(
        f"{zas.endpoint}/{bucket}/wrong", CHUNKS, signed=False, trailers=trailer
    )
    assert (response.status, response.code) == (400, "BadDigest"), response
    assert keys(s3, bucket) == []


def test_signed_chunks_with_a_signed_crc32c_trailer(zas: ZasProcess, s3: Any, bucket: str) -> None:
    value = base64.b64encode(checksums.crc32c(BODY).to_bytes(4, "big")).decode()
    response = chunked_upload(
        f"{zas.endpoint}/{bucket}/signed-trailer",
        CHUNKS,
        trailers=[("x-amz-checksum-crc32c", value)],
    )
    assert response.status == 200, response
    head = s3.head_object(Bucket=bucket, Key="signed-trailer", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32C"] == value
    assert head["ContentLength"] == len(BODY)
