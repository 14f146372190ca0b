"""What the index stores and returns: collections, documents and chunks, as records."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass


@dataclass
class Collection:
    name: str
    embedder: str
    dim: int | None
    chunks_generation: int
    vectors_generation: int


@dataclass
class DocumentRecord:
    """A parsed file, ready to be written with its chunks."""

    path: str
    sha256: str
    size: int
    mtime_ns: int
    format: str
    title: str | None
    pages: int | None
    text: str
    chunking: str | None = None  # the chunk settings that cut it ("200/40"): others re-chunk it


@dataclass
class ChunkRecord:
    text: str
    section: str | None
    page: int | None
    start: int
    end: int
    language: str
    tokens: int
    index_text: str  # what is embedded: section context + text
    lexical: str  # space-joined BM25 terms


#: the columns of a ``StoredDocument``, in its fields' order
_STORED_DOCUMENT = "id, path, sha256, size, mtime_ns, chunking"


@dataclass
class StoredDocument:
    id: int
    path: str
    sha256: str
    size: int
    mtime_ns: int
    chunking: str | None = None

    def unchanged(self, stat: os.stat_result) -> bool:
        """The file on disk has the size and modification time it had when it was ingested."""
        return (stat.st_size, stat.st_mtime_ns) == (self.size, self.mtime_ns)

    def stale_warnings(self) -> list[str]:
        """The index holds the file as it was ingested: what to say when the file has changed
        since, or is gone (uploads to the server are petitrag's own copies, and never change)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return [f"{self.path} is no longer there: this is what was ingested"]
        if not self.unchanged(stat):
            return [f"{self.path} changed since it was ingested: ingest it again to read the new version"]
        return []


@dataclass
class ChunkView:
    """What search returns for one chunk."""

    rowid: int
    chunk_id: str
    source: str
    title: str | None
    page: int | None
    section: str | None
    text: str
    start: int
    end: int
    language: str


def chunk_identifier(collection: str, path: str, ordinal: int, text: str) -> str:
    """Stable id: the same file content yields the same chunk ids on every ingest."""
    digest = hashlib.sha256(f"{collection}\0{path}\0{ordinal}\0{text}".encode()).hexdigest()
    return digest[:20]


#: control characters, a newline too: `documents` shows them escaped, one file to a line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def as_listed(path: str) -> str:
    """``path`` with its control characters escaped ("\\n", "\\x1b"), as the CLI lists it
    (``report.display_path``), so that what `documents` prints works as input."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], path)


def storable(path: str) -> bool:
    """Whether a path can be in the index (UTF-8 text). A name written by an old latin-1 system
    reaches Python with surrogate escapes: `ingest caf\\xe9.txt` and `documents remove` asked
    SQLite about it and failed with a UnicodeEncodeError traceback; no document has such a name."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
