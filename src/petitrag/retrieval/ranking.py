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
