"""Tests for zas.observability: metrics, logs, tracing, and the deploy/ files built on them."""

from __future__ import annotations

import os
import shutil

import pytest


def promtool() -> str:
    """Path of `promtool` (Debian package `prometheus`, installed by scripts/install-test-tools.sh).

    Skips when it is absent on a developer machine; in CI (CI=true) its absence is a failure,
    so a broken install step cannot turn the lint into a silent skip.
    """
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing in CI: scripts/install-test-tools.sh installs it")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return path
