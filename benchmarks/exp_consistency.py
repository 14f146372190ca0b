"""Experiment: does the model agree with itself when sampled? Self-consistency as a sign of a
right answer or an unanswerable question (sampled answers scatter where the model guesses).

Reads a bench run directory, and for each case builds the first best-first reading's prompt
(passage [1] alone), answers it greedily, then samples ``--samples`` answers at
``--temperature`` from the same prompt (its KV is reused: each sample costs only its decode).
Writes one JSON line per case; ``--analyse`` reads them back with the run's predictions and
prints ROC AUCs and the abstention trade-off of a threshold on agreement, next to the
signals the pipeline already has.

Run: .venv/bin/python benchmarks/exp_consistency.py benchmarks/out/bench-squad2-s20 \
       --out benchmarks/out/consistency-squad2.jsonl --limit 100
     .venv/bin/python benchmarks/exp_consistency.py benchmarks/out/bench-squad2-s20 \
       --out benchmarks/out/consistency-squad2.jsonl --analyse
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from replay import replay_answerer, replayed_cases

from petitrag.answer.citations import remove_invalid
from petitrag.answer.packing import pack
from petitrag.answer.prompts import build_messages, is_abstention
from petitrag.bench.metrics import token_f1
from petitrag.bench.rundir import read_jsonl
from petitrag.generation.base import GenerationParams
from petitrag.routing.calibrate import auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--analyse", action="store_true")
    args = parser.parse_args()
    if args.analyse:
        analyse(args.run_dir, args.out)
    else:
        sample(args)


def sample(args: argparse.Namespace) -> None:
    answerer = replay_answerer(args.run_dir, args.model, args.threads)
    generator = answerer.generator
    done = {row["case_id"] for row in read_jsonl(args.out)} if args.out.exists() else set()
    with args.out.open("a") as sink:
        for item in replayed_cases(args.run_dir, args.limit):
            if item.case.id in done:
                continue
            started = time.perf_counter()
            budget = answerer._budget(item.question, item.language)
            context = pack(item.hits[:1], item.question, item.language, budget, generator.count_tokens)
            messages = build_messages(item.question, item.language, context.sources)
            prefix = len(messages) - 1
            greedy = generator.complete(messages, GenerationParams(max_tokens=48, prefix_messages=prefix))
            sampling = dict(max_tokens=48, temperature=args.temperature, top_p=0.95, prefix_messages=prefix)
            samples = [
                generator.complete(messages, GenerationParams(**sampling, seed=seed)).text.strip()
                for seed in range(1, args.samples + 1)
            ]
            row = {
                "case_id": item.case.id, "impossible": item.case.impossible, "gold": item.case.answers,
                "greedy": greedy.text.strip(), "samples": samples, "seconds": time.perf_counter() - started,
            }  # fmt: skip
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            sink.flush()
            print(item.case.id, f"{row['seconds']:.1f}s", flush=True)


def _clean(text: str) -> str:
    return remove_invalid(text, 0).strip()


def agreement(reference: str, samples: list[str]) -> float:
    """Mean over samples: 1 when both abstain, token F1 between the answers when neither does, 0 else."""
    scores = []
    for text in samples:
        if is_abstention(reference) or is_abstention(text):
            scores.append(float(is_abstention(reference) and is_abstention(text)))
        else:
            scores.append(token_f1(_clean(text), [_clean(reference)]))
    return float(np.mean(scores)) if scores else 0.0


def analyse(run_dir: Path, out: Path) -> None:
    predictions = {row["case_id"]: row for row in read_jsonl(run_dir / "predictions.jsonl")}
    rows = [row for row in read_jsonl(out) if row["case_id"] in predictions]
    judged = [_judged(predictions[row["case_id"]], row) for row in rows]
    answered = [item for item in judged if not item["abstained"]]
    right = [item["right"] for item in answered]
    print(f"{len(rows)} cases, {len(answered)} answered by the run, {sum(right)} of those right")
    for name in ("agreement", "agreement_first_pass", "abstain_logprob_negated", "confidence"):
        value = auc([item[name] for item in answered], right)
        print(f"  AUC right-vs-rest  {name:24s} " + (f"{value:.3f}" if value is not None else "n/a"))
    print("\nabstain also when agreement < t:\n  t     abstains(unans)  correct&answered  false-abstention")
    unanswerable = [item for item in judged if item["impossible"]]
    answerable = [item for item in judged if not item["impossible"]]
    for threshold in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        abstains = [item["abstained"] or item["agreement"] < threshold for item in unanswerable]
        gated = [(item["abstained"] or item["agreement"] < threshold, item["right"]) for item in answerable]
        correct = np.mean([right and not out for out, right in gated])
        print(f"  {threshold:.1f}   {np.mean(abstains):.2f}             {correct:.2f}"
              f"              {np.mean([out for out, _ in gated]):.2f}")  # fmt: skip


def _judged(prediction: dict, row: dict) -> dict:
    """The run's final answer, whether it is right, and the signals compared."""
    final, logprob = prediction["prediction"], prediction["signals"].get("abstain_logprob")
    right = not row["impossible"] and not prediction["abstained"] and token_f1(final, row["gold"]) >= 0.5
    return {
        "impossible": row["impossible"], "abstained": prediction["abstained"], "right": right,
        "agreement": agreement(final, row["samples"]),
        "agreement_first_pass": agreement(row["greedy"], row["samples"]),
        "abstain_logprob_negated": -(logprob if logprob is not None else 0.0),
        "confidence": prediction.get("confidence") or 0.0,
    }  # fmt: skip


if __name__ == "__main__":
    main()
