"""What every DuckDB file of ZAS needs: ordered migrations, and a cursor per worker thread.

Used by the metadata database (zas.meta) and the audit log (zas.auth.audit), which are
separate files so that audit writes never wait behind a metadata commit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any


def migrate(connection: Any, migrations: Sequence[Sequence[str]], *, what: str) -> int:
    """Bring the database to version len(migrations), each migration in one transaction with
    its version bump (a crash mid-migration leaves the previous version intact); returns the
    version found. A database newer than this code is refused. Add migrations; never edit one
    that has shipped."""
    latest = len(migrations)
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    found = int(row[0]) if row and row[0] is not None else 0
    if found > latest:
        raise RuntimeError(
            f"the {what} has schema version {found}, newer than this ZAS ({latest}); "
            "refusing to open it"
        )
    for version in range(found + 1, latest + 1):
        connection.execute("BEGIN TRANSACTION")
        try:
            for statement in migrations[version - 1]:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_version VALUES (?)", [version])
            connection.execute("COMMIT")
        except Exception:
            connection.execute("ROLLBACK")
            raise
    return found


class ThreadCursors:
    """One cursor per worker thread over a shared connection (DuckDB connections are not
    safe to share between threads; their cursors are independent connections)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._local = threading.local()

    def cursor(self) -> Any:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._connection.cursor()
            self._local.cursor = cursor
        return cursor

    def memory_bytes(self) -> int:
        """Bytes DuckDB holds in memory for this database (all of its tags)."""
        rows = self.query("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()", [])
        return int(rows[0][0])

    def query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.cursor().execute(sql, params).fetchall()
        return rows
