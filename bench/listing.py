"""ListObjectsV2 over a large bucket: filled once with the concurrent load generator, then
walked page by page (each page needs the previous page's continuation token)."""

from __future__ import annotations

import html
import re
import time

import attrs

from bench.http1 import Endpoint, exchange
from bench.loadgen import LoadJob, LoadResult, run_load


@attrs.frozen
class Walk:
    pages: int
    keys: int
    elapsed: float

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.elapsed


def fill(
    endpoint: Endpoint, bucket: str, count: int, connections: int, processes: int
) -> LoadResult:
    """PUT `count` empty objects `k/0000000`... as fast as the load generator can."""
    keys = [f"/{bucket}/k/{i:07d}" for i in range(count)]
    per_conn = [keys[i::connections] for i in range(connections)]
    result = run_load(endpoint, LoadJob("PUT", per_conn, body_size=0, cycle=False), processes)
    if result.errors:
        raise RuntimeError(f"filling {bucket}: {result.errors} errors, e.g. {result.error_sample}")
    return result


def walk(endpoint: Endpoint, bucket: str, page_size: int, expected: int) -> Walk:
    token = ""
    pages = keys = 0
    sock = endpoint.connect()
    try:
        begin = time.perf_counter()
        while True:
            query = {"list-type": "2", "max-keys": str(page_size), "prefix": "k/"}
            if token:
                query["continuation-token"] = token
            response = exchange(endpoint, sock, "GET", f"/{bucket}", query)
            if not response.keep_alive:  # moto (werkzeug) closes after every response
                sock.close()
                sock = endpoint.connect()
            if response.status != 200:
                raise RuntimeError(f"ListObjectsV2: {response.status} {response.body[:300]!r}")
            pages += 1
            keys += response.body.count(b"<Key>")
            match = re.search(
                rb"<NextContinuationToken>([^<]+)</NextContinuationToken>", response.body
            )
            if match is None or b"<IsTruncated>true</IsTruncated>" not in response.body:
                break
            token = html.unescape(match.group(1).decode())
        elapsed = time.perf_counter() - begin
    finally:
        sock.close()
    if keys != expected:
        raise RuntimeError(f"ListObjectsV2 walk saw {keys} keys, expected {expected}")
    return Walk(pages, keys, elapsed)
