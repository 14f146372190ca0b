"""Disk caches of search structures, derived from SQLite and keyed by generation.

A cache is a folder ``<home>/cache/<collection>/<kind>-<key>/`` written under a temporary
name and renamed into place, so a crash never leaves a half-written cache; a stale key
simply means "rebuild", and so does a damaged one (renamed into place before its files
reached the disk, then a power cut). SQLite stays the only source of truth.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from petitrag.errors import StoreError

Loaded = TypeVar("Loaded")
#: what reading a damaged cache raises: a cut or empty file (EOFError, "mmap length is greater
#: than file size"), bad JSON; not a passing MemoryError, which must not cost a good cache
_DAMAGED = (OSError, ValueError, EOFError)
#: and what a cache file of the wrong shape raises once read: valid JSON, but `{}` or `null`
_MISSHAPEN = (*_DAMAGED, TypeError, KeyError, IndexError, AttributeError)


def load_cached(
    base: Path, kind: str, key: str, build: Callable[[Path], None], load: Callable[[Path], Loaded]
) -> Loaded:
    """``load`` of the folder ``base/kind-key``, built with ``build(folder)`` when missing or
    unreadable. A home that cannot take it (disk full, read-only) gets it built in the system's
    temporary folder for this process: search still works, it is only slower to start."""
    target = base / f"{kind}-{key}"
    if target.is_dir():
        try:
            return load(target)
        except _MISSHAPEN:  # an empty, cut or misshapen file: "Aborted!" or a traceback, for good
            shutil.rmtree(target, ignore_errors=True)
    try:
        return load(_built(base, kind, target, build))
    except _DAMAGED as exc:  # the home cannot take it, or a damaged copy could not be replaced
        with tempfile.TemporaryDirectory(prefix=f"petitrag-{kind}-") as elsewhere:
            try:  # memory-mapped files stay readable once their folder is removed
                build(Path(elsewhere))
                return load(Path(elsewhere))
            except OSError:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise StoreError(f"cannot write the search cache in {base}: {reason}") from None


def _built(base: Path, kind: str, target: Path, build: Callable[[Path], None]) -> Path:
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
