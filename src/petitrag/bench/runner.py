"""Run test cases through the answer pipeline and score every prediction.

A prediction keeps everything needed to re-score it offline (question, gold, answer,
abstention, citations with their text, timings, error), so ``predictions.jsonl`` alone
reproduces every number of a report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from petitrag.answer.pipeline import Answerer
from petitrag.bench.datasets import Case
from petitrag.bench.metrics import contains_gold, exact_match, normalize, token_f1
from petitrag.bench.stats import distribution, mean_ci
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
    error_kind: str | None = None  # one of ERROR_KINDS when ``error`` is set
    finish_reason: str | None = None  # "stop", or "length" when the answer hit max_tokens

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Prediction:
        """Rebuild from a predictions.jsonl line; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in row.items() if key in known})


#: why a case has no usable answer: the model failed (PetitragError), said nothing, took longer
#: than the per-case timeout, or its process died (or raised an unexpected exception)
ERROR_KINDS = ("error", "invalid_output", "timeout", "crash")


def predict(answerer: Answerer, case: Case) -> Prediction:
    """Answer one case; a failure is recorded as an error, never raised or dropped."""
    prediction = Prediction(case.id, answerer.generator.name, case.question, case.answers, case.impossible)
    prediction.question_language = detect_language(case.question)
    started = time.perf_counter()
    try:
        result = answerer.ask(case.question)
    except PetitragError as exc:
        prediction.error, prediction.error_kind = str(exc), "error"
        prediction.timings = {"total_s": time.perf_counter() - started}
        return prediction
    prediction.prediction = result.answer
    prediction.abstained = result.abstained
    if result.completion is not None:
        prediction.finish_reason = result.completion.finish_reason
        if not result.completion.text.strip():
            # The pipeline shows an empty completion as an abstention; a benchmark must not
            # credit it as one: the model said nothing at all.
            prediction.abstained = False
            prediction.error, prediction.error_kind = "the model produced no text", "invalid_output"
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


def aggregate(predictions: Iterable[Prediction]) -> dict[str, dict[str, Any]]:
    """Mean, n and a 95 % confidence interval for each metric; percentiles for timings."""
    predictions = list(predictions)
    scores = [score(p) for p in predictions]
    summary: dict[str, dict[str, Any]] = {}
    for metric in scores[0] if scores else {}:
        values = [s[metric] for s in scores if s[metric] is not None]
        summary[metric] = mean_ci(values)  # type: ignore[arg-type]
    for timing in ("ttft_s", "total_s", "tokens_per_s", "prompt_tokens", "completion_tokens"):
        values = [p.timings[timing] for p in predictions if p.error is None and timing in p.timings]
        summary[timing] = distribution(values)
    return summary


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


def failed(case: Case, model: str, kind: str, message: str, seconds: float) -> Prediction:
    """A case that got no answer (timeout, crash): recorded as an error, never dropped."""
    prediction = Prediction(case.id, model, case.question, case.answers, case.impossible)
    prediction.question_language = detect_language(case.question)
    prediction.error, prediction.error_kind = message, kind
    prediction.timings = {"total_s": round(seconds, 4)}
    return prediction


__all__ = ["ERROR_KINDS", "Prediction", "aggregate", "failed", "normalize", "predict", "run", "score"]
