"""Experiment: which answers of a bench run drew on none of their passages, and what `grounded_only`
makes of them.

An answer whose content words and numbers beyond the question's are in none of the passages the
model read came from the model's own knowledge (``citations.draws_on``). This lists such answers
in a run made without the check (every retrieved passage counts as read, so it errs towards
"grounded"), then answers those questions again on the same passages with the check on (the
default), so the two pair question by question.

Run: .venv/bin/python benchmarks/exp_grounded.py benchmarks/out/bench-piaf-cov benchmarks/out/bench-squad2-cov
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from replay import replay_answerer, replayed_cases

from petitrag.answer.citations import Evidence, draws_on
from petitrag.bench.metrics import token_f1
from petitrag.bench.rundir import read_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for run in args.runs:
        ungrounded = ungrounded_answers(run, args.model)
        print(f"{run.name}: {len(ungrounded)} answers drew on no passage")
        if ungrounded:
            reanswer(run, args.model, args.threads, ungrounded)


def ungrounded_answers(run: Path, model: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """The run's answers (by case id) that add to the question no content word nor number of any
    retrieved passage."""
    hits = {row["case_id"]: row["hits"] for row in read_jsonl(run / "retrieval.jsonl")}
    found = {}
    for row in read_jsonl(run / "predictions.jsonl"):
        if row["model"] != model or row["abstained"]:
            continue
        language = row["question_language"]
        passages = [Evidence.of(hit["text"], language) for hit in hits[row["case_id"]]]
        if draws_on(row["prediction"], row["question"], passages, language) is False:
            found[row["case_id"]] = row
    return found


def reanswer(run: Path, model: str, threads: int, ungrounded: dict[str, dict]) -> None:  # type: ignore[type-arg]
    answerer = replay_answerer(run, model, threads, grounded_only=True)
    for item in replayed_cases(run, limit=10**9):
        before = ungrounded.get(item.case.id)
        if before is None:
            continue
        started = time.perf_counter()
        result = answerer.answer(item.question, item.language, item.hits)
        gold = item.case.answers
        row = {
            "question": item.question, "impossible": item.case.impossible, "gold": gold[:1],
            "before": before["prediction"],
            "f1_before": token_f1(before["prediction"], gold) if gold else None,
            "after": result.answer, "abstained": result.abstained,
            "f1_after": 0.0 if result.abstained or not gold else token_f1(result.answer, gold),
            "seconds": round(time.perf_counter() - started, 1),
        }  # fmt: skip
        print("  " + json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
