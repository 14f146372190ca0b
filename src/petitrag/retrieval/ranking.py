"""Ranking helpers shared by the lexical, dense and hybrid searches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_k(
    rowids: np.ndarray, scores: np.ndarray, limit: int, positive_only: bool = False
) -> list[tuple[int, float]]:
    """Best ``limit`` (rowid, score) pairs, sorted, without sorting every score."""
    limit = min(limit, len(scores))
    if limit <= 0:
        return []
    best = np.argpartition(-scores, limit - 1)[:limit]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(rowids[i]), float(scores[i])) for i in best if not positive_only or scores[i] > 0]


def reciprocal_rank_fusion(
    rankings: Sequence[list[tuple[int, float]]], weights: Sequence[float], constant: int
) -> list[tuple[int, float]]:
    """Weighted RRF: score(d) = Σ wᵢ / (constant + rankᵢ(d)), ranks starting at 1.

    Rank fusion needs no score calibration between BM25 and cosine, which is why it is
    robust across corpora; the weights let a benchmark favour the stronger signal.
    """
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (rowid, _) in enumerate(ranking, start=1):
            fused[rowid] = fused.get(rowid, 0.0) + weight / (constant + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def relative_score_fusion(
    rankings: Sequence[list[tuple[int, float]]], weights: Sequence[float]
) -> list[tuple[int, float]]:
    """Weighted sum of each retriever's scores min-max scaled over its own candidates.

    A retriever's best candidate counts 1, its last 0, and a chunk it did not return 0.
    Unlike RRF, this keeps how far ahead the best chunk is: a passage that matches the
    query's rare words much better than the rest keeps that lead after fusion. On PIAF dev
    (2,021 questions) it put the answer passage first for 75.8 % of questions vs 74.5 % for
    RRF, at the same recall@5, with equal weights (benchmarks/exp_rank.py).
    """
    return _weighted_sum([min_max(ranking) for ranking in rankings], weights)


#: how much a chunk holding all of the query's terms counts against the best dense candidate
COVERAGE_SCALE = 2.0


def coverage_fusion(
    lexical: list[tuple[int, float]], dense: list[tuple[int, float]], weights: Sequence[float]
) -> list[tuple[int, float]]:
    """``weights[0] · 2 · coverage + weights[1] · dense``, dense min-max scaled as in relative fusion.

    ``lexical`` scores are coverages: the share of the query's IDF weight a chunk contains
    (``LexicalIndex.coverage``). They are absolute, so a chunk that shares one common word
    with the query stays low even when nothing matches better, where min-max scaling would
    make it the lexical winner. Counting each term once, whatever its frequency and the
    chunk's length, also suits questions better than BM25 does: PIAF dev recall@1 0.759 →
    0.789, better on both halves of its articles and within single articles too
    (BENCHMARKS "Fusion for rank 1").
    """
    scaled = [(rowid, COVERAGE_SCALE * coverage) for rowid, coverage in lexical]
    return _weighted_sum([scaled, min_max(dense)], weights)


def min_max(ranking: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scores scaled to 0 (worst candidate) … 1 (best); a single candidate counts 1."""
    if not ranking:
        return []
    scores = [score for _, score in ranking]
    low, span = min(scores), max(scores) - min(scores)
    return [(rowid, (score - low) / span if span > 0 else 1.0) for rowid, score in ranking]


def _weighted_sum(
    rankings: Sequence[list[tuple[int, float]]], weights: Sequence[float]
) -> list[tuple[int, float]]:
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rowid, score in ranking:
            fused[rowid] = fused.get(rowid, 0.0) + weight * score
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
