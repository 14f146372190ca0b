"""Which process writes to a collection: one lock file per collection, held while it ingests.

SQLite keeps each write consistent, but not a run: a `petitrag ingest` embedding its last batches
while another process deletes the collection would write vectors for rows that are gone, and two
ingests of one folder into one collection parse every file twice. The lock is an OS file lock
(``flock``), so a process that dies, however it dies, releases it; the file only carries the
holder's pid for the message. Where ``fcntl`` does not exist (Windows) nothing is locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from petitrag.errors import CollectionBusyError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def collection_lock(home: Path, collection: str, doing: str) -> Iterator[None]:
    """Hold the collection's lock for the block, or raise CollectionBusyError at once.

    ``doing`` says what the refused caller wanted ("ingest into", "delete"), for the message."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = home / "locks" / f"{collection}.lock"  # kept after use: unlinking a lock file races
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CollectionBusyError(_busy_message(handle, collection, doing)) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.truncate(0)  # a stale pid must not be named by a later message
            fcntl.flock(handle, fcntl.LOCK_UN)


def _busy_message(handle: TextIO, collection: str, doing: str) -> str:
    handle.seek(0)
    holder = handle.read().strip()
    if holder == str(os.getpid()):
        who = "an ingest job of this server"
    else:
        who = f"petitrag process {holder}" if holder.isdigit() else "another petitrag process"
    return f"cannot {doing} collection '{collection}': {who} is ingesting into it; try again when it is done"
