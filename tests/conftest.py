from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.idp.keycloak import Keycloak
from tests.zasproc import ZasProcess

_names = itertools.count()


@pytest.fixture(scope="session")
def zas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZasProcess]:
    """One real `zas serve` shared by the tests that only need a running server."""
    server = ZasProcess(tmp_path_factory.mktemp("shared") / "data").start()
    yield server
    assert server.stop() == 0, server.log()


@pytest.fixture
def fresh_zas(tmp_path: Path) -> Iterator[ZasProcess]:
    """A server of the test's own, for restarts, crashes and on-disk checks."""
    server = ZasProcess(tmp_path / "data")
    yield server
    if server.process is not None:
        server.stop()


@pytest.fixture
def s3(zas: ZasProcess) -> Any:
    return zas.client()


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    """A new, empty bucket named after the test."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40].strip("-")
    name = f"t{next(_names)}-{stem}".rstrip("-")
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keycloak]:
    """One real Keycloak for the whole session: realm zas (tests/idp/realm-zas.json) on a free
    127.0.0.1 port, issuer `keycloak.issuer`; users, clients and roles are the constants of
    tests/idp/keycloak.py. Installed by scripts/install-keycloak.sh (run here if missing)."""
    idp = Keycloak.start(tmp_path_factory.mktemp("keycloak"))
    yield idp
    idp.stop()
