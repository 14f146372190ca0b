"""The embedded index: one SQLite database (WAL) per data directory.

SQLite is the single source of truth: collections (with the embedder that built them),
documents (path, content hash, extracted text), chunks (text, provenance, BM25 tokens)
and vectors (a nullable column, filled after parsing so documents are searchable
lexically at once). Each file is replaced in one transaction and vectors are written in
committed batches, so a crash or ``kill -9`` at any point leaves a consistent index that
the next ingest completes. Search structures (BM25 matrix, vector matrix) are caches
derived from it, keyed by per-collection generation counters.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np

from petitrag.errors import (
    AmbiguousDocumentError,
    CollectionNotFoundError,
    ConfigError,
    DocumentNotFoundError,
    EmbedderMismatchError,
    EmptyCollectionError,
    StoreError,
)
from petitrag.index.records import (  # re-exported: they are the store's records
    _STORED_DOCUMENT,
    ChunkRecord,
    ChunkView,
    Collection,
    DocumentRecord,
    StoredDocument,
    as_listed,
    chunk_identifier,
    storable,
)
from petitrag.private import private_folder

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    embedder TEXT NOT NULL,
    dim INTEGER,
    chunks_generation INTEGER NOT NULL DEFAULT 0,
    vectors_generation INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    format TEXT NOT NULL,
    title TEXT,
    pages INTEGER,
    text TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    UNIQUE (collection, path)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL,
    section TEXT,
    page INTEGER,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    language TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    index_text TEXT NOT NULL,
    lexical TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (document_id);
CREATE INDEX IF NOT EXISTS documents_by_content ON documents (collection, sha256);
CREATE INDEX IF NOT EXISTS chunks_by_collection ON chunks (collection, id);
CREATE INDEX IF NOT EXISTS chunks_missing_vector ON chunks (collection, id) WHERE vector IS NULL;
"""

#: the columns of ChunkView, in order
_CHUNK_VIEW = (
    "SELECT c.id, c.chunk_id, d.path, d.title, c.page, c.section, c.text, c.char_start, c.char_end,"
    " c.language FROM chunks c JOIN documents d ON d.id = c.document_id"
)


class Store:
    """All reads and writes of the SQLite index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_folder(path.parent)
        writable = os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
        self.read_only = not writable
        try:
            self.db = self._open_read_only() if self.read_only else self._open()
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            read_only = f" ({self._read_only_folder()} is read-only)" if self.read_only else ""
            raise StoreError(f"cannot open index {path}: {exc}{read_only}") from None

    def _open(self) -> sqlite3.Connection:
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._write_ahead_log()
        self.db.execute("PRAGMA synchronous=NORMAL")
        return self.db

    def _open_read_only(self) -> sqlite3.Connection:
        """A home copied read-only (a backup, a container volume mounted :ro) is read as it is:
        opened as usual, WAL wanted its -shm file written next to the index, and `collections`
        or `search` failed with "attempt to write a readonly database". ``mode=ro`` reads a
        -shm already there; without one, the file is read as immutable, unless a -wal holds
        changes not yet in it (reading without them could give a half-written index)."""
        location = "file:" + quote(os.fsencode(self.path.absolute()))
        try:
            db = sqlite3.connect(f"{location}?mode=ro", uri=True, timeout=30, isolation_level=None)
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return db
        except sqlite3.OperationalError:
            log = Path(f"{self.path}-wal")
            if log.exists() and log.stat().st_size:
                raise
        return sqlite3.connect(f"{location}?immutable=1", uri=True, isolation_level=None)

    def _read_only_folder(self) -> Path:
        """The read-only folder (or file) that keeps the index from being written."""
        return self.path.parent if not os.access(self.path.parent, os.W_OK) else self.path

    def _write_ahead_log(self, tries: int = 50) -> None:
        """WAL mode. Switching to it ignores the busy timeout: two processes (the server's
        start and its model thread) opening a new index at once failed with "database is
        locked"; the switch is tried again for a few seconds."""
        for attempt in range(tries):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == tries - 1:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        if self._current():  # nothing to write: reading needs no write lock (a read-only home,
            return  # another process writing: `documents` waited 30 s, then "database is locked")
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}
            if "chunking" not in columns:  # added later: NULL for documents chunked before (unknown)
                self.db.execute("ALTER TABLE documents ADD COLUMN chunking TEXT")
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(f"index {self.path} was made by a newer petitrag (schema {row[0]})")
            elif int(row[0]) < SCHEMA_VERSION:  # migrated above: said so, or every open migrates again
                self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def _current(self) -> bool:
        """The index has this version's schema already: every table and index, every column."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}
            names = {name for (name,) in self.db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.OperationalError:  # no such table: a new index
            return False
        wanted = set(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", _SCHEMA))
        return row is not None and int(row[0]) == SCHEMA_VERSION and "chunking" in columns and wanted <= names

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error (including KeyboardInterrupt)."""
        if self.read_only:  # SQLite's own "attempt to write a readonly database" named no folder
            raise StoreError(f"cannot write to index {self.path}: {self._read_only_folder()} is read-only")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- collections -------------------------------------------------------------------------

    def collection(self, name: str) -> Collection | None:
        row = self.db.execute(
            "SELECT name, embedder, dim, chunks_generation, vectors_generation FROM collections WHERE name=?",
            (name,),
        ).fetchone()
        return Collection(*row) if row else None

    def require_collection(self, name: str, embedder: str | None = None) -> Collection:
        """The collection, checked against the configured embedder when one is given."""
        found = self.collection(name)
        if found is None:
            known = ", ".join(c.name for c in self.collections()) or "none yet"
            raise CollectionNotFoundError(
                f"collection '{name}' does not exist (known: {known}); create it with `petitrag ingest`", name
            )
        if embedder is not None and found.embedder != embedder and self.vector_counts(name)[0]:
            raise EmbedderMismatchError.built_with(name, found.embedder, embedder)
        return found  # no vector yet: any embedder may search it, and the next to embed takes it

    def require_documents(self, name: str, other_way: str = "") -> Collection:
        """The collection, refused when it holds no chunk: answering from it could only abstain.

        ``other_way`` names a second way to add documents (the server's upload route)."""
        found = self.require_collection(name)
        if self.db.execute("SELECT 1 FROM chunks WHERE collection=? LIMIT 1", (name,)).fetchone() is None:
            raise EmptyCollectionError(
                f"collection '{name}' is empty; add documents with `petitrag ingest PATH -c {name}`"
                + (f" or {other_way}" if other_way else "")
            )
        return found

    def ensure_collection(self, name: str, embedder: str) -> Collection:
        """Create the collection for this embedder, or check that it matches; one that holds no
        vector (all documents removed, or a mistyped embedder model gave none) takes this one."""
        if self.collection(name) is None:
            refuse_option_like(name)
            # generations start from the clock: a collection deleted and made again under the
            # same name never repeats one, so no process serves the old one's cached indexes
            start = time.time_ns()
            with self.transaction():
                self.db.execute(
                    "INSERT OR IGNORE INTO collections (name, embedder, chunks_generation,"
                    " vectors_generation, created_at) VALUES (?, ?, ?, ?, ?)",
                    (name, embedder, start, start, _now()),
                )
        if self.require_collection(name, embedder).embedder != embedder:  # it holds no vector: adopt
            with self.transaction():
                self.db.execute(
                    "UPDATE collections SET embedder=?, dim=NULL WHERE name=? AND NOT EXISTS"
                    " (SELECT 1 FROM chunks WHERE collection=? AND vector IS NOT NULL)",
                    (embedder, name, name),
                )
                self._bump(name, "vectors_generation")
        return self.require_collection(name, embedder)

    def collections(self) -> list[Collection]:
        rows = self.db.execute(
            "SELECT name, embedder, dim, chunks_generation, vectors_generation FROM collections ORDER BY name"
        ).fetchall()
        return [Collection(*row) for row in rows]

    def delete_collection(self, name: str) -> None:
        """Its documents and chunks too. Search caches on disk are the caller's to remove."""
        self.require_collection(name)
        with self.transaction():
            self.db.execute("DELETE FROM chunks WHERE collection=?", (name,))
            self.db.execute("DELETE FROM collections WHERE name=?", (name,))
        self.give_back_space()

    def give_back_space(self, share: float = 0.25) -> None:
        """Shrink the file when more than ``share`` of it is free pages: SQLite keeps deleted
        rows' pages for reuse, so deleting 8 collections of 10 left a 199 MB file 91 % empty.
        Best effort: skipped when another process is reading or writing the index."""
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        if not pages or free <= pages * share:
            return
        self.db.execute("PRAGMA busy_timeout=2000")
        try:
            self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:  # locked: the next deletion tries again
            pass
        finally:
            self.db.execute("PRAGMA busy_timeout=30000")

    # -- documents ---------------------------------------------------------------------------

    def document(self, collection: str, path: str) -> StoredDocument | None:
        if not storable(path):
            return None
        row = self.db.execute(
            f"SELECT {_STORED_DOCUMENT} FROM documents WHERE collection=? AND path=?",
            (collection, path),
        ).fetchone()
        return StoredDocument(*row) if row else None

    def documents(self, collection: str, sha256: str | None = None) -> list[StoredDocument]:
        """The collection's documents by path; with ``sha256``, those with that content."""
        same = " AND sha256=?" if sha256 is not None else ""
        rows = self.db.execute(
            f"SELECT {_STORED_DOCUMENT} FROM documents WHERE collection=?{same} ORDER BY path",
            (collection, sha256) if sha256 is not None else (collection,),
        ).fetchall()
        return [StoredDocument(*row) for row in rows]

    def has_documents_under(self, collection: str, prefix: str) -> bool:
        """Whether a document's path starts with ``prefix`` (a folder and its separator)."""
        if not storable(prefix):
            return False
        row = self.db.execute(
            "SELECT 1 FROM documents WHERE collection=? AND substr(path, 1, length(?)) = ? LIMIT 1",
            (collection, prefix, prefix),
        ).fetchone()
        return row is not None

    def find_document(self, collection: str, source: str) -> StoredDocument:
        """A document by path: exact (absolute or relative to here, normalised as ingest does) or,
        for a bare name like ``notes/a.md``, a unique path suffix. A path that says where it is
        (``/…``, ``~/…``, ``./…``, ``../…``) is only ever that file: a suffix could be another."""
        self.require_collection(collection)  # a misspelt collection is not a missing document
        absolute = os.path.abspath(Path(source).expanduser())
        exact = self.document(collection, absolute)
        if exact:
            return exact
        name = source.replace("\\", "/")
        located = name.startswith(("/", "~", "./", "../")) or "/../" in name or name in (".", "..")
        matches = self._matching(collection, absolute if located else None, "/" + name, "/" + source)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            where = f" ({absolute})" if located and absolute != source else ""
            raise DocumentNotFoundError(
                f"no document matching '{as_listed(source)}'{where} in collection '{collection}'; "
                f"see `petitrag documents -c {collection}`"
            )
        raise AmbiguousDocumentError(
            f"'{source}' matches {len(matches)} documents in '{collection}'; give more of the path: "
            + ", ".join(as_listed(doc.path) for doc in matches[:5])
        )

    def _matching(
        self, collection: str, absolute: str | None, end: str, typed_end: str
    ) -> list[StoredDocument]:
        """The documents at ``absolute`` as `documents` lists them or else (None), whose path
        ends with ``end`` or ``typed_end``, or does as listed. A name holding a newline is listed
        escaped ("new\\nline.txt"), and `documents remove` given what it showed found no
        document. A name that is what was typed wins over one that only shows as it."""
        found = self.documents(collection)
        if absolute is not None:
            return [doc for doc in found if as_listed(doc.path) == absolute]
        named = [doc for doc in found if doc.path.endswith((end, typed_end))]
        return named or [doc for doc in found if as_listed(doc.path).endswith(typed_end)]

    def document_chunks(self, document_id: int) -> list[ChunkView]:
        """All chunks of a document in reading order."""
        rows = self.db.execute(
            f"{_CHUNK_VIEW} WHERE c.document_id=? ORDER BY c.ord", (document_id,)
        ).fetchall()
        return [ChunkView(*row) for row in rows]

    def replace_document(self, collection: str, doc: DocumentRecord, chunks: list[ChunkRecord]) -> None:
        """Write a file and its chunks atomically, replacing any previous version."""
        with self.transaction():
            self.db.execute("DELETE FROM documents WHERE collection=? AND path=?", (collection, doc.path))
            document_id = self._new_document_id()
            self.db.execute(
                "INSERT INTO documents (id, collection, path, sha256, size, mtime_ns, format, title, pages,"
                " text, ingested_at, chunking) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (document_id, collection, doc.path, doc.sha256, doc.size, doc.mtime_ns, doc.format, doc.title,
                 doc.pages, doc.text, _now(), doc.chunking),
            )  # fmt: skip
            self.db.executemany(
                "INSERT INTO chunks (chunk_id, document_id, collection, ord, text, section, page, char_start,"
                " char_end, language, tokens, index_text, lexical) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (chunk_identifier(collection, doc.path, i, c.text), document_id, collection, i, c.text,
                     c.section, c.page, c.start, c.end, c.language, c.tokens, c.index_text, c.lexical)
                    for i, c in enumerate(chunks)
                ],
            )  # fmt: skip
            self._bump(collection, "chunks_generation")

    def _new_document_id(self) -> int:
        """An id never handed out before: SQLite would give the highest deleted one again, and a
        client retrying "delete document 3" would then delete the document added after it."""
        last = self.db.execute("SELECT value FROM meta WHERE key='last_document_id'").fetchone()
        highest = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM documents").fetchone()[0]
        new = max(int(last[0]) if last else 0, highest) + 1
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('last_document_id', ?)", (str(new),))
        return new

    def record_chunking(self, document_id: int, chunking: str) -> None:
        """Record the chunk settings of a document ingested before they were recorded."""
        with self.transaction():
            self.db.execute("UPDATE documents SET chunking=? WHERE id=?", (chunking, document_id))

    def touch_document(self, document_id: int, size: int, mtime_ns: int) -> None:
        """Remember a new size and mtime for an unchanged content so the next run skips hashing it."""
        with self.transaction():
            self.db.execute(
                "UPDATE documents SET size=?, mtime_ns=? WHERE id=?", (size, mtime_ns, document_id)
            )

    def delete_documents(self, collection: str, paths: Iterable[str]) -> int:
        removed = 0
        with self.transaction():
            for path in paths:
                removed += self.db.execute(
                    "DELETE FROM documents WHERE collection=? AND path=?", (collection, path)
                ).rowcount
            if removed:
                self._bump(collection, "chunks_generation")
        return removed

    def _bump(self, collection: str, counter: str) -> None:
        self.db.execute(f"UPDATE collections SET {counter} = {counter} + 1 WHERE name=?", (collection,))

    # -- vectors -----------------------------------------------------------------------------

    def chunks_without_vectors(self, collection: str, limit: int) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT id, index_text FROM chunks WHERE collection=? AND vector IS NULL ORDER BY id LIMIT ?",
            (collection, limit),
        ).fetchall()

    def put_vectors(self, collection: str, rowids: list[int], vectors: np.ndarray) -> None:
        """Store one committed batch of vectors; the first batch fixes the collection's dimension."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self.transaction():
            dim = self.db.execute("SELECT dim FROM collections WHERE name=?", (collection,)).fetchone()[0]
            if dim is None:
                self.db.execute("UPDATE collections SET dim=? WHERE name=?", (vectors.shape[1], collection))
            elif dim != vectors.shape[1]:
                raise EmbedderMismatchError(
                    f"collection '{collection}' holds {dim}-dimensional vectors, got {vectors.shape[1]}"
                )
            self.db.executemany(
                "UPDATE chunks SET vector=? WHERE id=?",
                [(vector.tobytes(), rowid) for rowid, vector in zip(rowids, vectors, strict=True)],
            )
            self._bump(collection, "vectors_generation")

    def vector_counts(self, collection: str) -> tuple[int, int]:
        """(chunks with a vector, all chunks)."""
        # Two index-only counts: COUNT(vector) would read every row of a large collection.
        total = self.db.execute("SELECT COUNT(*) FROM chunks WHERE collection=?", (collection,)).fetchone()[0]
        missing = self.db.execute(
            "SELECT COUNT(*) FROM chunks WHERE collection=? AND vector IS NULL", (collection,)
        ).fetchone()[0]
        return int(total - missing), int(total)

    def vectors(self, collection: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(rowids, matrix) of every embedded chunk, for the dense search cache."""
        rows = self.db.execute(
            "SELECT id, vector FROM chunks WHERE collection=? AND vector IS NOT NULL ORDER BY id",
            (collection,),
        ).fetchall()
        rowids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), dim)
        return rowids, matrix

    # -- lexical + hits ----------------------------------------------------------------------

    def lexical_corpus(self, collection: str) -> tuple[np.ndarray, list[list[str]]]:
        """(rowids, BM25 terms per chunk), for the lexical search cache."""
        rows = self.db.execute(
            "SELECT id, lexical FROM chunks WHERE collection=? ORDER BY id", (collection,)
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1].split() for r in rows]

    def languages(self, collection: str) -> set[str]:
        rows = self.db.execute("SELECT DISTINCT language FROM chunks WHERE collection=?", (collection,))
        return {row[0] for row in rows}

    def chunk_views(self, rowids: list[int]) -> dict[int, ChunkView]:
        if not rowids:
            return {}
        marks = ",".join("?" * len(rowids))
        rows = self.db.execute(f"{_CHUNK_VIEW} WHERE c.id IN ({marks})", rowids).fetchall()
        return {row[0]: ChunkView(*row) for row in rows}

    def stats(self, collection: str) -> dict[str, int]:
        documents = self.db.execute("SELECT COUNT(*) FROM documents WHERE collection=?", (collection,))
        embedded, chunks = self.vector_counts(collection)
        return {"documents": documents.fetchone()[0], "chunks": chunks, "embedded": embedded}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def refuse_option_like(name: str) -> None:
    """A new collection named "-x" could be made, but not deleted: `collections delete -x` read
    it as an option ("No such option: -x"). Collections made so before keep working."""
    if name.startswith("-"):
        raise ConfigError(
            f"collection names cannot start with '-' ('{name}' would read as an option); choose another"
        )
