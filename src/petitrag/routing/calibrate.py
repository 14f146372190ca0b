"""Calibrate routing on the user's test set, from the predictions of both models.

Both models answered every case (``petitrag bench``), so any threshold can be replayed
offline: below it the large model's prediction counts (and its time is added to the
small model's), above it the small one's. We fit the confidence model on the small
model's signals (label: its answer was right), score each case with weights fitted on
the other folds (so the curve is not flattered by over-fitting), sweep thresholds, and
pick the cheapest one whose quality stays within ``margin`` of the large model alone.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from petitrag.bench.runner import Prediction, score
from petitrag.errors import PetitragError
from petitrag.routing.score import Calibration, ConfidenceModel
from petitrag.routing.signals import SIGNAL_NAMES

FOLDS = 5
L2 = 1.0  # ridge strength on standardised weights: ~100 cases must not yield wild weights
MIN_CASES = 10


@dataclass
class Case:
    """One test question answered by both models."""

    small: Prediction
    large: Prediction

    @cached_property
    def small_quality(self) -> float:
        return quality(self.small)

    @cached_property
    def large_quality(self) -> float:
        return quality(self.large)

    @property
    def small_good(self) -> bool:
        return self.small_quality >= 0.5


def quality(prediction: Prediction) -> float:
    """Per-case quality: token F1 on answerable cases, abstention on unanswerable ones."""
    metrics = score(prediction)
    value = metrics["abstain_correct"] if prediction.impossible else metrics["f1"]
    return float(value or 0.0)


def pair(small: list[Prediction], large: list[Prediction]) -> list[Case]:
    """Cases both models answered, matched by case id."""
    by_id = {p.case_id: p for p in large}
    cases = [Case(p, by_id[p.case_id]) for p in small if p.case_id in by_id]
    if len(cases) < MIN_CASES:
        raise PetitragError(
            f"routing calibration needs at least {MIN_CASES} cases answered by both models, got {len(cases)}"
        )
    return cases


def fit(features: np.ndarray, labels: np.ndarray, iterations: int = 2000) -> ConfidenceModel:
    """Ridge logistic regression by gradient descent on standardised features."""
    means = features.mean(axis=0)
    scales = features.std(axis=0)
    # a signal that never varied (the neutral self-check of a run without it) has a std of
    # 1e-16, not 0: scaled by it, its rounding noise got a weight and decided every route
    constant = scales < 1e-9 * np.maximum(1.0, np.abs(means))
    scales[constant] = 1.0
    features = np.where(constant, means, features)
    x = (features - means) / scales
    n, d = x.shape
    weights, bias = np.zeros(d), 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        weights -= 0.1 * (x.T @ (p - labels) / n + L2 * weights / n)
        bias -= 0.1 * float(np.mean(p - labels))
    names = list(SIGNAL_NAMES)
    return ConfidenceModel(
        weights={name: float(w) for name, w in zip(names, weights, strict=True)},
        bias=float(bias),
        means={name: float(m) for name, m in zip(names, means, strict=True)},
        scales={name: float(s) for name, s in zip(names, scales, strict=True)},
    )


def training_set(cases: list[Case]) -> tuple[np.ndarray, np.ndarray]:
    """The small model's signals as a feature matrix, and whether each answer was right."""
    base = ConfidenceModel()
    features = np.array([base.features(case.small.signals) for case in cases], dtype=float)
    return features, np.array([float(case.small_good) for case in cases])


def cross_fitted_scores(cases: list[Case], features: np.ndarray, labels: np.ndarray) -> list[float]:
    """Each case scored by a model fitted without it (k-fold), for an honest curve."""
    scores = [0.0] * len(cases)
    for fold in range(FOLDS):
        held = [i for i in range(len(cases)) if i % FOLDS == fold]
        kept = [i for i in range(len(cases)) if i % FOLDS != fold]
        model = fit(features[kept], labels[kept])
        for i in held:
            scores[i] = model.score(cases[i].small.signals)
    return scores


def replay(cases: list[Case], scores: list[float], threshold: float) -> dict[str, float | None]:
    """Quality, latency and escalation rate had the router used this threshold."""
    f1, abstain, latency, escalated = [], [], [], 0
    for case, confidence in zip(cases, scores, strict=True):
        escalate = confidence < threshold
        escalated += escalate
        (abstain if case.small.impossible else f1).append(
            case.large_quality if escalate else case.small_quality
        )
        seconds = case.small.timings.get("total_s", 0.0)
        if escalate:
            seconds += case.large.timings.get("total_s", 0.0) - case.large.timings.get("retrieval_s", 0.0)
        latency.append(seconds)
    return {
        "threshold": round(threshold, 4),
        "escalation_rate": escalated / len(cases),
        "f1": statistics.fmean(f1) if f1 else None,
        "abstain_accuracy": statistics.fmean(abstain) if abstain else None,
        "mean_latency_s": statistics.fmean(latency),
    }


def alone(predictions: list[Prediction]) -> dict[str, float | None]:
    """One model's quality and latency over the same cases."""
    f1 = [quality(p) for p in predictions if not p.impossible]
    abstain = [quality(p) for p in predictions if p.impossible]
    return {
        "f1": statistics.fmean(f1) if f1 else None,
        "abstain_accuracy": statistics.fmean(abstain) if abstain else None,
        "mean_latency_s": statistics.fmean(p.timings.get("total_s", 0.0) for p in predictions),
    }


def within_margin(point: dict[str, float | None], ceiling: dict[str, float | None], margin: float) -> bool:
    """Every quality the large model has is kept to at least (1 − margin) of it."""
    for metric in ("f1", "abstain_accuracy"):
        reference = ceiling[metric]
        if reference is not None and (point[metric] or 0.0) < (1 - margin) * reference:
            return False
    return True


def auc(values: list[float], labels: list[bool]) -> float | None:
    """ROC AUC of one signal for "the small answer is right" (Mann-Whitney, ties count half)."""
    positives = [v for v, good in zip(values, labels, strict=True) if good]
    negatives = [v for v, good in zip(values, labels, strict=True) if not good]
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def signal_aucs(features: np.ndarray, labels: np.ndarray) -> dict[str, float | None]:
    """How well each signal alone separates right from wrong small answers (0.5 = not at all)."""
    good = [bool(label) for label in labels]
    return {name: auc(features[:, column].tolist(), good) for column, name in enumerate(SIGNAL_NAMES)}


def calibrate(
    small: list[Prediction], large: list[Prediction], margin: float = 0.03, dataset: str = ""
) -> Calibration:
    """Fit the score, sweep thresholds, choose the cheapest one within ``margin`` of the large model."""
    cases = pair(small, large)
    features, labels = training_set(cases)
    scores = cross_fitted_scores(cases, features, labels)
    ceiling = alone([case.large for case in cases])
    thresholds = sorted({0.0, 1.01, *scores})
    curve = [replay(cases, scores, t) for t in thresholds]
    passing = [point for point in curve if within_margin(point, ceiling, margin)]
    chosen = min(passing, key=lambda point: (point["mean_latency_s"], point["escalation_rate"]))
    final = fit(features, labels)
    details: dict[str, Any] = {
        "dataset": dataset,
        "n": len(cases),
        "margin": margin,
        "small_alone": alone([case.small for case in cases]),
        "large_alone": ceiling,
        "chosen": chosen,
        "latency_ratio": _ratio(chosen["mean_latency_s"], ceiling["mean_latency_s"]),
        "small_right_rate": statistics.fmean(float(case.small_good) for case in cases),
        "signal_auc": signal_aucs(features, labels),
        "score_auc": auc(scores, [case.small_good for case in cases]),
        "curve": curve,
    }
    return Calibration(
        small=cases[0].small.model,
        large=cases[0].large.model,
        threshold=float(chosen["threshold"] or 0.0),
        model=final,
        calibrated=True,
        details=details,
    )


def _ratio(value: float | None, reference: float | None) -> float | None:
    return None if not value or not reference else value / reference
