"""Experiment: answer from each retrieved passage alone, to compare selection policies offline.

Reads a bench run directory (cases.jsonl + retrieval.jsonl), answers the first N cases that a
reference model answered there, once per passage, and writes one JSON line per (case, passage).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from petitrag.answer.pipeline import Answerer
from petitrag.bench.retrieval import ReplayRetriever
from petitrag.bench.rundir import read_cases, read_jsonl
from petitrag.config import Settings
from petitrag.generation import create_generator
from petitrag.index.store import Store
from petitrag.language import detect_language
from petitrag.retrieval.hybrid import Hit


def main(run_dir: str, model: str, limit: int, out_path: str, threads: int, ranks: int = 5) -> None:
    out = Path(run_dir)
    run = json.loads((out / "run.json").read_text())
    settings = Settings(
        home=Path(run["home"]),
        model=model,
        threads=threads,
        context_size=run["context_size"],
        max_tokens=run["max_tokens"],
        prompt_budget=run["prompt_budget"],
    )
    cases = {c.id: c for c in read_cases(out)}
    order = [
        r["case_id"] for r in read_jsonl(out / "predictions.jsonl") if r["model"] == "qwen2.5-coder-1.5b"
    ]
    rows = {r["case_id"]: r for r in read_jsonl(out / "retrieval.jsonl")}
    done = set()
    if Path(out_path).exists():
        done = {json.loads(line)["case_id"] for line in Path(out_path).read_text().splitlines()}
    generator = create_generator(settings)
    answerer = Answerer(
        settings, ReplayRetriever(settings, Store(settings.db_path), run["collection"], []), generator
    )
    with open(out_path, "a") as sink:
        for case_id in order[:limit]:
            if case_id in done:
                continue
            case = cases[case_id]
            language = detect_language(case.question)
            hits = [Hit(**hit) for hit in rows[case_id]["hits"]]
            for rank, hit in enumerate(hits[:ranks], start=1):
                started = time.perf_counter()
                result = answerer.answer(case.question.strip(), language, [hit])
                sink.write(
                    json.dumps(
                        {
                            "case_id": case_id,
                            "rank": rank,
                            "answer": result.answer,
                            "abstained": result.abstained,
                            "confidence": result.confidence,
                            "signals": result.signals,
                            "prompt_tokens": result.timings.get("prompt_tokens"),
                            "seconds": time.perf_counter() - started,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                sink.flush()
            print(case_id, flush=True)


if __name__ == "__main__":
    main(
        sys.argv[1],
        sys.argv[2],
        int(sys.argv[3]),
        sys.argv[4],
        int(sys.argv[5]),
        int(sys.argv[6]) if len(sys.argv) > 6 else 5,
    )
