"""Wiring: settings → store, embedder, ingestor, retriever. One place, used by CLI and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from petitrag.config import Settings
from petitrag.embeddings.base import Embedder
from petitrag.index.store import Store
from petitrag.ingest import Ingestor, ProgressHook
from petitrag.retrieval.hybrid import Retriever

if TYPE_CHECKING:
    from petitrag.answer.pipeline import Answerer
    from petitrag.generation.base import Generator


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

    def answerer(self, collection: str | None = None) -> Answerer:
        from petitrag.answer.pipeline import Answerer

        return Answerer(self.settings, self.retriever(collection), self.generator)

    def close(self) -> None:
        self.store.close()


@contextmanager
def open_app(settings: Settings) -> Iterator[App]:
    app = App(settings)
    try:
        yield app
    finally:
        app.close()
