"""Extra digests computed while a blob streams in: the S3 flexible-checksum algorithms that the
standard library provides (CRC32 via zlib, SHA-1 via hashlib). SHA-256 and MD5 are always
computed by the writer itself. Runs in the writer's worker thread, beside the file write.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection

SUPPORTED = frozenset({"crc32", "sha1"})


class Checksummer:
    def __init__(self, algorithms: Collection[str]) -> None:
        unknown = set(algorithms) - SUPPORTED
        if unknown:
            raise ValueError(f"unsupported checksum algorithms: {sorted(unknown)}")
        self._crc32: int | None = 0 if "crc32" in algorithms else None
        self._sha1 = hashlib.sha1(usedforsecurity=False) if "sha1" in algorithms else None

    @classmethod
    def for_algorithms(cls, algorithms: Collection[str]) -> Checksummer | None:
        wanted = set(algorithms) - {"sha256", "md5"}  # the writer computes those anyway
        return cls(wanted) if wanted else None

    def update(self, data: bytes) -> None:
        if self._crc32 is not None:
            self._crc32 = zlib.crc32(data, self._crc32)
        if self._sha1 is not None:
            self._sha1.update(data)

    def digests(self) -> tuple[tuple[str, bytes], ...]:
        out = []
        if self._crc32 is not None:
            out.append(("crc32", self._crc32.to_bytes(4, "big")))
        if self._sha1 is not None:
            out.append(("sha1", self._sha1.digest()))
        return tuple(out)
