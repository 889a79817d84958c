"""Open connections are counted from the kernel's socket table: ESTABLISHED, our port only."""

from __future__ import annotations

import socket
from pathlib import Path

from zas.observability.connections import established_connections

TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2
   2: 0100007F:1F90 0100007F:D432 01 00000000:00000000 00:00000000 00000000     0        0 3
   3: 0100007F:1F90 0100007F:D433 06 00000000:00000000 00:00000000 00000000     0        0 4
   4: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 5
"""


def test_only_established_sockets_on_the_listening_port_count(tmp_path: Path) -> None:
    table = tmp_path / "tcp"
    table.write_text(TABLE)

    # 0x1F90 = 8080: two ESTABLISHED; the listener (0A), a TIME_WAIT (06) and the client's
    # own end (local port 0xD431) do not count.
    assert established_connections(8080, (table,)) == 2
    assert established_connections(8081, (table,)) == 0
    assert established_connections(8080, (tmp_path / "missing",)) == 0


def test_a_real_connection_is_seen() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        before = established_connections(port)
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = listener.accept()
            with accepted:
                during = established_connections(port)

    assert (before, during) == (0, 1)
