"""Suggest ``abstain_below`` per model from its self-check scores on the user's test set.

Every benchmarked answer carries the model's self-check (``signals["self_check"]``: P(yes) that
its sources give that answer; see answer/pipeline.py). Gating at a threshold turns the answers
below it into abstentions, so the whole curve can be replayed offline: F1 on answerable
questions falls (right answers lost) while abstention on unanswerable ones rises. The
suggestion is the gate that abstains most while keeping F1 within 5 % of answering everything
(the threshold with the best mean of the two is reported too, for sets where abstaining matters
more); a test set without unanswerable questions cannot justify any gate, so none is suggested.
The scores cluster in a narrow band that differs per model and language (SQuAD2: 0.62–0.86 for
qwen 1.5B), which is why a fixed default would be wrong.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from petitrag.bench.models import ModelSpec
from petitrag.bench.rundir import load_predictions
from petitrag.bench.runner import Prediction, score
from petitrag.routing.report import decimals

#: the suggested gate may cost at most this share of the ungated F1 (answers users lose)
F1_MARGIN = 0.05


def gated(prediction: Prediction, threshold: float) -> bool:
    """Whether this answer becomes an abstention at ``threshold``."""
    check = prediction.signals.get("self_check")
    return not prediction.abstained and check is not None and check < threshold


def ungated_f1(predictions: list[Prediction]) -> dict[str, float]:
    """Each answerable case's F1 as run: scored once, then replayed at every threshold."""
    return {p.case_id: score(p)["f1"] or 0.0 for p in predictions if not p.impossible}


def quality_at(
    predictions: list[Prediction], threshold: float, f1_as_run: dict[str, float] | None = None
) -> dict[str, float | None]:
    """F1 (answerable), abstention accuracy (unanswerable) and share of answers gated."""
    f1_as_run = ungated_f1(predictions) if f1_as_run is None else f1_as_run
    answerable = [p for p in predictions if not p.impossible]
    unanswerable = [p for p in predictions if p.impossible]
    f1 = [0.0 if gated(p, threshold) else f1_as_run[p.case_id] for p in answerable]
    abstained = [float(p.abstained or gated(p, threshold)) for p in unanswerable]
    return {
        "threshold": threshold,
        "f1": statistics.fmean(f1) if f1 else None,
        "abstain_accuracy": statistics.fmean(abstained) if abstained else None,
        "gated": statistics.fmean(float(gated(p, threshold)) for p in predictions) if predictions else 0.0,
    }


def suggest(predictions: list[Prediction]) -> dict[str, Any] | None:
    """The curve over every observed score and the threshold with the best mean quality."""
    predictions = [p for p in predictions if p.error is None]
    checks = sorted({c for p in predictions if (c := p.signals.get("self_check")) is not None})
    if not checks:
        return None
    f1_as_run = ungated_f1(predictions)
    thresholds = [0.0, *checks, checks[-1] + 1e-6]
    curve = [quality_at(predictions, threshold, f1_as_run) for threshold in thresholds]
    ungated = curve[0]
    if ungated["abstain_accuracy"] is None:
        reason = "no unanswerable question in the test set: nothing to trade F1 against"
        return {"threshold": None, "n": len(predictions), "ungated": ungated, "curve": curve,
                "reason": reason}  # fmt: skip
    floor = (1 - F1_MARGIN) * (ungated["f1"] or 0.0)
    kept = [point for point in curve if (point["f1"] or 0.0) >= floor]
    best = max(kept, key=lambda point: (point["abstain_accuracy"], -point["threshold"]))
    threshold = best["threshold"] if best["abstain_accuracy"] > ungated["abstain_accuracy"] else None
    balanced = max(curve, key=lambda point: (_balanced(point), -point["threshold"]))
    chosen = best if threshold is not None else ungated
    return {"threshold": threshold, "n": len(predictions), "ungated": ungated, "chosen": chosen,
            "balanced": balanced, "curve": curve}  # fmt: skip


def _balanced(point: dict[str, Any]) -> float:
    return ((point["f1"] or 0.0) + (point["abstain_accuracy"] or 0.0)) / 2


def suggest_all(out: Path, specs: list[ModelSpec], case_ids: list[str]) -> dict[str, Any]:
    """``suggest`` for every model whose answers were self-checked."""
    found = {spec.key: suggest(load_predictions(out, spec.key, case_ids)) for spec in specs}
    return {key: value for key, value in found.items() if value is not None}


def report_lines(suggestions: dict[str, Any]) -> list[str]:
    """The report section: what gating each model's answers on its self-check would do."""
    if not suggestions:
        return []
    lines = [
        "## Abstaining when the self-check fails (`abstain_below`)",
        "",
        "After each answer the model was asked whether its sources give that answer; answers whose "
        "P(yes) is below a threshold can be turned into abstentions. Replayed on this test set:",
        "",
        "| model | suggested `abstain_below` | F1 as run → gated | abstention as run → gated | gated |",
        "|---|---|---|---|---|",
    ]
    for key, found in suggestions.items():
        before, after = found["ungated"], found.get("chosen", found["ungated"])
        threshold = "none" if found["threshold"] is None else f"{found['threshold']:.3f}"
        lines.append(
            f"| {key} | {threshold} | {decimals(before['f1'])} → {decimals(after['f1'])} | "
            f"{decimals(before['abstain_accuracy'])} → {decimals(after['abstain_accuracy'])} | "
            f"{100 * after['gated']:.0f} % |"
        )
    lines += [
        "",
        f"The suggestion abstains most while keeping F1 within {F1_MARGIN:.0%} of answering everything "
        "(none when no threshold abstains more, or when no question is unanswerable). Set it with "
        "`abstain_below = …` in the config (or PETITRAG_ABSTAIN_BELOW) for that model.",
    ]
    for key, found in suggestions.items():
        if "balanced" in found:
            point = found["balanced"]
            lines.append(
                f"- {key}: the best mean of F1 and abstention is at {point['threshold']:.3f} "
                f"(F1 {decimals(point['f1'])}, abstention {decimals(point['abstain_accuracy'])}, "
                f"{100 * point['gated']:.0f} % gated)."
            )
    return lines
