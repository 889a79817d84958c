"""S3 flexible checksums: known vectors, botocore agreement, incremental use, multipart forms."""

from __future__ import annotations

import base64
import hashlib
import random
import zlib

import pytest
from botocore import httpchecksum

from zas.protocol.checksum_algorithms import (
    ChecksumAlgorithm,
    algorithm_for_header,
    checksum,
    composite,
    decode,
    encode,
    full_object,
    new_hasher,
    parse_algorithm,
)
from zas.protocol.errors import InvalidRequest

CHECK = b"123456789"
# The "check" values of each CRC's catalogue entry, and the digests of the same input.
KNOWN = {
    ChecksumAlgorithm.CRC32: (0xCBF43926).to_bytes(4, "big"),
    ChecksumAlgorithm.CRC32C: (0xE3069283).to_bytes(4, "big"),
    ChecksumAlgorithm.CRC64NVME: (0xAE8B14860A799888).to_bytes(8, "big"),
    ChecksumAlgorithm.SHA1: hashlib.sha1(CHECK).digest(),
    ChecksumAlgorithm.SHA256: hashlib.sha256(CHECK).digest(),
}
BOTOCORE = {
    ChecksumAlgorithm.CRC32: httpchecksum.Crc32Checksum,
    ChecksumAlgorithm.CRC32C: httpchecksum.CrtCrc32cChecksum,
    ChecksumAlgorithm.CRC64NVME: httpchecksum.CrtCrc64NvmeChecksum,
    ChecksumAlgorithm.SHA1: httpchecksum.Sha1Checksum,
    ChecksumAlgorithm.SHA256: httpchecksum.Sha256Checksum,
}


@pytest.mark.parametrize("algorithm", ChecksumAlgorithm)
def test_given_check_string_when_hashed_then_known_value(algorithm: ChecksumAlgorithm) -> None:
    assert checksum(algorithm, CHECK) == KNOWN[algorithm]
    assert len(KNOWN[algorithm]) == algorithm.digest_size


@pytest.mark.parametrize("algorithm", ChecksumAlgorithm)
def test_given_random_data_in_pieces_then_same_base64_as_botocore(
    algorithm: ChecksumAlgorithm,
) -> None:
    rng = random.Random(7)
    for size in (0, 1, 7, 4096, 100_003):
        data = rng.randbytes(size)
        theirs = BOTOCORE[algorithm]()
        theirs.update(data)
        ours = new_hasher(algorithm)
        cut = rng.randrange(size + 1)
        ours.update(data[:cut])
        ours.update(memoryview(data)[cut:])  # any bytes-like object, as the writer hands over
        ours.update(bytearray())
        assert encode(ours.digest()) == theirs.b64digest()
        assert ours.digest() == ours.digest()  # digest() does not end the hasher


def test_given_names_in_any_case_then_parsed_and_unknown_is_invalid_request() -> None:
    assert parse_algorithm("crc64nvme") is ChecksumAlgorithm.CRC64NVME
    assert new_hasher("Sha1").algorithm is ChecksumAlgorithm.SHA1
    assert ChecksumAlgorithm.CRC32C.header == "x-amz-checksum-crc32c"
    assert algorithm_for_header("x-amz-checksum-sha256") is ChecksumAlgorithm.SHA256
    assert algorithm_for_header("x-amz-checksum-md5") is None
    with pytest.raises(InvalidRequest):
        parse_algorithm("MD5")


def test_given_base64_values_then_decoded_or_invalid_request() -> None:
    assert decode(ChecksumAlgorithm.CRC32, "y/Q5Jg==") == KNOWN[ChecksumAlgorithm.CRC32]
    for bad in ("", "y/Q5", "y/Q5Jg", "!!!!!!==", "AAAAAAAAAAA=", "é"):
        with pytest.raises(InvalidRequest):
            decode(ChecksumAlgorithm.CRC32, bad)


@pytest.mark.parametrize("algorithm", ChecksumAlgorithm)
def test_given_part_checksums_when_composite_then_checksum_of_concatenation_with_count(
    algorithm: ChecksumAlgorithm,
) -> None:
    parts = [b"a" * 5, b"bb" * 7, b"c"]
    digests = [checksum(algorithm, part) for part in parts]
    raw, suffix = composite(algorithm, digests)
    assert raw == checksum(algorithm, b"".join(digests))
    assert suffix == "-3"


def test_given_a_known_multipart_crc32_then_composite_matches_hand_computation() -> None:
    # S3 documents the composite as base64(CRC32(crc1 || crc2)) + "-2".
    first, second = zlib.crc32(b"part one"), zlib.crc32(b"part two")
    joined = first.to_bytes(4, "big") + second.to_bytes(4, "big")
    raw, suffix = composite(
        ChecksumAlgorithm.CRC32, [first.to_bytes(4, "big"), second.to_bytes(4, "big")]
    )
    assert base64.b64encode(raw).decode() + suffix == (
        base64.b64encode(zlib.crc32(joined).to_bytes(4, "big")).decode() + "-2"
    )


@pytest.mark.parametrize(
    "algorithm",
    [ChecksumAlgorithm.CRC32, ChecksumAlgorithm.CRC32C, ChecksumAlgorithm.CRC64NVME],
)
def test_given_part_crcs_when_full_object_then_crc_of_whole_object(
    algorithm: ChecksumAlgorithm,
) -> None:
    rng = random.Random(3)
    parts = [rng.randbytes(n) for n in (1000, 0, 77, 5 * 1024)]
    combined = full_object(algorithm, [(checksum(algorithm, p), len(p)) for p in parts])
    assert combined == checksum(algorithm, b"".join(parts))
    assert full_object(algorithm, []) == checksum(algorithm, b"")


def test_given_sha_or_wrong_sizes_then_multipart_helpers_refuse() -> None:
    with pytest.raises(ValueError):
        full_object(ChecksumAlgorithm.SHA256, [])
    with pytest.raises(ValueError):
        composite(ChecksumAlgorithm.CRC32, [b"12345"])
    with pytest.raises(ValueError):
        full_object(ChecksumAlgorithm.CRC32, [(b"123", 3)])
