"""The small-request load generator: several processes, each driving many keep-alive
connections from one selector loop, with every request pre-signed before the clock starts.

Each connection has one request in flight (no pipelining), so `connections` is the
concurrency. Latency is measured per request from send to the last byte of the response."""

from __future__ import annotations

import multiprocessing
import os
import queue
import selectors
import socket
import time
from typing import Any

import attrs

from bench.http1 import Endpoint, Head, body_complete, parse_head, request_head


@attrs.frozen
class LoadJob:
    method: str  # GET or PUT
    keys: list[list[str]]  # per connection, the paths it requests in turn
    body_size: int = 0  # PUT bodies; each one starts with a unique counter (no dedup)
    cycle: bool = True  # cycle the keys for warmup + duration, else send each once
    warmup: float = 0.0
    duration: float = 0.0
    signed: bool = True  # False: no Authorization at all (anonymous requests)


@attrs.frozen
class LoadResult:
    ok: int
    errors: int
    elapsed: float
    latencies: list[float]  # seconds, sorted
    error_sample: str = ""

    @property
    def ops_per_s(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        index = min(len(self.latencies) - 1, round(p / 100 * (len(self.latencies) - 1)))
        return self.latencies[index]


@attrs.define
class _Connection:
    sock: socket.socket
    heads: list[bytes]
    index: int = 0
    sent_at: float = 0.0
    buffer: bytearray = attrs.Factory(bytearray)
    head: Head | None = None


def _body(base: bytes, counter: int) -> bytes:
    if not base:
        return b""
    return (counter.to_bytes(16, "big") + base[16:])[: len(base)]


def _worker(
    endpoint: Endpoint,
    job: LoadJob,
    conn_keys: list[list[str]],
    worker_id: int,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    signer = endpoint.signer() if job.signed else None
    length = job.body_size if job.method in ("PUT", "POST") else None
    conns = [
        _Connection(
            endpoint.connect(),
            [request_head(endpoint, signer, job.method, key, None, length) for key in keys],
        )
        for keys in conn_keys
        if keys
    ]
    base = os.urandom(job.body_size) if length else b""
    counter = worker_id << 48
    ready.put(worker_id)
    start.wait()
    begin = time.perf_counter()
    measure_from = begin + job.warmup
    stop_at = measure_from + job.duration
    latencies: list[float] = []
    errors = 0
    error_sample = ""
    last_done = begin
    selector = selectors.DefaultSelector()

    def send(conn: _Connection) -> None:
        nonlocal counter
        counter += 1
        conn.sent_at = time.perf_counter()
        conn.sock.sendall(conn.heads[conn.index % len(conn.heads)] + _body(base, counter))
        conn.index += 1

    for conn in conns:
        send(conn)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    active = len(conns)
    while active:
        for key, _ in selector.select(timeout=30):
            conn = key.data
            data = conn.sock.recv(262144)
            if not data:
                raise ConnectionError(f"server closed a connection ({endpoint.authority})")
            conn.buffer += data
            if conn.head is None:
                conn.head = parse_head(conn.buffer)
                if conn.head is None:
                    continue
            total = body_complete(conn.head, conn.buffer, job.method)
            if total is None:
                continue
            now = time.perf_counter()
            head = conn.head
            if head.status >= 300:
                errors += 1
                if not error_sample:
                    error_sample = f"{head.status} {bytes(conn.buffer[head.end : total])[:300]!r}"
            elif conn.sent_at >= measure_from and (now <= stop_at or not job.cycle):
                latencies.append(now - conn.sent_at)
                last_done = now
            del conn.buffer[:total]
            conn.head = None
            if head.headers.get("connection", "").lower() == "close":
                selector.unregister(conn.sock)
                conn.sock.close()
                conn.sock = endpoint.connect()
                selector.register(conn.sock, selectors.EVENT_READ, conn)
            more = now < stop_at if job.cycle else conn.index < len(conn.heads)
            if more:
                send(conn)
            else:
                selector.unregister(conn.sock)
                conn.sock.close()
                active -= 1
    elapsed = job.duration if job.cycle else last_done - begin
    results.put((worker_id, len(latencies), errors, elapsed, latencies, error_sample))


def run_load(endpoint: Endpoint, job: LoadJob, processes: int) -> LoadResult:
    """Spread the job's connections over `processes` workers, start them together, merge."""
    processes = max(1, min(processes, len(job.keys)))
    shares: list[list[list[str]]] = [[] for _ in range(processes)]
    for index, keys in enumerate(job.keys):
        shares[index % processes].append(keys)
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    workers = [
        context.Process(
            target=_worker,
            args=(endpoint, job, share, worker_id, ready, start, results),
            daemon=True,
        )
        for worker_id, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=120)
        start.set()
        limit = job.warmup + job.duration + 120 if job.cycle else 3600
        merged = [results.get(timeout=limit) for _ in workers]
    except queue.Empty as exc:
        dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
        raise RuntimeError(f"load generator workers failed or stalled (exit codes {dead})") from exc
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    latencies = sorted(lat for item in merged for lat in item[4])
    return LoadResult(
        ok=sum(item[1] for item in merged),
        errors=sum(item[2] for item in merged),
        elapsed=max(item[3] for item in merged),
        latencies=latencies,
        error_sample=next((item[5] for item in merged if item[5]), ""),
    )
