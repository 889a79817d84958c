"""An analyst query cancelled at any moment (its timeout, a client gone from /audit/query, a
shutdown) has stopped by the time the call returns: DuckDB ignores an interrupt that arrives
before the statement runs, so one interrupt was not enough, and a query left running held the
connection (its close() failed) and a core. (Found by review.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.auth.test_audit import rec
from zas.auth.audit import AuditLog

# ~15 million joined rows: seconds of work unless interrupted.
SLOW = (
    "SELECT count(*) FROM audit_log a, audit_log b, audit_log c "
    "WHERE hash(a.request_id || b.request_id || c.request_id) = 0"
)


@pytest.mark.parametrize("delay_ms", [0, 1, 2, 3, 5, 8, 13, 21, 40])
def test_a_cancelled_analyst_query_has_stopped_when_the_call_returns(
    tmp_path: Path, delay_ms: int
) -> None:
    async def main() -> None:
        log = AuditLog(tmp_path / "audit.duckdb")
        try:
            for index in range(250):
                log.record(rec(index))
            await log.flush()
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:

                    async def cancel_soon() -> None:
                        await trio.sleep(delay_ms / 1000)
                        scope.cancel()

                    nursery.start_soon(cancel_soon)
                    with trio.fail_after(20):
                        await log.query(SLOW, timeout=60)
            assert scope.cancelled_caught
        finally:
            log.close()  # raises while a query of the connection still runs

    trio.run(main)
