"""Extra digests computed while a blob streams in: any S3 flexible-checksum algorithm
(CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256; see zas.protocol.checksum_algorithms). MD5 and
SHA-256 are always computed by the writer itself. Runs in the writer's worker thread, beside
the file write; every implementation releases the GIL on large buffers.
"""

from __future__ import annotations

from collections.abc import Collection

from zas.protocol.checksum_algorithms import Hasher, new_hasher, parse_algorithm


class Checksummer:
    def __init__(self, algorithms: Collection[str]) -> None:
        # parse_algorithm refuses unknown names, so a typo cannot silently skip a check.
        self._hashers: dict[str, Hasher] = {
            parse_algorithm(name).value.lower(): new_hasher(name) for name in sorted(algorithms)
        }

    @classmethod
    def for_algorithms(cls, algorithms: Collection[str]) -> Checksummer | None:
        wanted = {name.lower() for name in algorithms} - {"sha256", "md5"}
        return cls(wanted) if wanted else None

    def update(self, data: bytes | bytearray) -> None:
        for hasher in self._hashers.values():
            hasher.update(data)

    def digests(self) -> tuple[tuple[str, bytes], ...]:
        return tuple((name, hasher.digest()) for name, hasher in self._hashers.items())
