"""The machine's own limits, measured in the same run as the servers: one core's MD5 and
SHA-256, a large write made durable with fdatasync on the data directory's filesystem, and a
TCP copy over loopback between two processes."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import socket
import time
from pathlib import Path
from typing import Any

MIB = 1 << 20


def hash_rate(name: str, buffer_size: int, seconds: float) -> float:
    """MB/s of one hashlib object fed `buffer_size` buffers for about `seconds`."""
    data = os.urandom(buffer_size)
    digest = hashlib.new(name)
    done = 0
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        digest.update(data)
        done += buffer_size
    return done / (time.perf_counter() - begin) / 1e6


def disk_write_rate(directory: Path, size: int) -> float:
    """MB/s of writing `size` bytes in 8 MiB writes and fdatasync-ing them."""
    chunk = os.urandom(8 * MIB)
    path = directory / "bench-disk-probe"
    begin = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size // len(chunk)):
            os.write(fd, chunk)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - begin
    path.unlink()
    return size / elapsed / 1e6


def _sink(port_out: Any, size: int) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port_out.send(listener.getsockname()[1])
        conn, _ = listener.accept()
        with conn:
            buffer = memoryview(bytearray(MIB))
            remaining = size
            while remaining:
                got = conn.recv_into(buffer, min(MIB, remaining))
                if not got:
                    break
                remaining -= got
            conn.sendall(b"k")


def loopback_rate(size: int) -> float:
    """MB/s of `size` bytes sent 1 MiB at a time to another process over 127.0.0.1."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    sink = context.Process(target=_sink, args=(child_end, size), daemon=True)
    sink.start()
    port = parent_end.recv()
    chunk = memoryview(os.urandom(MIB))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        begin = time.perf_counter()
        for _ in range(size // MIB):
            sock.sendall(chunk)
        sock.recv(1)
        elapsed = time.perf_counter() - begin
    sink.join(10)
    return size / elapsed / 1e6


def measure(directory: Path, quick: bool) -> dict[str, float]:
    buffer = (8 if quick else 64) * MIB
    seconds = 0.2 if quick else 1.5
    return {
        "md5_MBps": hash_rate("md5", buffer, seconds),
        "sha256_MBps": hash_rate("sha256", buffer, seconds),
        "disk_fsync_MBps": disk_write_rate(directory, (64 if quick else 1024) * MIB),
        "loopback_MBps": loopback_rate((256 if quick else 4096) * MIB),
    }
