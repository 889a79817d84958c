"""Modules imported on first use.

The cryptography stack (cryptography, joserfc) adds ~10 MB to the server's RSS, and a server
without single sign-on or supply-chain keys never needs it; the memory budget during large
transfers is 150 MB (DESIGN.md). Callers keep real imports under TYPE_CHECKING for the types.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)
