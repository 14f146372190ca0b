"""Wiring: settings → store, embedder, ingestor, retriever. One place, used by CLI and tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from petitrag.config import Settings
from petitrag.embeddings.base import Embedder
from petitrag.index.locks import collection_lock
from petitrag.index.store import Store
from petitrag.ingest import Ingestor, ProgressHook
from petitrag.retrieval.hybrid import Retriever

if TYPE_CHECKING:
    from petitrag.answer.pipeline import Answerer
    from petitrag.generation.base import Generator
    from petitrag.routing.router import Router


class App:
    """The parts of petitrag for one data directory; the embedder loads on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)

    @cached_property
    def embedder(self) -> Embedder:
        from petitrag.embeddings import create_embedder

        return create_embedder(self.settings)

    def ingestor(self, progress: ProgressHook | None = None) -> Ingestor:
        return Ingestor(self.settings, self.store, self.embedder, progress)

    def retriever(self, collection: str | None = None) -> Retriever:
        return Retriever(self.settings, self.store, self.embedder, collection or self.settings.collection)

    @cached_property
    def generator(self) -> Generator:
        from petitrag.generation import create_generator

        return create_generator(self.settings)

    def answerer(self, collection: str | None = None, route: str | None = None) -> Answerer | Router:
        """The configured model answers; with a route ('small,large'), a router picks per question."""
        from petitrag.answer.pipeline import Answerer

        route = route or self.settings.route
        if not route:
            return Answerer(self.settings, self.retriever(collection), self.generator)
        return self.router(route, collection)

    def router(self, route: str, collection: str | None = None) -> Router:
        from petitrag.answer.pipeline import Answerer
        from petitrag.generation import check_model_exists, create_generator
        from petitrag.routing.router import Router, parse_route
        from petitrag.routing.score import load_calibration

        spec = parse_route(route)
        check_model_exists(self.settings, spec.large)
        retriever = self.retriever(collection)
        calibration = load_calibration(self.settings.home, spec.small, spec.large)
        calibration.require_fusion(self.settings.fusion, route)
        if self.settings.route_threshold is not None:
            calibration.threshold = self.settings.route_threshold
        small_settings = self.settings
        weights = calibration.model.weights
        if weights.get("self_check"):  # the score needs it: ask the small model
            small_settings = self.settings.model_copy(update={"self_check": True})
        small = Answerer(
            small_settings,
            retriever,
            create_generator(small_settings, spec.small),
            measure_abstention=bool(weights.get("abstain_logprob")),
        )

        def large() -> Answerer:
            return Answerer(self.settings, retriever, create_generator(self.settings, spec.large))

        return Router(small, large, calibration)

    def close(self) -> None:
        self.store.close()


def remove_documents(store: Store, settings: Settings, collection: str, paths: list[str]) -> int:
    """Out of the index; a file uploaded through the server (petitrag's copy) is deleted too,
    the user's own files never. Returns how many documents were removed."""
    removed = store.delete_documents(collection, paths)
    uploads = settings.uploads_dir(collection).absolute()
    for path in map(Path, paths):
        if path.parent == uploads:
            path.unlink(missing_ok=True)
    return removed


def delete_collection(store: Store, settings: Settings, name: str) -> dict[str, int]:
    """The collection's index, its search caches, and the files uploaded to it through the server
    (petitrag's copies); the user's own files are never touched. Returns what it held."""
    held = store.stats(store.require_collection(name).name)
    with collection_lock(settings.home, name, "delete"):
        store.delete_collection(name)
    for folder in (settings.cache_dir / name, settings.uploads_dir(name)):  # a valid name: no '..'
        shutil.rmtree(folder, ignore_errors=True)
    return held


@contextmanager
def open_app(settings: Settings) -> Iterator[App]:
    app = App(settings)
    try:
        yield app
    finally:
        app.close()
