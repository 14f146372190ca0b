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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from petitrag.errors import CollectionBusyError, StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def collection_lock(home: Path, collection: str, doing: str) -> Iterator[None]:
    """Hold the collection's lock for the block, or raise CollectionBusyError at once.

    ``doing`` says what the refused caller wanted ("ingest into", "delete"), for the message."""
    busy = lambda holder: CollectionBusyError(_busy_message(holder, collection, doing))  # noqa: E731
    with held_lock(home / "locks" / f"{collection}.lock", busy):
        yield


@contextlib.contextmanager
def held_lock(path: Path, busy: Callable[[str], Exception]) -> Iterator[None]:
    """Hold the lock file ``path`` for the block, or raise ``busy(holder's pid)`` at once."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    with _lock_file(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise busy(handle.read().strip()) from None
        try:
            with contextlib.suppress(OSError):  # the pid only names the holder: a full disk may refuse it
                os.ftruncate(handle.fileno(), 0)
                os.pwrite(handle.fileno(), str(os.getpid()).encode(), 0)  # unbuffered: nothing left to flush
            yield
        finally:
            handle.truncate(0)  # a stale pid must not be named by a later message
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_file(path: Path) -> IO[str]:
    """The lock file, opened for writing; one that cannot be (a home copied read-only, `ingest`
    in it) is one clear line, not open()'s traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # the file is kept after use: unlinking it races
        return open(path, "a+", encoding="utf-8")  # closed by the caller's with
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise StoreError(f"cannot write the lock file {path}: {reason}") from None


def ingesting_process(home: Path, collection: str) -> str | None:
    """The pid of the process ingesting into ``collection`` now, from its lock file, None when
    none is. Read, not taken: holding the lock even for an instant would refuse an ingest
    starting then. The file is emptied at release; a pid left by a killed process is dead."""
    try:
        holder = (home / "locks" / f"{collection}.lock").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not holder.isdigit():
        return None
    try:
        os.kill(int(holder), 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        pass
    return holder


def holder_name(holder: str, own: str) -> str:
    """Who holds a lock, from the pid it wrote; ``own``: how to call this very process."""
    if holder == str(os.getpid()):
        return own
    return f"petitrag process {holder}" if holder.isdigit() else "another petitrag process"


def _busy_message(holder: str, collection: str, doing: str) -> str:
    who = holder_name(holder, "an ingest job of this server")
    return f"cannot {doing} collection '{collection}': {who} is ingesting into it; try again when it is done"
