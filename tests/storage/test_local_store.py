"""The local content-addressed store: the shared conformance suite plus its on-disk layout."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import trio

from zas.storage.conformance import CHECKS, check_blob_store
from zas.storage.local import LocalBlobStore


def test_local_store_passes_the_blob_store_conformance_suite(tmp_path: Path) -> None:
    counter = iter(range(1000))

    async def factory() -> LocalBlobStore:
        return LocalBlobStore(tmp_path / f"store{next(counter)}")

    trio.run(check_blob_store, factory)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_each_conformance_check_holds_without_fsync(tmp_path: Path, check: object) -> None:
    async def run() -> None:
        await check(LocalBlobStore(tmp_path, fsync=False))  # type: ignore[operator]

    trio.run(run)


def test_blob_lives_at_its_sha256_address(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    async def put() -> str:
        async with store.open_writer() as writer:
            await writer.write(b"addressed by content")
            return (await writer.commit()).sha256

    digest = trio.run(put)
    expected = hashlib.sha256(b"addressed by content").hexdigest()
    assert digest == expected
    path = tmp_path / "blobs" / "sha256" / expected[:2] / expected
    assert path.read_bytes() == b"addressed by content"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_leftover_temp_files_are_removed_on_request(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    (tmp_path / "tmp" / "crashed-upload.part").write_bytes(b"partial")
    assert trio.run(store.remove_temporaries) == 1
    assert os.listdir(tmp_path / "tmp") == []


def test_non_digest_names_are_never_paths(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert trio.run(store.size_of, "../../etc/passwd") is None
