"""Disk caches of search structures, derived from SQLite and keyed by generation.

A cache is a folder ``<home>/cache/<collection>/<kind>-<key>/`` written under a temporary
name and renamed into place, so a crash never leaves a half-written cache; a stale key
simply means "rebuild". SQLite stays the only source of truth.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cached_folder(base: Path, kind: str, key: str, build: Callable[[Path], None]) -> Path:
    """Return ``base/kind-key``, building it with ``build(folder)`` when missing."""
    target = base / f"{kind}-{key}"
    if target.is_dir():
        return target
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=base))
    try:
        build(scratch)
        try:
            os.rename(scratch, target)
        except OSError:  # another process built it first: theirs is as good as ours
            shutil.rmtree(scratch, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _remove_stale(base, kind, keep=target.name)
    return target


def _remove_stale(base: Path, kind: str, keep: str) -> None:
    for entry in base.glob(f"{kind}-*"):
        if entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)
