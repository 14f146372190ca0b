"""A .docx package's safety checks: what it would expand to, and entity references in its XML.

``max_file_mb`` bounds a file's size on disk, not what its ZIP entries inflate to: a 14 KB
.docx held 5 MB of XML (4,800 chunks), a 4 MB one 1.5 GB (a MemoryError, reported as a
corrupt file). python-docx reads every part into memory, so the declared sizes are checked
before it does; Python's zipfile never inflates an entry past its declared size.
"""

from __future__ import annotations

import io
import zipfile
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from petitrag.errors import DocumentError

if TYPE_CHECKING:
    from docx.document import Document

#: what a .docx may expand to: the largest file read (``max_file_mb``, 100 MB by default), set by
#: ``parse_bytes`` for the parse at hand (parsers take no settings)
EXPANDED_LIMIT: ContextVar[int] = ContextVar("EXPANDED_LIMIT", default=100 * 1024 * 1024)
#: a part this large that compressed this many times is no document: Word's XML compresses
#: about 10 times, only the same bytes over and over compress hundreds of times
_BOMB_PART = 2 * 1024 * 1024
_BOMB_RATIO = 100


def refuse_zip_bomb(data: bytes) -> None:
    """Raise a DocumentError when the archive's parts would expand past ``EXPANDED_LIMIT`` in
    all, or one large part compressed like a zip bomb; a damaged archive is left to python-docx."""
    limit = EXPANDED_LIMIT.get()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    total = sum(entry.file_size for entry in entries)
    if total > limit:
        expanded = f"DOCX expands to {_size(total)} uncompressed (over {_size(limit)})"
        raise DocumentError(f"{expanded}: refused as a possible zip bomb (raise max_file_mb if it is not)")
    for entry in entries:
        ratio = entry.file_size // max(entry.compress_size, 1)
        if entry.file_size > _BOMB_PART and ratio > _BOMB_RATIO:
            raise DocumentError(
                f"DOCX part {entry.filename} expands {ratio} times ({_size(entry.compress_size)} → "
                f"{_size(entry.file_size)}): refused as a possible zip bomb"
            )


def _size(size: int) -> str:
    """A size as people read it: "14 KB", "4.7 MB", "1.4 GB"."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{max(1, round(size / 1024))} KB"


def drop_entity_references(document: Document) -> None:
    """Remove the entity references (``&x;``) of every XML part, keeping the text after them.

    python-docx never resolves an entity (an external one could read any file), but keeps the
    reference in the tree, and a ``w:t``'s text then stops there: "kumquat &x; end" read
    "kumquat", the rest of the run lost."""
    from lxml import etree

    for part in document.part.package.iter_parts():
        element = getattr(part, "_element", None)
        if element is None:
            continue
        for entity in list(element.iter(etree.Entity)):
            _remove_keeping_tail(entity)


def _remove_keeping_tail(node: Any) -> None:
    """Remove ``node``; the text after it joins its previous sibling's, or its parent's."""
    parent, previous, tail = node.getparent(), node.getprevious(), node.tail or ""
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(node)
