"""Retrieve once, replay to every model: the passages are identical, only the model differs.

The parent process searches each question once (``retrieve_cases``) and stores the hits in
``retrieval.jsonl``; each model's worker answers through a ``ReplayRetriever`` that serves
those hits. Workers then need no embedder (faster start, and their peak RSS is the model's),
and a re-ingested collection cannot make two models of one run see different passages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from petitrag.bench.datasets import Case
from petitrag.bench.metrics import contains_gold
from petitrag.bench.rundir import RETRIEVAL, read_jsonl, write_jsonl
from petitrag.config import SearchMode, Settings
from petitrag.index.store import Store
from petitrag.retrieval.hybrid import Hit, Retriever, SearchResult


def retrieve_cases(
    retriever: Retriever, out: Path, cases: list[Case], on_done: Callable[[int, int], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Hits for every case (reusing those already stored), keyed by case id."""
    stored = {row["case_id"]: row for row in read_jsonl(out / RETRIEVAL)}
    missing = [case for case in cases if case.id not in stored]
    if missing:  # load the embedder and indexes first: a per-process cost, not a per-question one
        retriever.search(missing[0].question.strip())
    for number, case in enumerate(missing, start=1):
        started = time.perf_counter()
        result = retriever.search(case.question.strip())
        stored[case.id] = {
            "case_id": case.id,
            "question": case.question.strip(),
            "hits": [asdict(hit) for hit in result.hits],
            "retrieval_s": round(time.perf_counter() - started, 6),
            "timings": {key: round(value, 6) for key, value in result.timings.items()},
            "warnings": result.warnings,
        }
        if on_done:
            on_done(number, len(missing))
    if missing:
        write_jsonl(out / RETRIEVAL, list(stored.values()))
    return {case.id: stored[case.id] for case in cases}


def stored_retrieval(out: Path, cases: list[Case]) -> dict[str, dict[str, Any]]:
    """The hits already stored for these cases (read-only: no embedder, no search)."""
    wanted = {case.id for case in cases}
    return {row["case_id"]: row for row in read_jsonl(out / RETRIEVAL) if row["case_id"] in wanted}


def gold_retrieved(row: dict[str, Any], case: Case, within: int | None = None) -> float | None:
    """1 when a retrieved passage (of the first ``within``) contains a gold answer, None for
    unanswerable cases: over all passages, the ceiling of any model's 'contains gold'."""
    if case.impossible or not case.answers:
        return None
    return float(any(contains_gold(hit["text"], case.answers) for hit in row["hits"][:within]))


class ReplayRetriever(Retriever):
    """A retriever that answers each known question with its stored hits."""

    def __init__(self, settings: Settings, store: Store, collection: str, rows: list[dict[str, Any]]) -> None:
        self.settings = settings
        self.store = store
        self.collection_name = collection
        self._results = {row["question"]: row for row in rows}

    def search(self, query: str, k: int | None = None, mode: SearchMode | None = None) -> SearchResult:
        row = self._results.get(query.strip())
        if row is None:
            raise KeyError(f"question not retrieved by the benchmark: {query!r}")
        hits = [Hit(**hit) for hit in row["hits"]][: k or None]
        return SearchResult(hits, mode or self.settings.search_mode, {"total_s": row["retrieval_s"]})

    def retrieval_s(self, question: str) -> float:
        """How long the real search took for this question, in the parent."""
        return float(self._results[question.strip()]["retrieval_s"])
