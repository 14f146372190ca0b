"""Ingest jobs: uploaded files are parsed and embedded in the background, with progress.

Ingesting can take minutes (the default embedder does ~5 passages/s on two cores), far
longer than an HTTP request should live, so an upload answers at once with a job id and
``GET /api/jobs/{id}`` reports progress. Jobs run one at a time on their own thread with
their own ``App`` (SQLite connection and embedder), so answering is not blocked meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from petitrag.app import App
from petitrag.config import Settings
from petitrag.errors import CollectionBusyError, PetitragError
from petitrag.index.store import Store
from petitrag.ingest import IngestReport
from petitrag.retrieval.hybrid import dense_index_incomplete
from petitrag.server.errors import Abandoned, ApiError

log = logging.getLogger("petitrag.server")

Status = Literal["queued", "running", "done", "failed"]
MAX_PENDING = 32  # queued jobs beyond this get 429
KEEP = 500  # finished jobs remembered for GET /api/jobs/{id}
RETRY_S = 1.0  # a job whose collection another process ingests into is tried again after this


@dataclass
class IngestJob:
    id: str
    collection: str
    files: list[str]
    status: Status = "queued"
    #: then "parse" (as soon as it runs), "embed", "done"; "waiting": queued again, another
    #: process ingests into it
    stage: str = "queued"
    done: int = 0
    total: int = 0
    report: dict[str, Any] | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def unfinished(self) -> bool:
        return self.status in ("queued", "running")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "collection": self.collection, "files": [Path(f).name for f in self.files],
            "status": self.status, "stage": self.stage, "done": self.done, "total": self.total,
            "report": self.report, "error": self.error, "created": self.created, "finished": self.finished,
        }  # fmt: skip


def report_json(report: IngestReport) -> dict[str, Any]:
    embedded, total = report.vectors
    return {
        "added": [Path(p).name for p in report.added],
        "updated": [Path(p).name for p in report.updated],
        "unchanged": [Path(p).name for p in report.unchanged],
        "failed": [{"file": Path(p).name, "reason": reason} for p, reason in report.failed],
        "warnings": [{"file": Path(p).name, "warning": warning} for p, warning in report.warnings],
        "duplicates": [{"file": Path(p).name, "same_as": Path(kept).name} for p, kept in report.duplicates],
        "moved": [{"file": Path(p).name, "from": Path(former).name} for former, p in report.moved],
        "chunks": report.chunks,
        "embedded": report.embedded,
        "vectors": {"embedded": embedded, "total": total},
        "embed_error": report.embed_error,
        "seconds": round(report.seconds, 3),
    }


class IngestJobs:
    """A queue of ingest jobs on one background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="petitrag-ingest")
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._lock = threading.Lock()
        self._app: App | None = None  # created and used on the ingest thread only
        self._closing = False
        self._receiving: Counter[str] = Counter()  # uploads being saved, per collection
        self._gates: dict[str, threading.Lock] = {}  # one upload saved at a time, per collection
        self._deleting: set[str] = set()

    @contextmanager
    def receiving(self, collection: str) -> Iterator[None]:
        """Around saving an upload and submitting its job. One upload is saved at a time per
        collection: one that fails removes the files it created, which a concurrent upload of
        the same content would otherwise have taken as its own. Refused while the collection
        is being deleted (its uploads folder goes)."""
        with self._lock:
            if collection in self._deleting:
                raise ApiError(
                    409,
                    f"collection '{collection}' is being deleted; retry when it is done",
                    "collection_busy",
                )
            self._receiving[collection] += 1
            gate = self._gates.setdefault(collection, threading.Lock())
        try:
            with gate:
                yield
        finally:
            with self._lock:
                self._receiving[collection] -= 1
                if not self._receiving[collection]:  # nobody else holds the gate
                    del self._receiving[collection], self._gates[collection]

    @contextmanager
    def deleting(self, collection: str) -> Iterator[None]:
        """Around deleting a collection: refused while an upload to it is saved or ingested."""
        with self._lock:
            if self._receiving[collection] or any(
                job.collection == collection and job.unfinished for job in self._jobs.values()
            ):
                raise ApiError(
                    409,
                    f"files are still being added to '{collection}'; retry when it is done",
                    "collection_busy",
                )
            self._deleting.add(collection)
        try:
            yield
        finally:
            with self._lock:
                self._deleting.discard(collection)

    def submit(self, collection: str, paths: list[Path]) -> IngestJob:
        with self._lock:
            pending = sum(job.unfinished for job in self._jobs.values())
            if pending >= MAX_PENDING:
                raise ApiError(429, f"{pending} ingest jobs are pending; retry later", "queue_full")
            job = IngestJob(uuid.uuid4().hex, collection, [str(path) for path in paths])
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                self._jobs.popitem(last=False)
        self._executor.submit(self._run, job, paths)
        return job

    def resume(self, store: Store) -> list[IngestJob]:
        """A job per collection with uploads never ingested (accepted with a 202, then the server
        stopped while their job was queued: never indexed nor listed, and their names taken), or
        left with chunks and no vectors (a server stopped mid-ingest, an ingest interrupted): its
        search would be lexical only, and nothing would say so."""
        waiting = self._uploads_not_indexed(store)
        jobs = [self.submit(name, paths) for name, paths in waiting.items()]
        if self.settings.search_mode != "bm25":
            unfinished = [c.name for c in store.collections() if dense_index_incomplete(store, c.name)]
            jobs += [self.submit(name, []) for name in unfinished if name not in waiting]
        return jobs

    def _uploads_not_indexed(self, store: Store) -> dict[str, list[Path]]:
        """Uploaded files that no document of their collection is, by collection; the pieces of
        uploads cut short (``.upload-*.part``) are deleted."""
        root = Path(os.path.abspath(self.settings.home / "uploads"))  # as ingest stores paths
        found: dict[str, list[Path]] = {}
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if not folder.is_dir() or folder.name != _collection_or_none(folder.name):
                continue  # not an upload folder petitrag made (hidden, stray, not composed)
            for partial in folder.glob(".upload-*.part"):
                partial.unlink(missing_ok=True)
            files = [
                path
                for path in sorted(folder.iterdir())
                if path.is_file() and not path.name.startswith(".")
                and store.document(folder.name, str(path)) is None
            ]  # fmt: skip
            if files:
                found[folder.name] = files
        return found

    def ingesting(self, collection: str, path: str) -> bool:
        """An unfinished job is adding this file to the collection."""
        with self._lock:
            return any(
                job.collection == collection and job.unfinished and path in job.files
                for job in self._jobs.values()
            )

    def get(self, job_id: str) -> IngestJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no ingest job '{job_id}'", "job_not_found")
        return job

    def _run(self, job: IngestJob, paths: list[Path]) -> None:
        if self._closing:
            job.status, job.error, job.finished = (
                "failed",
                "the server stopped before this job ran",
                time.time(),
            )
            return
        # "parse" from the start: the first file's progress comes once it is read, minutes
        # for a big PDF, which a client was shown "queued" (or "waiting") all along
        job.status, job.stage, job.done, job.total = "running", "parse", 0, len(paths)

        def progress(stage: str, done: int, total: int) -> None:
            if self._closing:  # files are committed one by one: stopping between two is safe
                raise Abandoned("the server is stopping; ingest again to finish")
            job.stage, job.done, job.total = stage, done, total

        retrying = False
        try:
            if self._app is None:
                self._app = App(self.settings)
            report = self._app.ingestor(progress).run(paths, job.collection)
            self._forget_failed_uploads(report.failed, paths, job.collection)
            job.report = report_json(report)
            job.status, job.stage = "done", "done"
        except CollectionBusyError:  # a command-line ingest into it: try again behind the other jobs
            job.status, job.stage, retrying = "queued", "waiting", True
            timer = threading.Timer(RETRY_S, self._retry, (job, paths))
            timer.daemon = True
            timer.start()
        except PetitragError as exc:  # the files stay: a moved home's are indexed under their old path
            job.status, job.error = "failed", str(exc)
        except Exception as exc:  # a bug: keep serving, say what happened
            log.exception("ingest job %s failed", job.id)
            job.status, job.error = "failed", f"unexpected {type(exc).__name__}: {exc}"
        finally:
            if not retrying:
                job.finished = time.time()

    def _forget_failed_uploads(
        self, failed: list[tuple[str, str]], paths: list[Path], collection: str
    ) -> None:
        """An uploaded file that could not be ingested is deleted: no route lists or removes it,
        and it kept its name from the next, good upload ("fake.pdf" → "fake-1.pdf")."""
        assert self._app is not None
        uploaded = {str(path) for path in paths}
        for name, _ in failed:
            if name in uploaded and self._app.store.document(collection, name) is None:
                Path(name).unlink(missing_ok=True)

    def _retry(self, job: IngestJob, paths: list[Path]) -> None:
        try:
            self._executor.submit(self._run, job, paths)
        except RuntimeError:  # the server stopped meanwhile
            job.status, job.error, job.finished = (
                "failed",
                "the server stopped before this job ran",
                time.time(),
            )

    def close(self) -> None:
        """Drop queued jobs; a running one finishes its current file (one transaction), then stops."""
        self._closing = True
        self._executor.submit(self._close_app)
        self._executor.shutdown(wait=False)

    def _close_app(self) -> None:
        if self._app is not None:
            self._app.close()


def _collection_or_none(name: str) -> str | None:
    try:
        return Settings._collection_name(name)
    except ValueError:
        return None
