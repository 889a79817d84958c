"""`zas.protocol.__all__` is exactly the facade (as httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import inspect
import types
import typing

import zas.protocol
from zas.protocol import errors, operations


def _public_names() -> set[str]:
    # Submodules (zas.protocol.sigv4, ...) become attributes when imported; they are reached
    # by their dotted names, not through the facade.
    return {
        name
        for name, value in vars(zas.protocol).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def test_every_name_in_all_exists() -> None:
    missing = [name for name in zas.protocol.__all__ if not hasattr(zas.protocol, name)]

    assert missing == []


def test_every_public_name_of_the_facade_is_in_all() -> None:
    assert sorted(_public_names() - set(zas.protocol.__all__)) == []


def test_all_has_no_duplicates() -> None:
    assert len(zas.protocol.__all__) == len(set(zas.protocol.__all__))


def test_every_s3_error_is_exported() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.S3Error)
    }

    assert sorted(defined - set(zas.protocol.__all__)) == []


def test_every_operation_route_returns_is_exported() -> None:
    returned = {cls.__name__ for cls in typing.get_args(operations.Operation)}

    assert len(returned) > 1
    assert sorted(returned - set(zas.protocol.__all__)) == []


def test_exported_names_are_the_submodules_own_objects() -> None:
    # a facade name shadowing (or re-implementing) a submodule's would drift from it
    assert zas.protocol.route is operations.route
    assert zas.protocol.S3Error is errors.S3Error
    foreign = [
        name
        for name in zas.protocol.__all__
        if (inspect.isclass(value := getattr(zas.protocol, name)) or inspect.isfunction(value))
        and not value.__module__.startswith("zas.protocol.")
    ]
    assert foreign == []


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from zas.protocol import *", namespace)

    assert set(namespace) - {"__builtins__"} == set(zas.protocol.__all__)
