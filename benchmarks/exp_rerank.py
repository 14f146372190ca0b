"""Experiment: does a small model's question likelihood put the right passage at rank 1?

Best-first reading answers from passage [1], and PIAF F1 is ≈ 0.60 when it holds the answer and
≈ 0.03 when it does not (BENCHMARKS "Where PIAF F1 is lost"); recall@5 (0.94) is far above
recall@1 (0.79). Query-likelihood reranking (Sachan et al. 2022, "UPR") scores each of the top
candidates by log P(question | passage) under a language model: a passage that answers the
question makes the question itself likely. This script takes production's fusion (term coverage × 2
+ scaled cosines, from ``exp_rank``'s cached matrices), scores its top ``--depth`` chunks with a
local GGUF model (``reply_logprob`` of the question after "write the question this passage
answers"), writes one JSONL row per question, and replays mixes of the two scores.

Run: .venv/bin/python benchmarks/exp_rerank.py ../shared/data/piaf-fr-dev.json \
       --collection bench-piaf-fr-dev --model qwen2.5-coder-0.5b --sample 200 \
       --jsonl benchmarks/out/rerank/piaf-05b.jsonl
     .venv/bin/python benchmarks/exp_rerank.py ... --summary   # replay only
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
from exp_rank import candidate_minmax, load_or_score, score_arguments

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset
from petitrag.config import load_settings

INSTRUCTION = {
    "fr": "Passage :\n{passage}\n\nÉcris une question à laquelle ce passage répond.",
    "en": "Passage:\n{passage}\n\nWrite a question that this passage answers.",
}


def main() -> None:
    parser = score_arguments(__doc__)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--language", default="fr")
    parser.add_argument("--jsonl", type=Path, required=True)
    parser.add_argument("--summary", action="store_true", help="replay the JSONL only")
    args = parser.parse_args()
    if not args.summary:
        score(args)
    summarize(args.jsonl)


def score(args) -> None:
    scores = load_or_score(args)
    fused = 2 * scores["coverage"] + candidate_minmax(scores["dense"], positive=False)
    cases = [case for case in load_dataset(args.dataset).cases if not case.impossible]
    rows = random.Random(0).sample(range(len(cases)), min(args.sample, len(cases)))
    done = set()
    if args.jsonl.exists():
        done = {json.loads(line)["row"] for line in args.jsonl.read_text().splitlines()}
    args.jsonl.parent.mkdir(parents=True, exist_ok=True)
    settings = load_settings(home=args.home, threads=args.threads, model=args.model, context_size=1024)
    with open_app(settings) as app, args.jsonl.open("a") as out:
        retriever = app.retriever(args.collection)
        collection = app.store.require_collection(args.collection, app.embedder.identity)
        rowids = retriever._lexical_index(collection).rowids
        generator = app.generator
        for count, row in enumerate(rows):
            if row in done:
                continue
            top = np.argsort(-fused[row], kind="stable")[: args.depth]
            views = app.store.chunk_views([int(rowids[i]) for i in top])
            started = time.perf_counter()
            question = cases[row].question
            n = generator.count_tokens(question)  # the tokens each passage's log P sums over
            passages = []
            for i in top:
                view = views[int(rowids[i])]
                passage = f"{view.title}\n{view.text}" if view.title else view.text
                message = INSTRUCTION[args.language].format(passage=passage)
                logprob = generator.reply_logprob([{"role": "user", "content": message}], question)
                passages.append(
                    {"fused": float(fused[row][i]), "logprob": logprob, "tokens": n,
                     "correct": bool(scores["correct"][row][i])}
                )  # fmt: skip
            record = {"row": row, "seconds": time.perf_counter() - started, "passages": passages,
                      "any_correct": bool(scores["correct"][row].any())}  # fmt: skip
            out.write(json.dumps(record) + "\n")
            out.flush()
            print(f"{count + 1}/{len(rows)} {record['seconds']:.1f}s", flush=True)


def summarize(path: Path) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    correct = np.array([[p["correct"] for p in r["passages"]] for r in records])
    fused = np.array([[p["fused"] for p in r["passages"]] for r in records])
    logprob = np.array([[p["logprob"] for p in r["passages"]] for r in records])
    tokens = np.array([[p["tokens"] for p in r["passages"]] for r in records])
    mean = logprob / tokens
    print(f"{len(records)} questions, mean {np.mean([r['seconds'] for r in records]):.1f} s each; "
          f"answer in the top {correct.shape[1]}: {correct.any(1).mean():.3f}")  # fmt: skip
    base = correct[:, 0]
    print("| ranking | recall@1 | gained | lost |\n|---|---:|---:|---:|")
    variants = {"fusion (production)": fused, "log P(question) alone": logprob}
    for weight in (0.05, 0.1, 0.2, 0.3, 0.5, 1.0):
        variants[f"fusion + {weight} × log P"] = fused + weight * logprob
    for weight in (0.5, 1.0, 2.0, 4.0):
        variants[f"fusion + {weight} × mean token log P"] = fused + weight * mean
    for name, scores in variants.items():
        picked = correct[np.arange(len(correct)), np.argmax(scores, axis=1)]
        gained, lost = int((picked & ~base).sum()), int((base & ~picked).sum())
        print(f"| {name} | {picked.mean():.3f} | {gained} | {lost} |")
    print("\n| log P alone, reranking only… | recall@1 | questions reranked | passages scored per question |")
    print("|---|---:|---:|---:|")
    for depth in range(2, correct.shape[1] + 1):
        picked = correct[np.arange(len(correct)), np.argmax(logprob[:, :depth], axis=1)]
        print(f"| the top {depth} | {picked.mean():.3f} | 1.00 | {depth} |")
    margin = fused[:, 0] - fused[:, 1]
    for cut in (0.1, 0.2, 0.3, 0.5, 0.75, 1.0):
        rerank = margin < cut
        choice = np.where(rerank, np.argmax(logprob, axis=1), 0)
        picked = correct[np.arange(len(correct)), choice]
        print(f"| when the fusion's lead is < {cut} | {picked.mean():.3f} | {rerank.mean():.2f} | "
              f"{correct.shape[1] * rerank.mean():.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
