"""Resident memory of a server's whole process tree, sampled from /proc while a workload runs."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for current in pids:
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pids += [int(child) for child in task.read_text().split()]
            except FileNotFoundError:
                continue
    return pids


def tree_rss(pid: int) -> int:
    return sum(_status_kib(p, "VmRSS:") for p in _tree(pid)) * 1024


def tree_hwm(pid: int) -> int:
    """Sum of each process's lifetime peak (VmHWM): an upper bound, monotonic over a run."""
    return sum(_status_kib(p, "VmHWM:") for p in _tree(pid)) * 1024


class RssSampler:
    """Peak of the tree's VmRSS, sampled every `interval` seconds between start() and stop()."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))


def exists(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")
