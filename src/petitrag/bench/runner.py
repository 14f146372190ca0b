"""Run test cases through the answer pipeline and score every prediction.

A prediction keeps everything needed to re-score it offline (question, gold, answer,
abstention, citations with their text, timings, error), so ``predictions.jsonl`` alone
reproduces every number of a report.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from petitrag.answer.pipeline import Answerer
from petitrag.bench.datasets import Case
from petitrag.bench.metrics import contains_gold, exact_match, normalize, token_f1
from petitrag.errors import PetitragError
from petitrag.language import detect_language


@dataclass
class Prediction:
    case_id: str
    model: str
    question: str
    gold: list[str]
    impossible: bool
    prediction: str = ""
    abstained: bool = False
    question_language: str = ""
    answer_language: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None
    error: str | None = None
    route: dict[str, Any] | None = None
    signals: dict[str, float | None] = field(default_factory=dict)  # confidence signals, for routing

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def predict(answerer: Answerer, case: Case) -> Prediction:
    """Answer one case; a failure is recorded as an error, never raised or dropped."""
    prediction = Prediction(case.id, answerer.generator.name, case.question, case.answers, case.impossible)
    prediction.question_language = detect_language(case.question)
    started = time.perf_counter()
    try:
        result = answerer.ask(case.question)
    except PetitragError as exc:
        prediction.error = str(exc)
        prediction.timings = {"total_s": time.perf_counter() - started}
        return prediction
    prediction.prediction = result.answer
    prediction.abstained = result.abstained
    prediction.answer_language = detect_language(result.answer, default=result.language)
    prediction.citations = [citation.to_json() for citation in result.citations]
    prediction.timings = result.to_json()["timings"]
    prediction.confidence = result.confidence
    prediction.route = result.extra.get("route")
    prediction.signals = dict(result.signals)
    return prediction


def score(prediction: Prediction) -> dict[str, float | None]:
    """Per-case metrics; None where a metric does not apply to this case."""
    answerable = not prediction.impossible
    answered = not prediction.abstained and prediction.error is None
    text = prediction.prediction if answered else ""
    f1 = token_f1(text, prediction.gold) if answerable else None
    contains = contains_gold(text, prediction.gold) if answerable else None
    cited_ok = None
    if answerable and answered and prediction.citations:
        cited_ok = float(any(contains_gold(c["text"], prediction.gold) for c in prediction.citations))
    return {
        "exact_match": exact_match(text, prediction.gold) if answerable else None,
        "f1": f1,
        "contains_gold": contains,
        "correct_answered": float(answered and bool(f1 and (f1 >= 0.5 or contains))) if answerable else None,
        "abstain_correct": float(prediction.abstained) if prediction.impossible else None,
        "false_abstention": float(prediction.abstained) if answerable else None,
        "citation_correct": cited_ok,
        "language_match": float(prediction.answer_language == prediction.question_language),
        "error": float(prediction.error is not None),
    }


def aggregate(predictions: Iterable[Prediction]) -> dict[str, dict[str, float | int | None]]:
    """Mean, n and a 95 % confidence interval for each metric and timing."""
    predictions = list(predictions)
    scores = [score(p) for p in predictions]
    summary: dict[str, dict[str, float | int | None]] = {}
    for metric in scores[0] if scores else {}:
        values = [s[metric] for s in scores if s[metric] is not None]
        summary[metric] = _mean_ci(values)  # type: ignore[arg-type]
    for timing in ("ttft_s", "total_s", "tokens_per_s", "prompt_tokens", "completion_tokens"):
        values = [p.timings[timing] for p in predictions if p.error is None and timing in p.timings]
        summary[timing] = _distribution(values)
    return summary


def _mean_ci(values: list[float]) -> dict[str, float | int | None]:
    """Mean with a normal-approximation 95 % interval (Wilson for 0/1 metrics)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "n": 0, "ci_low": None, "ci_high": None}
    mean = statistics.fmean(values)
    if all(v in (0.0, 1.0) for v in values):
        low, high = _wilson(mean, n)
    else:
        half = 1.96 * (statistics.stdev(values) / math.sqrt(n) if n > 1 else 0.0)
        low, high = max(0.0, mean - half), min(1.0, mean + half)
    return {"mean": round(mean, 4), "n": n, "ci_low": round(low, 4), "ci_high": round(high, 4)}


def _wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _distribution(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"mean": None, "n": 0, "p50": None, "p95": None}
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(ordered), 4),
        "n": len(ordered),
        "p50": round(_percentile(ordered, 50), 4),
        "p95": round(_percentile(ordered, 95), 4),
    }


def _percentile(ordered: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run(
    answerer: Answerer, cases: list[Case], on_prediction: Callable[[Prediction], None] | None = None
) -> list[Prediction]:
    predictions = []
    for case in cases:
        prediction = predict(answerer, case)
        predictions.append(prediction)
        if on_prediction:
            on_prediction(prediction)
    return predictions


__all__ = ["Prediction", "aggregate", "normalize", "predict", "run", "score"]
