"""What one running server holds: settings, keys, the model worker, ingest jobs, metrics."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from petitrag.config import Settings
from petitrag.errors import ConfigError
from petitrag.index.store import Store, refuse_option_like
from petitrag.server.auth import KeyRing
from petitrag.server.errors import ApiError
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

    _local: threading.local = field(default_factory=threading.local)

    def store(self) -> Store:
        """The calling thread's connection, for quick reads and deletes outside the model queue.

        SQLite connections cannot cross threads, and listing documents must not wait behind
        a generation; each request thread keeps its connection (opening one runs the schema
        check under a write lock).
        """
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.settings.db_path)
        return store

    def collection_names(self) -> list[str]:
        return [collection.name for collection in self.store().collections()]

    def served_models(self) -> set[str]:
        """Model names answered without RAG: the model that answers first, by its names."""
        names = {self.worker.model_name} if self.worker.model_name else set()
        if not self.settings.route:  # else the route's small model answers
            names.add(self.settings.model)
        return names

    def listed_models(self) -> set[str]:
        """What /v1/models shows of them: not a configured file path (where the operator keeps
        models is not the clients' business; the file's own name is listed)."""
        names = self.served_models()
        if self.worker.model_name:
            names = {name for name in names if "/" not in name and not name.endswith(".gguf")}
        return names or self.served_models()

    def require_collection(self, name: str) -> None:
        """404 (or 409 when it holds no document) before queueing: a stream could only report it
        as an in-stream error."""
        other_way = f"upload them (POST /api/collections/{name}/documents)"
        self.store().require_documents(name, other_way)

    def refuse_upload_target(self, name: str) -> None:
        """Before an upload is stored, what its job would refuse: 409 ``embedder_mismatch`` when
        the collection holds vectors of another embedder, 400 ``invalid_collection`` for a new
        one named like an option ("-x"). Accepted (202), the job failed and the file stayed on
        disk, ingested again (and failing) at every start."""
        from petitrag.embeddings import create_embedder

        if self.store().collection(name) is not None:
            self.store().require_collection(name, create_embedder(self.settings).identity)
            return
        try:
            refuse_option_like(name)  # the store's rule for a new collection's name, said first
        except ConfigError as exc:
            raise ApiError(400, f"invalid collection '{name}': {exc}", "invalid_collection") from None

    def uploads_dir(self, collection: str) -> Path:
        return self.settings.uploads_dir(collection)


def state(request: Request) -> ServerState:
    """FastAPI dependency: the server state of the application serving this request."""
    return request.app.state.petitrag


#: a route parameter of this type gets the server state
Server = Annotated[ServerState, Depends(state)]
