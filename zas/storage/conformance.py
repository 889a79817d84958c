"""The conformance suite every blob store passes, as trio's `check_one_way_stream`.

`await check_blob_store(factory)` runs each check against a fresh store from `factory` and
raises AssertionError naming the broken rule. Used by tests/storage for each backend.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Awaitable, Callable

from zas.storage.base import BlobNotFound, BlobStore

StoreFactory = Callable[[], Awaitable[BlobStore]]


async def _read_all(store: BlobStore, sha256: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(sha256, start, end)])


async def _put(store: BlobStore, *chunks: bytes) -> str:
    async with store.open_writer() as writer:
        for chunk in chunks:
            await writer.write(chunk)
        info = await writer.commit()
    return info.sha256


async def check_round_trip_and_digests(store: BlobStore) -> None:
    data = bytes(range(256)) * 12289 + b"tail"  # ~3 MiB: several write buffers, odd length
    async with store.open_writer() as writer:
        for offset in range(0, len(data), 65536):
            await writer.write(data[offset : offset + 65536])
        info = await writer.finish()
        assert info.sha256 == hashlib.sha256(data).hexdigest(), "sha256 of streamed bytes"
        assert info.md5 == hashlib.md5(data).hexdigest(), "md5 of streamed bytes"
        assert info.size == len(data), "size of streamed bytes"
        assert await store.size_of(info.sha256) is None, "finished but uncommitted is invisible"
        await writer.commit()
    assert await _read_all(store, info.sha256) == data, "read returns the bytes written"
    assert await store.size_of(info.sha256) == len(data)
    assert info.sha256 in await store.list_digests()


async def check_chunks_of_any_size(store: BlobStore) -> None:
    """Chunks that straddle a store's internal buffers, and one chunk larger than several."""
    data = os.urandom(5 * 1024 * 1024 + 12345)
    sizes = [1, 100_003, 1024 * 1024 - 7, 3 * 1024 * 1024 + 9, 65536]
    chunks, offset = [], 0
    for size in sizes:
        chunks.append(data[offset : offset + size])
        offset += size
    chunks.append(data[offset:])
    async with store.open_writer(["crc32"]) as writer:
        for chunk in chunks:
            await writer.write(chunk)
        info = await writer.commit()
    assert info.sha256 == hashlib.sha256(data).hexdigest(), "sha256 across odd chunks"
    assert info.md5 == hashlib.md5(data).hexdigest(), "md5 across odd chunks"
    assert info.checksum("crc32") == zlib.crc32(data).to_bytes(4, "big"), "crc32 across odd chunks"
    assert info.size == len(data), "size across odd chunks"
    assert await _read_all(store, info.sha256) == data, "bytes across odd chunks"


async def check_extra_checksums(store: BlobStore) -> None:
    data = b"checksum me" * 100000
    async with store.open_writer(["crc32", "sha1"]) as writer:
        await writer.write(data)
        info = await writer.commit()
    assert info.checksum("crc32") == zlib.crc32(data).to_bytes(4, "big"), "crc32"
    assert info.checksum("sha1") == hashlib.sha1(data).digest(), "sha1"


async def check_empty_blob(store: BlobStore) -> None:
    digest = await _put(store)
    assert digest == hashlib.sha256(b"").hexdigest()
    assert await _read_all(store, digest) == b""


async def check_ranges(store: BlobStore) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    digest = await _put(store, data)
    for start, end in [
        (0, 1),
        (5, 10),
        (1048575, 1048577),
        (len(data) - 3, len(data)),
        (0, len(data)),
    ]:
        assert await _read_all(store, digest, start, end) == data[start:end], (start, end)
    assert await _read_all(store, digest, 100) == data[100:], "open-ended read"


async def check_uncommitted_write_leaves_nothing(store: BlobStore) -> None:
    before = set(await store.list_digests())
    async with store.open_writer() as writer:
        await writer.write(b"never committed")
        await writer.finish()
    try:
        async with store.open_writer() as writer:
            await writer.write(b"failed half way" * 100000)
            raise _Abort()
    except _Abort:
        pass
    assert set(await store.list_digests()) == before, "no blob from uncommitted writes"
    assert await store.remove_temporaries() == 0, "writers clean their own temp files"


async def check_identical_content_stored_once(store: BlobStore) -> None:
    first = await _put(store, b"same bytes")
    second = await _put(store, b"same ", b"bytes")
    assert first == second
    assert (await store.list_digests()).count(first) == 1
    assert await _read_all(store, first) == b"same bytes"


async def check_delete(store: BlobStore) -> None:
    digest = await _put(store, b"to be deleted")
    assert store.delete_now(digest) == len(b"to be deleted")
    assert await store.size_of(digest) is None
    assert digest not in await store.list_digests()
    assert store.delete_now(digest) == 0  # deleting twice is harmless
    try:
        await _read_all(store, digest)
    except BlobNotFound:
        pass
    else:
        raise AssertionError("reading a deleted blob raises BlobNotFound")


async def check_delete_many(store: BlobStore) -> None:
    first = await _put(store, b"first to go")
    second = await _put(store, b"second to go" * 1000)
    kept = await _put(store, b"kept")
    freed = await store.delete([first, second])
    assert freed == len(b"first to go") + len(b"second to go" * 1000), "delete: bytes freed"
    assert await store.size_of(first) is None and await store.size_of(second) is None
    assert await store.delete([first, second]) == 0, "deleting twice frees nothing"
    assert await _read_all(store, kept) == b"kept", "delete leaves other blobs alone"


class _Abort(Exception):
    pass


CHECKS = (
    check_round_trip_and_digests,
    check_chunks_of_any_size,
    check_empty_blob,
    check_extra_checksums,
    check_ranges,
    check_uncommitted_write_leaves_nothing,
    check_identical_content_stored_once,
    check_delete,
    check_delete_many,
)


async def check_blob_store(factory: StoreFactory) -> None:
    for check in CHECKS:
        await check(await factory())
