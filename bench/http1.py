"""Bare HTTP/1.1 over a blocking socket: build a request head, read one response.

http.client costs tens of microseconds per request in Python; this keeps the client's share of
a 2-core machine small. Enough HTTP for the servers measured here: Content-Length or chunked
bodies, keep-alive, `Connection: close` honoured by the caller reconnecting."""

from __future__ import annotations

import socket

import attrs

from bench.sigv4 import Signer, query_string

RECV_SIZE = 1 << 20


@attrs.frozen
class Endpoint:
    host: str
    port: int
    access_key: str
    secret_key: str

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def signer(self) -> Signer:
        return Signer(self.access_key, self.secret_key)

    def connect(self, timeout: float = 120.0) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def request_head(
    endpoint: Endpoint,
    signer: Signer | None,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    content_length: int | None = None,
) -> bytes:
    """The request line and headers; `signer=None` sends it unsigned (anonymous)."""
    headers = (
        signer.headers(method, endpoint.authority, path, query)
        if signer is not None
        else {"Host": endpoint.authority}
    )
    if content_length is not None:
        headers["Content-Length"] = str(content_length)
    lines = [f"{method} {path}{query_string(query)} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@attrs.define
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    body_length: int  # bytes received, also when the body was discarded

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


@attrs.define
class Head:
    status: int
    headers: dict[str, str]
    end: int  # offset of the body in the buffer


def parse_head(buffer: bytes | bytearray) -> Head | None:
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Head(status, headers, end + 4)


def body_complete(head: Head, buffer: bytes | bytearray, method: str) -> int | None:
    """Total length of the response in `buffer` once complete, else None."""
    if method == "HEAD" or head.status in (204, 304) or 100 <= head.status < 200:
        return head.end
    length = head.headers.get("content-length")
    if length is not None:
        total = head.end + int(length)
        return total if len(buffer) >= total else None
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        return len(buffer) if buffer.endswith(b"0\r\n\r\n") else None
    return None  # read-until-close: not used by the servers measured here


def dechunk(raw: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        line_end = raw.index(b"\r\n", pos)
        size = int(raw[pos:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += raw[line_end + 2 : line_end + 2 + size]
        pos = line_end + 2 + size + 2


def read_response(sock: socket.socket, method: str, keep_body: bool = True) -> Response:
    """Read one response. With keep_body=False a Content-Length body is counted and dropped,
    which is how a 1 GiB GET is read without the client holding it."""
    buffer = bytearray()
    head = None
    while head is None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection before answering")
        buffer += chunk
        head = parse_head(buffer)
    length = head.headers.get("content-length")
    if not keep_body and length is not None:
        remaining = int(length) - (len(buffer) - head.end)
        scratch = memoryview(bytearray(RECV_SIZE))
        while remaining > 0:
            got = sock.recv_into(scratch, min(RECV_SIZE, remaining))
            if not got:
                raise ConnectionError("server closed the connection mid-body")
            remaining -= got
        return Response(head.status, head.headers, b"", int(length))
    total = body_complete(head, buffer, method)
    while total is None:
        chunk = sock.recv(RECV_SIZE)
        if not chunk:
            raise ConnectionError("server closed the connection mid-body")
        buffer += chunk
        total = body_complete(head, buffer, method)
    body = bytes(buffer[head.end : total])
    if length is None and "chunked" in head.headers.get("transfer-encoding", "").lower():
        body = dechunk(body)
    return Response(head.status, head.headers, body, len(body))


def exchange(
    endpoint: Endpoint,
    sock: socket.socket,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    body: bytes = b"",
    signed: bool = True,
) -> Response:
    """One request (signed unless `signed=False`) with a small body on an open connection."""
    head = request_head(
        endpoint,
        endpoint.signer() if signed else None,
        method,
        path,
        query,
        content_length=len(body) if body or method in ("PUT", "POST") else None,
    )
    sock.sendall(head + body)
    return read_response(sock, method)
