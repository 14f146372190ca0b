"""The home folder is private: it holds the text of every document ingested.

Created readable by all (umask 022), a home let any local user read a private file's text from
the index, the search cache or the server's copies of uploads, though the file itself was
readable only by its owner. The folder holding the index is its owner's only.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from petitrag.errors import StoreError


def private_folder(folder: Path) -> None:
    """Create ``folder`` (parents as usual) for its owner only, or close an existing one of this
    user's to others (a home made by an earlier version, or by `models pull` first).

    A folder that cannot be made is one clear line: `--home /opt/petitrag` as a normal user
    (or under a read-only folder) printed mkdir's traceback, and `serve` failed its start."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise StoreError(f"cannot create home {folder}: {reason}") from None
    info = folder.stat()
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 and info.st_uid == os.getuid():
        with contextlib.suppress(OSError):  # mounted without permissions (FAT, some shares)
            os.chmod(folder, mode & ~0o077)
