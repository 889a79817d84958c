"""Large transfers on one connection: a single-stream PUT and GET of one big object, and a
multipart upload with parts sent by several threads (socket calls release the GIL).

Bodies come from a random buffer with a unique nonce stamped into every MiB, so no server can
deduplicate or compress its way out of the work."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Iterator

import attrs

from bench.http1 import Endpoint, exchange, read_response, request_head

MIB = 1 << 20
_POOL = 64 * MIB


class Unsupported(Exception):
    """The server refused the operation as not implemented."""


@attrs.frozen
class Transfer:
    nbytes: int
    elapsed: float
    md5: str = ""

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / self.elapsed / 1e6


class Payload:
    """`size` bytes of unique content, produced one MiB at a time without holding them all."""

    def __init__(self, size: int, nonce: int) -> None:
        self.size = size
        self.nonce = nonce
        self._pool = bytearray(os.urandom(min(_POOL, max(size, MIB))))

    def chunks(self, offset: int = 0, length: int | None = None) -> Iterator[memoryview]:
        """The MiB chunks covering [offset, offset+length) (offset MiB-aligned), stamped in
        place in the pool: send each before asking for the next, and give each thread its
        own copy()."""
        end = self.size if length is None else offset + length
        view = memoryview(self._pool)
        for start in range(offset, end, MIB):
            at = start % len(self._pool)
            self._pool[at : at + 16] = ((self.nonce << 64) | start).to_bytes(16, "big")
            yield view[at : at + min(MIB, end - start)]

    def copy(self) -> Payload:
        twin = Payload.__new__(Payload)
        twin.size, twin.nonce, twin._pool = self.size, self.nonce, bytearray(self._pool)
        return twin


def put_object(endpoint: Endpoint, path: str, payload: Payload, digest: bool = False) -> Transfer:
    md5 = hashlib.md5() if digest else None
    with endpoint.connect() as sock:
        head = request_head(endpoint, endpoint.signer(), "PUT", path, None, payload.size)
        begin = time.perf_counter()
        sock.sendall(head)
        for chunk in payload.chunks():
            sock.sendall(chunk)
            if md5 is not None:
                md5.update(chunk)
        response = read_response(sock, "PUT")
        elapsed = time.perf_counter() - begin
    if response.status != 200:
        raise RuntimeError(f"PUT {path}: {response.status} {response.body[:300]!r}")
    return Transfer(payload.size, elapsed, md5.hexdigest() if md5 else "")


def get_object(endpoint: Endpoint, path: str, size: int, digest: bool = False) -> Transfer:
    with endpoint.connect() as sock:
        head = request_head(endpoint, endpoint.signer(), "GET", path)
        begin = time.perf_counter()
        sock.sendall(head)
        response = read_response(sock, "GET", keep_body=digest)
        elapsed = time.perf_counter() - begin
    if response.status != 200 or response.body_length != size:
        raise RuntimeError(f"GET {path}: {response.status}, {response.body_length} of {size} bytes")
    md5 = hashlib.md5(response.body).hexdigest() if digest else ""
    return Transfer(size, elapsed, md5)


def multipart_upload(
    endpoint: Endpoint, path: str, payload: Payload, part_size: int, concurrency: int
) -> Transfer:
    copies = [payload.copy() for _ in range(concurrency)]
    begin = time.perf_counter()
    with endpoint.connect() as sock:
        created = exchange(endpoint, sock, "POST", path, {"uploads": ""})
    if created.status in (501, 405) or b"NotImplemented" in created.body:
        raise Unsupported(f"CreateMultipartUpload answered {created.status}")
    match = re.search(rb"<UploadId>([^<]+)</UploadId>", created.body)
    if created.status != 200 or match is None:
        raise RuntimeError(f"CreateMultipartUpload: {created.status} {created.body[:300]!r}")
    upload_id = match.group(1).decode()
    numbers = list(range(1, -(-payload.size // part_size) + 1))
    etags: dict[int, str] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def uploader(own: Payload) -> None:
        try:
            upload_parts(own)
        except Exception as exc:  # reported by the caller, not lost in the thread
            with lock:
                failures.append(f"UploadPart: {exc!r}")

    def upload_parts(own: Payload) -> None:
        conn = endpoint.connect()
        signer = endpoint.signer()
        try:
            while True:
                with lock:
                    if not numbers or failures:
                        return
                    number = numbers.pop(0)
                offset = (number - 1) * part_size
                length = min(part_size, payload.size - offset)
                query = {"partNumber": str(number), "uploadId": upload_id}
                conn.sendall(request_head(endpoint, signer, "PUT", path, query, length))
                for chunk in own.chunks(offset, length):
                    conn.sendall(chunk)
                response = read_response(conn, "PUT")
                if not response.keep_alive:  # moto closes after every response
                    conn.close()
                    conn = endpoint.connect()
                with lock:
                    if response.status != 200:
                        failures.append(f"UploadPart {number}: {response.status}")
                    etags[number] = response.headers.get("etag", "")
        finally:
            conn.close()

    threads = [threading.Thread(target=uploader, args=(own,)) for own in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(failures[0])
    parts = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>" for n in sorted(etags)
    )
    body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
    with endpoint.connect() as sock:
        done = exchange(endpoint, sock, "POST", path, {"uploadId": upload_id}, body)
    elapsed = time.perf_counter() - begin
    if done.status != 200 or b"<Error>" in done.body:
        raise RuntimeError(f"CompleteMultipartUpload: {done.status} {done.body[:300]!r}")
    return Transfer(payload.size, elapsed)
