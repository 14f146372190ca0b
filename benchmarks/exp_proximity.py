"""Experiment: does term proximity (the question's terms held by ONE sentence) help rank 1?

Production's coverage counts the share of the query's IDF weight a chunk holds anywhere.
For factoid questions the answer sentence usually holds most of the question's terms
together, so this replays coverage fusion plus w × the best sentence's coverage (the
chunk's context line — title, section — counting for each of its sentences). Reuses
exp_rank.py's cached matrices (run it first with the same --home/--collection).

Run (from benchmarks/): ../.venv/bin/python exp_proximity.py ../../shared/data/piaf-fr-dev.json \
       --home out/recall-home --collection bench-piaf-fr-dev --cache out/rank
"""

from __future__ import annotations

import argparse
import math
import re

import numpy as np
from exp_rank import candidate_minmax, load_or_score, paired, print_recall_table, score_arguments

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset
from petitrag.config import load_settings
from petitrag.language import analyze, query_terms

SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def main() -> None:
    args = score_arguments(__doc__).parse_args()
    scores = load_or_score(args)
    proximity = sentence_coverage(args)
    coverage, correct, article = scores["coverage"], scores["correct"], scores["article"]
    dense_rel = candidate_minmax(scores["dense"], False)
    halves = [article % 2 == 0, article % 2 == 1]
    variants = {"production": 2 * coverage + dense_rel}
    for weight in (0.5, 1.0, 1.5, 2.0):
        variants[f"production + sentence×{weight}"] = 2 * coverage + dense_rel + weight * proximity
    for weight in (1.0, 2.0):
        variants[f"sentence×{weight} + relative dense"] = weight * proximity + dense_rel
    print_recall_table(variants, correct, halves)
    paired(variants, correct, "production", "production + sentence×1.0")


def sentence_coverage(args: argparse.Namespace) -> np.ndarray:
    """Every question × every chunk: the largest share of the query's IDF weight one sentence holds."""
    dataset = load_dataset(args.dataset)
    cases = [case for case in dataset.cases if not case.impossible]
    settings = load_settings(home=args.home, embedder=args.embedder, threads=args.threads)
    with open_app(settings) as app:
        collection = app.store.require_collection(args.collection, app.embedder.identity)
        lexical = app.retriever(args.collection)._lexical_index(collection)
        rowids = [int(r) for r in lexical.rowids]
        marks = ",".join("?" * len(rowids))
        rows = app.store.db.execute(
            f"SELECT id, index_text, language FROM chunks WHERE id IN ({marks})", rowids
        ).fetchall()
        index = lexical.bm25.scores
        indptr, documents = index["indptr"], int(index["num_docs"])
        languages, vocabulary = lexical.languages, lexical.vocabulary
        terms_of = [query_terms(case.question, languages) for case in cases]
    by_id = {row[0]: row for row in rows}
    sentences_of = []
    for rowid in rowids:
        _, text, language = by_id[rowid]
        context, _, body = text.partition("\n\n") if "\n\n" in text else ("", "", text)
        shared = set(analyze(context, language))
        sentences_of.append([shared | set(analyze(s, language)) for s in SENTENCE.split(body)] or [shared])

    def idf(term: str) -> float:
        token = vocabulary.get(term)
        frequency = int(indptr[token + 1] - indptr[token]) if token is not None else 0
        return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))

    out = np.zeros((len(cases), len(rowids)), dtype=np.float32)
    for row, terms in enumerate(terms_of):
        weights = {term: idf(term) for term in dict.fromkeys(terms)}
        total = sum(weights.values()) or 1.0
        for column, sentences in enumerate(sentences_of):
            out[row, column] = max(sum(w for t, w in weights.items() if t in s) for s in sentences) / total
    return out


if __name__ == "__main__":
    main()
