"""Search a collection: BM25, dense, or both fused (term coverage + dense by default, or RRF).

Hybrid is the default because the two fail differently: BM25 nails rare names, numbers
and exact phrasings; dense vectors match paraphrases and cross-language wording.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from petitrag.config import SearchMode, Settings
from petitrag.embeddings.base import Embedder
from petitrag.errors import QueryError
from petitrag.index.locks import holder_name, ingesting_process
from petitrag.index.store import ChunkView, Collection, Store
from petitrag.language import query_term_groups
from petitrag.retrieval.dense import DenseIndex
from petitrag.retrieval.lexical import LexicalIndex
from petitrag.retrieval.ranking import coverage_fusion, reciprocal_rank_fusion, relative_score_fusion

#: how many candidates each retriever contributes to the fusion, at least
CANDIDATES = 100
#: a query embeds in one pass of e5's 512 tokens up to ~400 words; a 60,000-word one took minutes
DENSE_QUERY_WORDS = 400
DENSE_QUERY_CHARS = 4000  # the embedders read 512 tokens at most: a few thousand characters


def dense_index_incomplete(
    store: Store, collection: str, counts: tuple[int, int] | None = None
) -> str | None:
    """What to tell a user whose collection is not fully embedded (search then misses by
    meaning what only those chunks say), None when it is."""
    embedded, total = counts or store.vector_counts(collection)  # (embedded, chunks), if counted
    if embedded >= total:
        return None
    holder = ingesting_process(store.path.parent, collection)
    if holder is not None:  # `petitrag embed` would be refused: the collection is busy
        return (
            f"dense index incomplete: {embedded}/{total} chunks embedded; "
            f"{holder_name(holder, 'an ingest job of this server')} is computing the rest"
        )
    return (
        f"dense index incomplete: {embedded}/{total} chunks embedded; "
        f"run `petitrag embed --collection {collection}` to finish"
    )


@dataclass
class Hit:
    """One retrieved chunk. ``to_json`` gives the stable ``search --json`` shape."""

    rank: int
    score: float
    source: str
    page: int | None
    section: str | None
    chunk_id: str
    text: str
    title: str | None = None
    start: int = 0
    end: int = 0
    language: str = ""
    # share of the query's IDF weight this chunk holds (hybrid coverage fusion only, else None)
    coverage: float | None = None

    def to_json(self) -> dict[str, Any]:
        keys = ("rank", "score", "source", "page", "section", "chunk_id", "text")
        shown = {key: value for key, value in asdict(self).items() if key in keys}
        # float32 sums: 3.000000238418579 over the documented maximum of 3
        return {**shown, "score": round(float(self.score), 6)}


@dataclass
class SearchResult:
    hits: list[Hit]
    mode: SearchMode
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "hits": [hit.to_json() for hit in self.hits],
            "timings": {key: round(value, 6) for key, value in self.timings.items()},
            "mode": self.mode,
            "warnings": self.warnings,
        }


class Retriever:
    """Searches one collection; keeps its loaded indexes warm between queries."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder, collection: str) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.collection_name = collection
        self._lexical: tuple[int, LexicalIndex] | None = None
        self._dense: tuple[str, DenseIndex] | None = None

    def search(self, query: str, k: int | None = None, mode: SearchMode | None = None) -> SearchResult:
        if not query.strip():  # every chunk would match a blank query equally: a meaningless ranking
            raise QueryError("the search query is empty")
        k = k or self.settings.search_k
        mode = mode or self.settings.search_mode
        started = time.perf_counter()
        embedder = self.embedder.identity if mode != "bm25" else None  # BM25 reads no vector
        collection = self.store.require_collection(self.collection_name, embedder)
        result = SearchResult(hits=[], mode=mode)
        timings = result.timings
        counts = self.store.vector_counts(collection.name)
        chunks = counts[1]
        vector = self._query_vector(collection, query, counts, result) if mode != "bm25" else None
        depth = max(CANDIDATES, 4 * k)
        while True:
            ranked, coverages, has_terms = self._ranking(collection, query, vector, mode, depth, timings)
            result.hits = self._distinct_hits(ranked, coverages, k)
            if len(result.hits) >= k or depth >= chunks or len(ranked) < depth:
                break  # enough, or nothing more to find (no side was cut at ``depth``)
            depth *= 4  # copies of one passage (a notice in every file) filled the candidates
        if not has_terms and mode != "dense" and chunks:
            result.warnings.append(
                "the query has no word to match (only stopwords or punctuation)"
                + (
                    "; hits come from the dense search alone"
                    if mode == "hybrid" and vector is not None
                    else ""
                )
            )
        if not result.hits and chunks == 0:
            # "No matching passage." alone reads as a search that looked and found nothing
            result.warnings.append(
                f"collection '{collection.name}' holds no documents; add some with "
                f"`petitrag ingest PATH -c {collection.name}`"
            )
        timings["total_s"] = time.perf_counter() - started
        timings["search_s"] = timings["total_s"] - timings.get("embed_query_s", 0.0)
        return result

    def _ranking(
        self,
        collection: Collection,
        query: str,
        vector: np.ndarray | None,
        mode: SearchMode,
        depth: int,
        timings: dict[str, float],
    ) -> tuple[list[tuple[int, float]], dict[int, float], bool]:
        """The ``mode`` ranking of ``depth`` candidates a side, coverages (hybrid), and whether
        the query has any word to match lexically."""
        dense = self._dense_ranking(collection, vector, depth, timings)
        if mode == "dense":
            return dense, {}, True
        if mode == "bm25":
            ranked, has_terms = self._lexical_ranking(collection, query, depth, timings)
            return ranked, {}, has_terms
        return self._fuse(collection, query, depth, timings, dense)

    def _fuse(
        self,
        collection: Collection,
        query: str,
        depth: int,
        timings: dict[str, float],
        dense: list[tuple[int, float]],
    ) -> tuple[list[tuple[int, float]], dict[int, float], bool]:
        """The fused ranking, and with coverage fusion each candidate's coverage (0 when it
        shares no query term). Coverage is left unknown when the query has no term or there
        are no vectors: the answer pipeline's automatic ``min_score`` relies on both sides."""
        settings = self.settings
        weights = (settings.bm25_weight, settings.dense_weight)
        coverage_of = [rowid for rowid, _ in dense] if settings.fusion == "coverage" else None
        lexical, has_terms = self._lexical_ranking(collection, query, depth, timings, coverage_of)
        started = time.perf_counter()
        if settings.fusion == "coverage":
            ranked = coverage_fusion(lexical, dense, weights)
        elif settings.fusion == "rrf":
            ranked = reciprocal_rank_fusion([lexical, dense], weights, settings.rrf_k)
        else:
            ranked = relative_score_fusion([lexical, dense], weights)
        timings["fusion_s"] = time.perf_counter() - started
        coverages: dict[int, float] = {}
        if settings.fusion == "coverage" and dense and has_terms:
            coverages = {rowid: 0.0 for rowid, _ in dense} | dict(lexical)  # absent: shares no term
        return ranked, coverages, has_terms

    def _lexical_ranking(
        self,
        collection: Collection,
        query: str,
        depth: int,
        timings: dict[str, float],
        coverage_of: list[int] | None = None,
    ) -> tuple[list[tuple[int, float]], bool]:
        """BM25's ranking, or with ``coverage_of`` the coverage ranking plus those chunks' coverage;
        and whether the query has any term (an empty ranking alone does not tell)."""
        started = time.perf_counter()
        index = self._lexical_index(collection)
        timings["bm25_load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        groups = query_term_groups(query, index.languages)
        terms = [term for group in groups for term in group]
        if coverage_of is None:
            ranking = index.search(list(dict.fromkeys(terms)), depth)
        else:
            ranking = index.coverage(groups, depth, coverage_of)
        timings["bm25_s"] = time.perf_counter() - started
        return ranking, bool(terms)

    def _query_vector(
        self, collection: Collection, query: str, counts: tuple[int, int], result: SearchResult
    ) -> np.ndarray | None:
        """The query's embedding, None without vectors to compare it with. A long query is cut
        to what the embedder reads: by words, and by characters for text without spaces (a
        10,000-character URL took 20 s to embed, a 200,000-character one 6 minutes)."""
        incomplete = dense_index_incomplete(self.store, collection.name, counts)
        if incomplete:
            result.warnings.append(incomplete)
        if counts[0] == 0:  # nothing embedded
            return None
        words = query.split()
        read = " ".join(words[:DENSE_QUERY_WORDS])[:DENSE_QUERY_CHARS]
        if len(words) > DENSE_QUERY_WORDS:
            reads = f"{DENSE_QUERY_WORDS} words" + (
                f" ({DENSE_QUERY_CHARS:,} characters)" if len(read) == DENSE_QUERY_CHARS else ""
            )
            result.warnings.append(
                f"long query ({len(words)} words): the dense search reads its first {reads}, "
                "the lexical search all of them"
            )
        elif len(read) < len(" ".join(words)):  # no spaces to cut at: a URL, a pasted code
            result.warnings.append(
                f"long query ({len(query):,} characters): the dense search reads its first "
                f"{DENSE_QUERY_CHARS:,}, the lexical search all of them"
            )
        query = read
        started = time.perf_counter()
        vector = self.embedder.embed_query(query)
        result.timings["embed_query_s"] = time.perf_counter() - started
        return vector

    def _dense_ranking(
        self, collection: Collection, vector: np.ndarray | None, depth: int, timings: dict[str, float]
    ) -> list[tuple[int, float]]:
        if vector is None:
            return []
        started = time.perf_counter()
        index = self._dense_index(collection)
        timings["dense_load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        ranking = index.search(vector, depth)
        timings["dense_s"] = time.perf_counter() - started
        return ranking

    def _lexical_index(self, collection: Collection) -> LexicalIndex:
        if self._lexical is None or self._lexical[0] != collection.chunks_generation:
            index = LexicalIndex(self.store, collection, self.settings.cache_dir)
            self._lexical = (collection.chunks_generation, index)
        return self._lexical[1]

    def _dense_index(self, collection: Collection) -> DenseIndex:
        key = f"{collection.chunks_generation}-{collection.vectors_generation}"
        if self._dense is None or self._dense[0] != key:
            self._dense = (key, DenseIndex(self.store, collection, self.settings.cache_dir))
        return self._dense[1]

    def _distinct_hits(
        self, ranked: list[tuple[int, float]], coverages: dict[int, float], k: int
    ) -> list[Hit]:
        """The best ``k`` chunks whose texts differ (whitespace and case aside).

        A document saved twice under two names, or a disclaimer repeated in every file,
        would otherwise fill several of the top ``k`` with one passage: the answer model
        reads it twice and loses the next passage, and the lead of the best passage over
        the second (a routing signal) reads as none. The better-ranked copy is kept.
        """
        hits: list[Hit] = []
        seen: set[str] = set()
        start = 0
        while len(hits) < k and start < len(ranked):
            window = ranked[start : start + 2 * k]
            start += len(window)
            views = self.store.chunk_views([rowid for rowid, _ in window])
            for rowid, score in window:
                view = views.get(rowid)
                if view is None:  # replaced by an ingest since the cached index was read
                    continue
                text = " ".join(view.text.split()).casefold()
                if text in seen or len(hits) == k:
                    continue
                seen.add(text)
                hits.append(_hit(len(hits) + 1, score, view, coverages.get(rowid)))
        return hits


def _hit(rank: int, score: float, view: ChunkView, coverage: float | None) -> Hit:
    return Hit(
        rank=rank, score=score, source=view.source, page=view.page, section=view.section,
        chunk_id=view.chunk_id, text=view.text, title=view.title, start=view.start, end=view.end,
        language=view.language, coverage=coverage,
    )  # fmt: skip
