"""Ingestion: files → parsed blocks → chunks → SQLite (lexical at once) → vectors (after).

Two phases so that documents are searchable as soon as they are parsed: phase 1 writes
each file with its chunks and BM25 terms in one transaction; phase 2 embeds every chunk
that still lacks a vector, in committed batches. Both phases are idempotent, so a run
killed anywhere is completed by the next one. One bad file never stops the run: it gets
one line in the report and the rest is ingested.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG

from petitrag.chunking import Chunk, Chunker
from petitrag.config import Settings
from petitrag.documents import SUPPORTED_EXTENSIONS, parse_bytes
from petitrag.documents.base import ParsedDocument
from petitrag.embeddings.base import Embedder
from petitrag.errors import DocumentError, PetitragError, StoreError
from petitrag.index.locks import collection_lock
from petitrag.index.store import ChunkRecord, DocumentRecord, Store
from petitrag.language import analyze, detect_language

#: progress hook: (stage, done, total) with stage "parse" or "embed"
ProgressHook = Callable[[str, int, int], None]


#: said of a file that fails to parse now but was indexed before: its old version still answers
STILL_INDEXED = "; its previous version stays indexed (`petitrag documents remove` takes it out)"
#: said of a folder that cannot be listed
UNLISTABLE = "cannot list this folder (permission denied?); the documents indexed under it stay"


@dataclass
class IngestReport:
    """What one ingest run did, for the summary line and for tests."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # gone from disk, kept because --prune was not given
    ignored: int = 0  # files of unsupported types met while walking folders
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (skipped, the same file kept)
    moved: list[tuple[str, str]] = field(default_factory=list)  # (former path, new path)
    chunks: int = 0
    embedded: int = 0
    embed_error: str | None = None
    vectors: tuple[int, int] = (0, 0)  # (embedded, total) after the run
    seconds: float = 0.0
    warnings: list[tuple[str, str]] = field(default_factory=list)


class Ingestor:
    """Ingest files and folders into one collection."""

    def __init__(
        self, settings: Settings, store: Store, embedder: Embedder, progress: ProgressHook | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.progress = progress or (lambda stage, done, total: None)
        self.chunker = Chunker(embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
        self.chunking = f"{settings.chunk_tokens}/{settings.chunk_overlap}"

    def run(
        self,
        paths: Iterable[Path],
        collection: str,
        prune: bool = False,
        embed: bool = True,
    ) -> IngestReport:
        """CollectionBusyError at once when another process ingests into the collection."""
        started = time.perf_counter()
        report = IngestReport()
        self.unreadable: list[str] = []  # folders that could not be listed: their documents stay
        with collection_lock(self.settings.home, collection, "ingest into"):
            files, roots = self._collect(paths, collection, report)
            if not (files or roots or self.store.collection(collection)):
                return self._finished(report, collection, started)  # a mistyped path makes no collection
            self.store.ensure_collection(collection, self.embedder.identity)
            files = self._skip_indexed_under_other_names(collection, files, report)
            if files:  # shown while the first file is read: a 5 MB file left the screen blank 30 s
                self.progress("parse", 0, len(files))
            for done, path in enumerate(files, start=1):
                self._ingest_file(path, collection, report)
                self.progress("parse", done, len(files))
            self._handle_disappeared(collection, roots, {str(p) for p in files}, prune, report)
            if embed:
                self._embed_missing(collection, report)
        return self._finished(report, collection, started)

    def _finished(self, report: IngestReport, collection: str, started: float) -> IngestReport:
        report.vectors = self.store.vector_counts(collection)
        report.seconds = time.perf_counter() - started
        return report

    # -- phase 1: files ----------------------------------------------------------------------

    def _collect(
        self, paths: Iterable[Path], collection: str, report: IngestReport
    ) -> tuple[list[Path], list[Path]]:
        """Expand folders recursively (skipping hidden entries); explicit files are always tried.

        Paths are normalized (``..``, ``//``) so that one file given two ways is one document,
        and a file reached through symbolic links under several names is indexed once. A path
        that no longer exists but holds indexed documents is a folder deleted whole or not
        mounted: a root whose documents are missing (kept even with ``--prune``: see
        ``_handle_disappeared``), not a failure.
        """
        files: dict[Path, None] = {}
        roots: list[Path] = []
        for given in paths:
            path = Path(os.path.abspath(Path(given).expanduser()))
            if path.is_dir():
                roots.append(path)
                for found in _walk(path, self.unreadable):
                    if found.suffix.lower() in SUPPORTED_EXTENSIONS:
                        files.setdefault(found, None)
                    else:
                        report.ignored += 1
            elif path.exists():
                files.setdefault(path, None)
                if self.store.has_documents_under(collection, str(path) + os.sep):
                    roots.append(path)  # a folder ingested before, a file now: its documents are gone
            elif path.is_symlink():
                report.failed.append((str(path), f"broken symbolic link (to {os.readlink(path)})"))
            elif self.store.has_documents_under(collection, str(path) + os.sep):
                roots.append(path)
            else:
                report.failed.append((str(path), "no such file or directory"))
        report.failed.extend((folder, UNLISTABLE) for folder in self.unreadable)
        return self._once_each(list(files), report), roots

    def _skip_indexed_under_other_names(
        self, collection: str, files: list[Path], report: IngestReport
    ) -> list[Path]:
        """A file an earlier run indexed under another name (through a symbolic link, or the
        link's target) is that document, reported as a duplicate rather than indexed twice."""
        stored = {document.path for document in self.store.documents(collection)}
        if all(str(path) in stored for path in files):
            return files
        real: dict[str, str] = {}
        for known in sorted(stored):
            if os.path.exists(known):
                real.setdefault(os.path.realpath(known), known)
        kept: dict[Path, None] = {}
        for path in files:
            other = real.get(os.path.realpath(path), str(path))
            if str(path) not in stored and other != str(path):
                report.duplicates.append((str(path), other))
                kept.setdefault(Path(other), None)  # checked under its indexed name: an edit is seen
            else:
                kept.setdefault(path, None)
        return list(kept)

    @staticmethod
    def _once_each(files: list[Path], report: IngestReport) -> list[Path]:
        """One path per real file: the file itself rather than a link to it, else the first name.
        Broken links met in folders are reported, not tried."""
        names: dict[str, list[Path]] = {}
        for path in files:
            if path.is_symlink() and not path.exists():
                report.failed.append((str(path), f"broken symbolic link (to {os.readlink(path)})"))
                continue
            names.setdefault(os.path.realpath(path), []).append(path)
        kept: set[Path] = set()
        for group in names.values():
            chosen = next((path for path in group if not path.is_symlink()), group[0])
            kept.add(chosen)
            report.duplicates.extend((str(path), str(chosen)) for path in group if path != chosen)
        return [path for path in files if path in kept]

    def _ingest_file(self, path: Path, collection: str, report: IngestReport) -> None:
        key = str(path)
        try:
            outcome = self._write_file(path, collection, report)
        except PetitragError as exc:
            if not isinstance(exc, DocumentError):
                raise  # index or embedder problems concern every file: stop with a clear message
            reason = str(exc)
        except PermissionError:
            reason = "permission denied"
        except OSError as exc:
            reason = f"cannot read: {exc.strerror or exc}"
        except sqlite3.Error as exc:
            raise StoreError(f"index write failed: {exc}") from exc
        except Exception as exc:  # a parser library bug must not stop the run
            reason = f"unexpected {type(exc).__name__}: {exc}"
        else:
            if outcome:
                getattr(report, outcome).append(key)
            return
        kept = _utf8_name(path) and self.store.document(collection, key) is not None
        report.failed.append((key, reason + (STILL_INDEXED if kept else "")))

    def _write_file(self, path: Path, collection: str, report: IngestReport) -> str:
        """Parse and store one file; returns the report list it belongs to."""
        if not _utf8_name(path):
            raise DocumentError("file name is not valid UTF-8 (rename it, e.g. `convmv -f latin1 -t utf8`)")
        stat = path.stat()
        if not S_ISREG(stat.st_mode):  # reading a named pipe or a device would block or never end
            raise DocumentError("not a regular file")
        limit = int(self.settings.max_file_mb * 1024 * 1024)
        if stat.st_size > limit:
            size, allowed = _megabytes(stat.st_size, limit), _megabytes(limit, stat.st_size)
            raise DocumentError(f"file too large ({size} > limit {allowed}; raise max_file_mb)")
        existing = self.store.document(collection, str(path))
        # a file chunked with other chunk_tokens/chunk_overlap is cut again: the flags said so
        if existing is not None and existing.chunking is None:  # ingested before chunking was recorded:
            self.store.record_chunking(existing.id, self.chunking)  # most likely with these settings
            existing.chunking = self.chunking
        rechunk = existing is not None and existing.chunking != self.chunking
        if existing and existing.unchanged(stat) and not rechunk:
            return "unchanged"
        data, size, mtime_ns = _read(path, stat.st_mtime_ns)
        digest = hashlib.sha256(data).hexdigest()
        if existing and existing.sha256 == digest and not rechunk:
            self.store.touch_document(existing.id, size, mtime_ns)
            return "unchanged"
        parsed = parse_bytes(data, path, max_bytes=limit)
        report.warnings.extend((str(path), warning) for warning in parsed.warnings)
        chunks = self._records(parsed)
        document = DocumentRecord(
            path=str(path), sha256=digest, size=size, mtime_ns=mtime_ns,
            format=parsed.format, title=parsed.title, pages=parsed.pages, text=parsed.text,
            chunking=self.chunking,
        )  # fmt: skip
        self.store.replace_document(collection, document, chunks)
        report.chunks += len(chunks)
        self._forget_former_names(collection, document, report)  # `mv a.txt b.txt` over an indexed b
        return "updated" if existing else "added"

    def _forget_former_names(self, collection: str, document: DocumentRecord, report: IngestReport) -> None:
        """A file renamed or moved, then ingested under its new name: its former name, gone
        from disk, is dropped. Kept, searches cited a file that no longer exists (the two
        copies tie, and the first indexed won), and only a --prune of its folder removed it. A
        former name whose folder is gone too (a USB stick or a share not mounted) is kept."""
        former = [
            doc.path
            for doc in self.store.documents(collection, sha256=document.sha256)
            if doc.path != document.path
            and _not_a_file(doc.path)
            and os.path.isdir(os.path.dirname(doc.path))
        ]
        self.store.delete_documents(collection, former)
        report.moved.extend((path, document.path) for path in former)

    def _records(self, parsed: ParsedDocument) -> list[ChunkRecord]:
        document_language = detect_language(parsed.text)
        records = []
        for chunk in self.chunker.chunk(parsed):
            language = detect_language(chunk.text, default=document_language, accents_break_ties=False)
            index_text = _with_context(chunk, parsed.title)
            records.append(
                ChunkRecord(
                    text=chunk.text, section=chunk.section, page=chunk.page, start=chunk.start,
                    end=chunk.end, language=language, tokens=chunk.tokens, index_text=index_text,
                    lexical=" ".join(analyze(index_text, language)),
                )
            )  # fmt: skip
        return records

    def _handle_disappeared(
        self, collection: str, roots: list[Path], seen: set[str], prune: bool, report: IngestReport
    ) -> None:
        """Files indexed under an ingested folder that are no longer files there (deleted, now a
        folder, or a link to another file this run indexed): remove with --prune. Documents under
        a folder that could not be listed stay: their files may well be there."""
        prefixes = tuple(str(root) + os.sep for root in roots)
        if not prefixes:
            return
        unlisted = tuple(folder + os.sep for folder in self.unreadable)
        linked = {skipped for skipped, _ in report.duplicates}
        gone = [
            doc.path
            for doc in self.store.documents(collection)
            if doc.path.startswith(prefixes)
            and doc.path not in seen
            and not (unlisted and doc.path.startswith(unlisted))
            and (doc.path in linked or _not_a_file(doc.path))
        ]
        for root in roots:  # nothing found under it: an unmounted share, or a folder moved away
            if root.is_dir() or not root.exists():
                under = str(root) + os.sep
                if not any(path.startswith(under) for path in seen) and any(
                    p.startswith(under) for p in gone
                ):
                    kept = [path for path in gone if path.startswith(under)]
                    gone = [path for path in gone if not path.startswith(under)]
                    report.warnings.append((str(root), _vanished(root, len(kept))))
        if prune:
            self.store.delete_documents(collection, gone)
            report.removed.extend(gone)
        else:
            report.missing.extend(gone)

    # -- phase 2: vectors --------------------------------------------------------------------

    def embed_missing(self, collection: str, report: IngestReport) -> None:
        """Embed every chunk without a vector, committing each batch (restartable)."""
        with collection_lock(self.settings.home, collection, "embed"):
            self._embed_missing(collection, report)

    def _embed_missing(self, collection: str, report: IngestReport) -> None:
        embedded, total = self.store.vector_counts(collection)
        todo = total - embedded
        done = 0
        while True:
            batch = self.store.chunks_without_vectors(collection, self.settings.embed_batch_size)
            if not batch:
                break
            try:
                vectors = self.embedder.embed_passages([text for _, text in batch])
            except PetitragError as exc:
                report.embed_error = str(exc)
                return
            self.store.put_vectors(collection, [rowid for rowid, _ in batch], vectors)
            done += len(batch)
            report.embedded += len(batch)
            self.progress("embed", done, todo)


def _walk(root: Path, unreadable: list[str]) -> Iterable[Path]:
    """Files under ``root`` in a stable order, without hidden files/folders or symlink loops;
    folders that cannot be listed are added to ``unreadable`` (they were skipped silently)."""

    def record(error: OSError) -> None:
        unreadable.append(str(error.filename))

    for directory, subdirs, names in os.walk(root, onerror=record):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                yield Path(directory) / name


def _read(path: Path, mtime_ns: int) -> tuple[bytes, int, int]:
    """The file's bytes, and the size and mtime to remember for them: those after reading when
    they match what was read; else (a file still growing) the bytes' length and the mtime seen
    before, so that the next run reads it again rather than trusting a size it never had."""
    with path.open("rb") as handle:
        data = handle.read()
        after = os.fstat(handle.fileno())
    if after.st_size == len(data):
        return data, after.st_size, after.st_mtime_ns
    return data, len(data), mtime_ns


def _not_a_file(path: str) -> bool:
    """Gone, or no longer a regular file; a path that cannot be checked (permissions) is kept."""
    try:
        return not S_ISREG(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False


def _with_context(chunk: Chunk, title: str | None) -> str:
    """Prefix the chunk with its title and section path: retrieval needs what the text is about."""
    context = chunk.section or ""
    if title and not context.startswith(title):
        context = f"{title} > {context}" if context else title
    return f"{context}\n\n{chunk.text}" if context else chunk.text


def _utf8_name(path: Path) -> bool:
    """Whether the index (UTF-8 text) can hold this path: a name written by an old latin-1
    system reaches Python with surrogate escapes, which SQLite refuses mid-write."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _megabytes(size: int, other: int) -> str:
    """``size`` in MB with the decimals that tell it from ``other`` ("100 MB > limit 100 MB"
    and "1 MB > limit 0 MB" said nothing: "100.1 MB > limit 100.0 MB", "0.57 MB > limit 0.50 MB")."""
    low = min(size, other) / 1024 / 1024
    start = 0 if low >= 10 else 1 if low >= 1 else 2
    for decimals in range(start, 4):
        shown = f"{size / 1024 / 1024:.{decimals}f}"
        if shown != f"{other / 1024 / 1024:.{decimals}f}":
            return f"{shown} MB"
    return f"{size:,} bytes"


def _vanished(root: Path, count: int) -> str:
    """Why the documents of a folder with no file left are kept: a nightly `ingest /mnt/share
    --prune` while the share was not mounted emptied the collection (hours of embedding)."""
    state = "empty" if root.exists() else "missing"
    return (
        f"folder {state} (not mounted?): its {count} indexed document(s) are kept, --prune or not; "
        f"`petitrag documents remove {root}` drops them"
    )
