"""BM25 over the stemmed terms stored with each chunk (bm25s, Lucene variant)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from petitrag.index.store import Collection, Store
from petitrag.retrieval.cache import cached_folder
from petitrag.retrieval.ranking import top_k


class LexicalIndex:
    """A collection's BM25 index, loaded from (or built into) the disk cache."""

    def __init__(self, store: Store, collection: Collection, cache_dir: Path) -> None:
        import bm25s

        self.bm25: bm25s.BM25 | None = None
        folder = cached_folder(
            cache_dir / collection.name,
            "bm25",
            str(collection.chunks_generation),
            self._builder(store, collection),
        )
        self.rowids = np.load(folder / "rowids.npy")
        self.languages: set[str] = set(json.loads((folder / "languages.json").read_text()))
        if len(self.rowids):
            self.bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        self.vocabulary: dict[str, int] = dict(self.bm25.vocab_dict) if self.bm25 else {}

    @staticmethod
    def _builder(store: Store, collection: Collection):  # type: ignore[no-untyped-def]
        def build(folder: Path) -> None:
            import bm25s

            rowids, corpus = store.lexical_corpus(collection.name)
            np.save(folder / "rowids.npy", rowids)
            (folder / "languages.json").write_text(json.dumps(sorted(store.languages(collection.name))))
            if len(rowids):
                index = bm25s.BM25(k1=1.2, b=0.75)
                index.index(corpus, show_progress=False)
                index.save(str(folder), show_progress=False)

        return build

    def search(self, terms: list[str], limit: int) -> list[tuple[int, float]]:
        """Top ``limit`` (rowid, score) pairs with a positive score."""
        known = [term for term in terms if term in self.vocabulary]
        if self.bm25 is None or not known:
            return []
        scores = self.bm25.get_scores(known)
        return top_k(self.rowids, scores, limit, positive_only=True)
