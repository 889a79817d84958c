"""Where a local blob lives, and the file-system steps that make one durable.

`blobs/sha256/<2 hex>/<64 hex>` under the data directory; a blob is written to a temp file in
`tmp/`, fsynced, renamed to its address, and the directory holding it is fsynced. These are
plain functions over path strings, standard library only: the server's worker threads and the
blob process (`zas.storage.blob_process`, which must start small and fast) share them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Sequence

# Temp names unique within this process; the pid keeps processes apart, O_EXCL the rest.
_temp_names = itertools.count()


def is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def blob_path(blob_dir: str, sha256: str) -> str:
    return os.path.join(blob_dir, sha256[:2], sha256)


def sync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place(temp: str, final: str, blob_dir: str, fsync: bool) -> str | None:
    """Rename a complete, durable temp file to its address `final`. Returns the directory to
    fsync for the rename to be durable, or None when identical content was already stored
    (the temp file is removed). A new fan-out directory is fsynced into `blob_dir` first, or a
    crash could lose the entry that leads to a durable blob."""
    if os.path.exists(final):
        os.unlink(temp)
        return None
    parent = os.path.dirname(final)
    try:
        os.mkdir(parent)
    except FileExistsError:
        pass
    else:
        if fsync:
            sync_dir(blob_dir)
    os.replace(temp, final)
    return parent


def delete_blob(path: str) -> int:
    """Remove a blob; the bytes freed (0 if it was already gone)."""
    try:
        size = os.stat(path).st_size
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return size


def store_small(
    blob_dir: str, tmp_dir: str, blobs: Sequence[tuple[str, bytes | bytearray]], fsync: bool
) -> list[Exception | None]:
    """Store bodies held in memory under their (already computed) SHA-256, as one group: all
    are written and fsynced, then renamed into place, then each directory that gained a blob
    is fsynced once. Returns one error or None per blob, in order; a failure loses only its
    own blob. Content already stored is not written again."""
    errors: list[Exception | None] = [None] * len(blobs)
    opened: list[tuple[int, int, str, str]] = []  # (index, fd, temp, final)
    for index, (sha256, body) in enumerate(blobs):
        final = blob_path(blob_dir, sha256)
        if os.path.exists(final):
            continue
        temp = os.path.join(tmp_dir, f"{os.getpid()}-{next(_temp_names)}.part")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            errors[index] = exc
            continue
        opened.append((index, fd, temp, final))
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            errors[index] = exc
    # All written before the first fsync: one journal commit then covers most of the group.
    written: list[tuple[int, str, str]] = []  # (index, temp, final)
    for index, fd, temp, final in opened:
        try:
            if errors[index] is None and fsync:
                os.fsync(fd)
        except OSError as exc:
            errors[index] = exc
        finally:
            os.close(fd)
        if errors[index] is None:
            written.append((index, temp, final))
        else:
            _discard(temp)
    directories: dict[str, list[int]] = {}
    for index, temp, final in written:
        try:
            directory = place(temp, final, blob_dir, fsync)
        except OSError as exc:
            errors[index] = exc
            _discard(temp)
            continue
        if directory is not None:
            directories.setdefault(directory, []).append(index)
    if fsync:
        for directory, indexes in directories.items():
            try:
                sync_dir(directory)
            except OSError as exc:
                for index in indexes:
                    errors[index] = exc
    return errors


def _discard(temp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)
