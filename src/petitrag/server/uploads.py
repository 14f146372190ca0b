"""Uploaded files: safe names, a size limit while copying, never a silent overwrite.

A client-supplied file name is untrusted: ``../../.bashrc``, ``C:\\x\\y.pdf``, control
characters or a 10 kB name must all end up as a plain file inside
``<home>/uploads/<collection>/``. Files are written under a temporary name and linked to
their final name, which fails instead of replacing a file that appeared meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import BinaryIO

from petitrag.documents import SUPPORTED_EXTENSIONS
from petitrag.errors import StoreError
from petitrag.server.errors import ApiError

MAX_NAME = 120  # characters
MAX_NAME_BYTES = 200  # in UTF-8: file systems allow 255, and "-1234" may be added
_UNSAFE = re.compile(r"[^\w.\- ()]+")
_COPY_BLOCK = 1024 * 1024


def safe_filename(name: str) -> str:
    """The last path component of ``name``, with only word characters, dots, dashes and spaces."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")  # control, format, ...
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem.strip(" .")[: MAX_NAME - len(extension) - 1]
    room = MAX_NAME_BYTES - len(extension.encode()) - 1
    stem = stem.encode()[:room].decode(errors="ignore").strip(" .") or "upload"  # 120 × 文 is 360 bytes
    return f"{stem}.{extension}" if extension else stem


def check_supported(name: str) -> None:
    extension = Path(name).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        known = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise ApiError(415, f"'{name}': unsupported file type (supported: {known})", "unsupported_type")


def save_uploads(files: list[tuple[BinaryIO, str]], directory: Path, limit: int) -> list[Path]:
    """Save every (content, client name) or none: names are checked first, and the files this
    call created are removed again when a later one fails (too large, say)."""
    for _, name in files:
        check_supported(safe_filename(name))
    saved: list[tuple[Path, bool]] = []
    try:
        for source, name in files:  # the limit is for all the files together
            used = sum(path.stat().st_size for path, _ in saved)
            saved.append(save_upload(source, name, directory, limit - used, limit))
    except PermissionError as exc:  # a read-only home: a 500 "internal error (PermissionError)"
        _remove(saved, directory)
        where = exc.filename or directory
        raise StoreError(f"cannot store the upload: {where} is read-only (permission denied)") from None
    except BaseException:
        _remove(saved, directory)
        raise
    return [path for path, _ in saved]


def _remove(saved: list[tuple[Path, bool]], directory: Path) -> None:
    """The files a failed upload created: "nothing is left on disk", not even a new empty folder."""
    for path, created in saved:
        if created:
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()


def save_upload(source: BinaryIO, name: str, directory: Path, room: int, limit: int) -> tuple[Path, bool]:
    """Copy ``source`` into ``directory`` under ``name`` (made safe); 413 beyond ``room`` bytes
    (what the request's ``limit`` leaves after its earlier files).

    The same content uploaded again under the same name reuses the existing file; other
    content under a taken name gets a ``-1``, ``-2``... suffix. Returns the path and whether
    the file is new.
    """
    name = safe_filename(name)
    check_supported(name)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".upload-{uuid.uuid4().hex}.part"
    try:
        digest = _copy_limited(source, partial, room, name, limit)
        return _link_unique(partial, directory, name, digest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _copy_limited(source: BinaryIO, target: Path, room: int, name: str, limit: int) -> str:
    digest = hashlib.sha256()
    size = 0
    with target.open("xb") as out:
        while block := source.read(_COPY_BLOCK):
            size += len(block)
            if size > room:
                whole = "" if room == limit else " with the files before it"
                raise ApiError(
                    413,
                    f"'{name}'{whole} is larger than the upload limit ({limit / 1024 / 1024:.3g} MB)",
                    "too_large",
                )
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _link_unique(partial: Path, directory: Path, name: str, digest: str) -> tuple[Path, bool]:
    stem, extension = os.path.splitext(name)
    for number in range(10_000):
        candidate = directory / (f"{stem}-{number}{extension}" if number else name)
        try:
            os.link(partial, candidate)  # fails if the name is taken: never replaces
            return candidate, True
        except FileExistsError:
            if _sha256(candidate) == digest:
                return candidate, False
    raise ApiError(409, f"too many uploads named '{name}'", "name_taken")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()
