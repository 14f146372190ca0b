"""Shared by the answer experiments: re-answer a bench run's cases on the passages it retrieved.

A bench run directory holds the cases, the hits retrieved for each (retrieval.jsonl) and the run's
generation settings (run.json); an experiment changes one thing and answers again, so its results
pair with the run's own predictions question by question.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petitrag.answer.pipeline import Answerer
from petitrag.answer.result import AnswerResult
from petitrag.bench.datasets import Case
from petitrag.bench.metrics import contains_gold, token_f1
from petitrag.bench.retrieval import ReplayRetriever
from petitrag.bench.rundir import read_cases, read_jsonl
from petitrag.config import Settings
from petitrag.generation import create_generator
from petitrag.index.store import Store
from petitrag.language import Language, detect_language
from petitrag.retrieval.hybrid import Hit


@dataclass
class Replayed:
    case: Case
    question: str  # stripped, as the pipeline sees it
    language: Language
    hits: list[Hit]


def replay_answerer(run_dir: Path, model: str, threads: int, **settings: Any) -> Answerer:
    """An answerer with the run's generation settings (plus ``settings``) and its stored passages."""
    run = json.loads((run_dir / "run.json").read_text())
    config = Settings(
        home=Path(run["home"]), model=model, threads=threads, context_size=run["context_size"],
        max_tokens=run["max_tokens"], prompt_budget=run["prompt_budget"], **settings,
    )  # fmt: skip
    retriever = ReplayRetriever(config, Store(config.db_path), run["collection"], [])
    return Answerer(config, retriever, create_generator(config))


def replayed_cases(run_dir: Path, limit: int) -> Iterator[Replayed]:
    """The run's first ``limit`` cases with the hits retrieved for them."""
    rows = {row["case_id"]: row for row in read_jsonl(run_dir / "retrieval.jsonl")}
    for case in read_cases(run_dir)[:limit]:
        question = case.question.strip()
        hits = [Hit(**hit) for hit in rows[case.id]["hits"]]
        yield Replayed(case, question, detect_language(question), hits)


def scored(case: Case, result: AnswerResult, started: float, **extra: Any) -> str:
    """One JSON line: the answer, its scores against the gold answers, its time, and ``extra``."""
    golds = case.answers
    row = {
        "case_id": case.id, "impossible": case.impossible, "gold": golds, "answer": result.answer,
        "abstained": result.abstained, "self_check": result.signals.get("self_check"),
        "f1": token_f1(result.answer, golds) if golds else None,
        "contains": contains_gold(result.answer, golds) if golds else None,
        "seconds": time.perf_counter() - started, **extra,
    }  # fmt: skip
    return json.dumps(row, ensure_ascii=False) + "\n"
