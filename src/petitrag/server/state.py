"""What one running server holds: settings, keys, the model worker, ingest jobs, metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from petitrag.config import Settings
from petitrag.index.store import Store
from petitrag.server.auth import KeyRing
from petitrag.server.jobs import IngestJobs
from petitrag.server.metrics import Metrics
from petitrag.server.worker import ModelWorker


@dataclass
class ServerState:
    settings: Settings
    keys: KeyRing | None
    worker: ModelWorker
    jobs: IngestJobs
    metrics: Metrics
    started_at: float = field(default_factory=time.time)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """A connection of the calling thread, for quick reads and deletes outside the model queue.

        SQLite connections cannot cross threads, and listing documents must not wait behind
        a generation; opening one costs about a millisecond.
        """
        store = Store(self.settings.db_path)
        try:
            yield store
        finally:
            store.close()

    def collection_names(self) -> list[str]:
        with self.store() as store:
            return [collection.name for collection in store.collections()]

    def served_models(self) -> set[str]:
        """Model names answered without RAG: the configured one and its display name."""
        names = {self.settings.model}
        if self.worker.model_name:
            names.add(self.worker.model_name)
        return names

    def uploads_dir(self, collection: str) -> Path:
        return self.settings.home / "uploads" / collection


def state(request: Request) -> ServerState:
    """FastAPI dependency: the server state of the application serving this request."""
    return request.app.state.petitrag


#: a route parameter of this type gets the server state
Server = Annotated[ServerState, Depends(state)]
