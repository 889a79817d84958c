"""Each fuzz target's per-input function over its seeds and random bytes, without atheris.

A smoke test, not fuzzing: it keeps the targets importable and runnable in the ordinary
suite, and catches a parser regression on the committed seeds. Real fuzzing: fuzz/README.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz import (
    fuzz_chunked,
    fuzz_evidence,
    fuzz_iam_policy,
    fuzz_list_query,
    fuzz_range,
    fuzz_sigv4,
    fuzz_xml_bodies,
)
from fuzz._harness import FUZZ_DIR

TARGETS: dict[str, Callable[[bytes], None]] = {
    "sigv4": fuzz_sigv4.test_one_input,
    "range": fuzz_range.test_one_input,
    "list_query": fuzz_list_query.test_one_input,
    "chunked": fuzz_chunked.test_one_input,
    "xml_bodies": fuzz_xml_bodies.test_one_input,
    "iam_policy": fuzz_iam_policy.test_one_input,
    "evidence": fuzz_evidence.test_one_input,
}
RANDOM_INPUTS = 300


def _seeds(target: str) -> list[Path]:
    return sorted(p for p in (FUZZ_DIR / "seeds" / target).iterdir() if p.is_file())


def _mutants(seeds: list[bytes], rng: random.Random) -> list[bytes]:
    """Random bytes, and seeds with a few bytes flipped, cut or repeated."""
    out = [rng.randbytes(rng.randrange(64)) for _ in range(RANDOM_INPUTS)]
    for _ in range(RANDOM_INPUTS):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            where = rng.randrange(len(data) + 1)
            action = rng.randrange(3)
            if action == 0 and data:
                data[min(where, len(data) - 1)] = rng.randrange(256)
            elif action == 1:
                del data[where : where + rng.randrange(8)]
            else:
                data[where:where] = data[where : where + rng.randrange(1, 8)] * rng.randrange(1, 4)
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_seeds_parse_or_raise_s3_error(target: str) -> None:
    seeds = _seeds(target)
    assert len(seeds) >= 3
    for path in seeds:
        TARGETS[target](path.read_bytes())


@pytest.mark.parametrize("target", TARGETS)
def test_random_inputs_parse_or_raise_s3_error(target: str) -> None:
    rng = random.Random(0)
    for data in _mutants([p.read_bytes() for p in _seeds(target)], rng):
        TARGETS[target](data)


def test_sigv4_seeds_verify() -> None:
    """The botocore-signed seeds verify, so fuzzing starts from the success path."""
    for path in _seeds("sigv4"):
        request = fuzz_sigv4.request_from_text(path.read_bytes().decode("latin-1"))
        verified = fuzz_sigv4.check(request)
        assert verified is not None, path.name
