"""Open client connections, counted from the kernel's socket table.

Hypercorn tells an ASGI app about requests, not connections, so the gauge is read at scrape
time from /proc/net/tcp{,6}: sockets in state ESTABLISHED whose local port is the listener's.
Linux only; elsewhere the count is 0.
"""

from __future__ import annotations

from pathlib import Path

_ESTABLISHED = "01"
_TABLES = (Path("/proc/self/net/tcp"), Path("/proc/self/net/tcp6"))


def established_connections(port: int, tables: tuple[Path, ...] = _TABLES) -> int:
    suffix = f":{port:04X}"
    count = 0
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # sl local_address rem_address st ...
            if len(fields) > 3 and fields[3] == _ESTABLISHED and fields[1].endswith(suffix):
                count += 1
    return count
