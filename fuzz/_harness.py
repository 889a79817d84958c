"""Shared plumbing of the fuzz targets: decoding, the S3Error invariant, and `main()`.

The invariant, as in h11's fuzz/afl-server.py: whatever bytes arrive, the protocol code either
parses them or raises an `S3Error` (which the API renders as an S3 error response). Any other
exception escapes the per-input function, and atheris records it as a crash.

Each target's per-input function (`test_one_input(data: bytes) -> None`) splits the bytes
itself, so it behaves the same under atheris, under pytest (tests/fuzz) and when a crash file
is replayed by hand; atheris is imported only inside `main()`.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from zas.protocol.errors import S3Error

P = ParamSpec("P")
T = TypeVar("T")

FUZZ_DIR = Path(__file__).resolve().parent

# Modules whose Python code atheris instruments for coverage feedback: ours, plus the pure
# Python stdlib parsers the protocol code leans on.
_INSTRUMENTED = (
    "zas.",
    "fuzz.",
    "__main__",
    "urllib.parse",
    "base64",
    "email.utils",
    "email._parseaddr",
)


def texts(data: bytes) -> tuple[str, ...]:
    """The input as text, each way it can reach the protocol code.

    latin-1 is what the ASGI adapter (zas/api/s3.py) does with header, path and query bytes;
    UTF-8 with errors="replace" stands for any other str a future adapter could hand over
    (non-Latin-1 characters included). errors="surrogateescape" is deliberately not used:
    lone surrogates cannot come out of the adapter, and every `.encode("utf-8")` in SigV4
    would reject them with UnicodeEncodeError; see fuzz/README.md.
    """
    latin = data.decode("latin-1")
    utf8 = data.decode("utf-8", errors="replace")
    return (latin,) if utf8 == latin else (latin, utf8)


_DIGITS = re.compile(r"[0-9]+")
# CPython refuses int() of a decimal string longer than this (ValueError, since 3.11).
INT_MAX_STR_DIGITS = 4300


def stretch_digits(text: str, *, only_one: bool = False) -> str | None:
    """`text` with its runs of digits repeated past `INT_MAX_STR_DIGITS`, or None if none.

    Numbers (max-keys, X-Amz-Expires, Range positions, dates) are the classic overflow
    surface, but libFuzzer rarely grows a digit run beyond a few dozen bytes, so each target
    also tries this variant of its input. With `only_one`, a single run is stretched (which
    one depends on the text's length), for inputs with many runs such as signed requests.
    """
    runs = list(_DIGITS.finditer(text))
    if not runs:
        return None
    chosen = {len(text) % len(runs)} if only_one else set(range(len(runs)))
    out, end = [], 0
    for index, run in enumerate(runs):
        digits = run.group()
        if index in chosen:
            digits *= INT_MAX_STR_DIGITS // len(digits) + 1
        out += [text[end : run.start()], digits]
        end = run.end()
    return "".join([*out, text[end:]])


def attempt(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """Call `fn`; an `S3Error` is an allowed outcome (None), anything else propagates."""
    try:
        return fn(*args, **kwargs)
    except S3Error:
        return None


def _instrument(atheris: types.ModuleType) -> None:
    done = failed = 0
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and (obj.__module__ or "").startswith(_INSTRUMENTED):
            try:
                atheris.instrument_func(obj)
                done += 1
            except Exception:  # a function atheris cannot patch just runs uninstrumented
                failed += 1
    sys.stderr.write(f"INFO: instrumented {done} functions ({failed} skipped)\n")


def run(test_one_input: Callable[[bytes], None], argv: list[str] | None = None) -> None:
    """Fuzz with atheris (libFuzzer flags and corpus dirs in argv), or replay files.

    When every argument is an existing file, each is run once through `test_one_input` in
    plain Python, without atheris, so a crash reproduces with an ordinary traceback.
    """
    argv = list(sys.argv if argv is None else argv)
    files = argv[1:]
    if files and all(os.path.isfile(name) for name in files):
        for name in files:
            print(f"replaying {name}", flush=True)
            test_one_input(Path(name).read_bytes())
        print(f"{len(files)} input(s) parsed or raised S3Error")
        return
    import atheris  # type: ignore[import-untyped]  # lazily: targets import without it

    _instrument(atheris)
    atheris.Setup(argv, test_one_input, enabled_hooks=["str"])
    atheris.Fuzz()
