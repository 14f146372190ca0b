"""Any sentence-transformers model from a LOCAL directory (optional, heavy: needs torch).

Only local paths are accepted: petitrag never downloads weights behind the user's back,
and a hub name typo would otherwise turn into a slow, confusing network error.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from petitrag.embeddings import e5_prefixes, require_module
from petitrag.embeddings.base import Embedder, normalise
from petitrag.errors import EmbeddingError, MissingDependencyError

_WHAT = "sentence-transformers"
# torch is pinned: an unpinned torch pulls whatever CUDA build is newest (gigabytes).
_INSTALL = "pip install 'petitrag[sentence-transformers]' torch==2.13.0"


class SentenceTransformersEmbedder(Embedder):
    """Wraps ``SentenceTransformer(model_path)`` on CPU with a bounded thread count."""

    backend = "sentence-transformers"

    def __init__(self, model_path: str | Path | None, threads: int = 2, batch_size: int = 16) -> None:
        self.model_path = _local_model_dir(model_path)
        require_module("sentence_transformers", _WHAT, _INSTALL)
        self.threads = max(1, int(threads))
        self.batch_size = max(1, int(batch_size))
        self.query_prefix, self.passage_prefix = e5_prefixes(self.model_path.name)
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return f"sentence-transformers:{self.model_path.name}"

    def _st(self) -> Any:
        """Import torch and load the model once: seconds, so only when actually embedding."""
        with self._lock:
            if self._model is None:
                self._model = _load_model(self.model_path, self.threads)
            return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._st()
        try:
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        except (RuntimeError, ValueError) as exc:
            raise EmbeddingError(f"sentence-transformers failed to embed: {exc}") from exc
        return normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            dim = self._st().get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        return self._encode([self.passage_prefix + text for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]

    def count_tokens(self, text: str) -> int:
        """Content tokens of the model's own tokenizer (no specials, no prefix)."""
        if not text.strip():
            return 0
        tokenizer = getattr(self._st(), "tokenizer", None)
        if tokenizer is None:
            return super().count_tokens(text)
        return max(1, len(tokenizer(text, add_special_tokens=False)["input_ids"]))


def _local_model_dir(model_path: str | Path | None) -> Path:
    """Refuse anything but an existing directory, before any heavy import."""
    if not model_path:
        raise EmbeddingError(
            "the sentence-transformers embedder needs a local model directory: set embedder_model"
        )
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise EmbeddingError(
            f"sentence-transformers model directory not found: {path} "
            "(petitrag only loads local models; download it yourself first)"
        )
    return path.resolve()


def _load_model(path: Path, threads: int) -> Any:
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependencyError(_WHAT, _INSTALL) from None
    torch.set_num_threads(threads)
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise EmbeddingError(f"cannot load sentence-transformers model from {path}: {exc}") from exc
