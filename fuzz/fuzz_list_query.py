"""Fuzz target: the ListObjects query (`zas.protocol.http.parse_query`, `zas.protocol.operations`).

The input is a raw query string, e.g. `list-type=2&prefix=a%2F&delimiter=%2F&max-keys=10`.
Each decoding of it (latin-1 as the ASGI adapter does, UTF-8 with "replace") is split by
`parse_query`, read by `parse_list_params` as a v1 and as a v2 listing, and routed as
`GET /bucket?<query>`; so is the query with its digit runs stretched past CPython's
4300-digit `int()` limit.

Invariant: each step returns or raises an `S3Error`; `route` gives a ListObjects with the
parameters `parse_list_params` gives for the same query, or, for `?uploads`, a
ListMultipartUploads with max-uploads in 0..1000 (or GetBucketLocation / GetBucketVersioning
for `?location` / `?versioning`).
"""

from __future__ import annotations

from typing import Literal

from fuzz._harness import attempt, run, stretch_digits, texts
from zas.protocol.http import HttpRequest, parse_query
from zas.protocol.operations import (
    MAX_KEYS_LIMIT,
    MAX_UPLOADS_LIMIT,
    GetBucketLocation,
    GetBucketVersioning,
    ListMultipartUploads,
    ListObjects,
    ListParams,
    parse_list_params,
    route,
)


def _check_params(params: ListParams, version: Literal[1, 2]) -> None:
    assert 0 <= params.max_keys <= MAX_KEYS_LIMIT
    assert params.encoding_type in (None, "url")
    if version == 1:
        assert params.continuation_token is None and params.start_after is None
        assert params.after == (params.marker or "")
    else:
        assert params.marker is None


def check(query_string: str) -> None:
    pairs, bare = parse_query(query_string)
    assert bare <= {name for name, _ in pairs}
    by_version: dict[int, ListParams | None] = {}
    for version in (1, 2):
        params = attempt(parse_list_params, pairs, version)
        if params is not None:
            _check_params(params, version)
        by_version[version] = params
    operation = attempt(route, HttpRequest.from_wire("GET", "/bucket", query_string, []))
    if isinstance(operation, ListObjects):
        assert operation.bucket == "bucket"
        assert operation.params == by_version[operation.version]
    elif isinstance(operation, ListMultipartUploads):
        assert 0 <= operation.max_uploads <= MAX_UPLOADS_LIMIT
        assert operation.key_marker or not operation.upload_id_marker
    else:
        bucket_reads = (GetBucketLocation, GetBucketVersioning)
        assert operation is None or isinstance(operation, bucket_reads), operation


def test_one_input(data: bytes) -> None:
    for text in texts(data):
        check(text)
        if (long := stretch_digits(text)) is not None:
            check(long)


def main() -> None:
    run(test_one_input)


if __name__ == "__main__":
    main()
