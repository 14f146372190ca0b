"""End-to-end answer quality on a SQuAD-format set: retrieval over all articles + one model.

Each article becomes a Markdown document (same corpus as retrieval_recall.py); a seeded
sample of questions goes through `petitrag ask`'s pipeline. Predictions are written as
JSONL (re-scorable), metrics with 95 % intervals as JSON, and a Markdown line is printed.

Run: .venv/bin/python benchmarks/answer_quality.py ../shared/data/piaf-fr-dev.json --sample 100
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset, write_corpus
from petitrag.bench.runner import aggregate, predict


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-budget", type=int, default=None)
    parser.add_argument("--k", type=int, default=None, help="Passages retrieved.")
    parser.add_argument("--collection", help="Collection for the corpus [default: bench-<dataset>].")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/answers"))
    args = parser.parse_args()

    from petitrag.config import load_settings

    dataset = load_dataset(args.dataset)
    collection = args.collection or f"bench-{args.dataset.stem}"
    settings = load_settings(
        home=args.home, collection=collection, model=args.model, threads=args.threads,
        prompt_budget=args.prompt_budget, search_k=args.k,
    )  # fmt: skip
    files = write_corpus(dataset, args.home / "corpus" / args.dataset.stem)
    cases = dataset.sample(args.sample, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{args.dataset.stem}-{Path(args.model).stem}"
    with open_app(settings) as app:
        app.ingestor().run(list(files.values()), collection)
        answerer = app.answerer()
        predictions = []
        started = time.perf_counter()
        with (args.out / f"{stem}.predictions.jsonl").open("w", encoding="utf-8") as log:
            for number, case in enumerate(cases, start=1):
                prediction = predict(answerer, case)
                predictions.append(prediction)
                log.write(json.dumps(prediction.to_json(), ensure_ascii=False) + "\n")
                log.flush()
                elapsed = time.perf_counter() - started
                shown = f"{case.question[:60]!r} -> {prediction.prediction[:80]!r}"
                print(f"[{number}/{len(cases)} {elapsed:.0f}s] {shown}", flush=True)
    summary = aggregate(predictions)
    (args.out / f"{stem}.metrics.json").write_text(json.dumps(summary, indent=2))
    m = {key: value["mean"] for key, value in summary.items() if "mean" in value}
    print(f"\n{args.dataset.name} · {args.model} · n={len(cases)} (seed {args.seed})")
    print(
        f"F1 {m['f1']} · contains gold {m['contains_gold']} · correct&answered {m['correct_answered']} · "
        f"abstain on unanswerable {m['abstain_correct']} · false abstention {m['false_abstention']} · "
        f"citation correct {m['citation_correct']} · language match {m['language_match']} · "
        f"TTFT p50 {summary['ttft_s']['p50']} s · tok/s {m['tokens_per_s']} · "
        f"total p50 {summary['total_s']['p50']} s"
    )


if __name__ == "__main__":
    main()
