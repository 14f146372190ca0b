"""BM25 over the stemmed terms stored with each chunk (bm25s, Lucene variant), and the
IDF-weighted share of a query's terms each chunk contains (what hybrid search fuses)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from petitrag.index.store import Collection, Store
from petitrag.retrieval.cache import load_cached
from petitrag.retrieval.ranking import top_k


class LexicalIndex:
    """A collection's BM25 index, loaded from (or built into) the disk cache."""

    def __init__(self, store: Store, collection: Collection, cache_dir: Path) -> None:
        import bm25s

        self.bm25: bm25s.BM25 | None
        self.rowids, self.languages, self.bm25 = load_cached(
            cache_dir / collection.name,
            "bm25",
            str(collection.chunks_generation),
            self._builder(store, collection),
            self._load,
        )
        self.vocabulary: dict[str, int] = dict(self.bm25.vocab_dict) if self.bm25 else {}

    @staticmethod
    def _load(folder: Path) -> tuple[np.ndarray, set[str], Any]:
        import bm25s

        rowids = np.load(folder / "rowids.npy")
        languages = json.loads((folder / "languages.json").read_text())
        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if len(rowids) else None
        if not isinstance(languages, list) or (
            bm25 is not None
            and (not languages or not bm25.vocab_dict or bm25.scores.get("num_docs") != len(rowids))
        ):  # valid JSON of the wrong shape searched nothing, or was a TypeError, for good
            raise ValueError(f"misshapen search cache in {folder}")
        return rowids, set(languages), bm25

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

    def coverage(
        self, groups: list[tuple[str, ...]], limit: int, also: Sequence[int] = ()
    ) -> list[tuple[int, float]]:
        """Top ``limit`` (rowid, coverage) pairs, plus the coverage of the ``also`` chunks (the
        dense candidates, so that fusion never counts as 0 a chunk that does match).

        Coverage is the share of the query's IDF weight whose words the chunk contains, each
        word counted once, in any of its forms (``query_term_groups``): 1 when it holds every
        word, and a word no chunk contains weighs as much as the rarest one — so a question whose
        words are mostly absent (another language, a paraphrase) cannot make a chunk sharing
        one common word look like a match.
        """
        coverage = self._coverage(groups)
        if coverage is None:
            return []
        ranking = top_k(self.rowids, coverage, limit, positive_only=True)
        chosen = {rowid for rowid, _ in ranking}
        wanted = np.array([rowid for rowid in also if rowid not in chosen], dtype=np.int64)
        positions = np.searchsorted(self.rowids, wanted).clip(0, max(len(self.rowids) - 1, 0))
        found = self.rowids[positions] == wanted
        extra = [(int(r), float(coverage[p])) for r, p in zip(wanted[found], positions[found], strict=True)]
        return ranking + [pair for pair in extra if pair[1] > 0]

    def _coverage(self, groups: list[tuple[str, ...]]) -> np.ndarray | None:
        if self.bm25 is None or not groups:
            return None
        index = self.bm25.scores
        indptr, indices, documents = index["indptr"], index["indices"], int(index["num_docs"])
        coverage = np.zeros(documents, dtype=np.float32)
        total = 0.0
        for forms in groups:
            holds = np.zeros(documents, dtype=bool)
            frequency = 0  # of the word's commonest form: how the collection writes it
            for token in (self.vocabulary.get(form) for form in forms):
                if token is not None:
                    start, end = int(indptr[token]), int(indptr[token + 1])
                    holds[indices[start:end]] = True
                    frequency = max(frequency, end - start)
            idf = math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))  # Lucene's IDF
            coverage[holds] += idf
            total += idf
        return coverage / total
