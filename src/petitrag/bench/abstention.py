"""Suggest the abstention gates per model from the user's test set: ``abstain_below`` from the
model's self-check scores, ``abstain_above`` from its log-probability of the abstention sentence,
``min_score`` from the search score of the best passage.

Every benchmarked answer carries the model's self-check (``signals["self_check"]``: P(yes) that
its sources give that answer; see answer/pipeline.py) and the best passage's fused search score
(``signals["top_score"]``). Gating at a threshold turns the answers below it into abstentions,
so the whole curve can be replayed offline: F1 on answerable questions falls (right answers
lost) while abstention on unanswerable ones rises. The suggestion is the gate that abstains most
while keeping F1 within 5 % of answering everything (the threshold with the best mean of the two
is reported too, for sets where abstaining matters more); a test set without unanswerable
questions cannot justify any gate, so none is suggested. The self-check scores cluster in a
narrow band that differs per model and language (SQuAD2: 0.62–0.86 for qwen 1.5B), and search
scores depend on the collection and on how questions are worded, which is why fixed defaults
would be wrong.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petitrag.bench.models import ModelSpec
from petitrag.bench.rundir import load_predictions
from petitrag.bench.runner import Prediction, score
from petitrag.routing.report import decimals

#: the suggested gate may cost at most this share of the ungated F1 (answers users lose)
F1_MARGIN = 0.05


@dataclass(frozen=True)
class Gate:
    """An abstention gate: answers whose ``signal`` is below the ``setting`` (above, for
    ``above`` gates) become abstentions."""

    signal: str  # in Prediction.signals
    setting: str  # the Settings field (and PETITRAG_* variable) that applies it
    title: str  # the report section's heading
    what: str  # what the signal is, for the report
    above: bool = False  # gate values above the threshold (a likelihood of abstaining)

    def gates(self, value: float, threshold: float) -> bool:
        return value > threshold if self.above else value < threshold

    def laxer(self, threshold: float) -> float:
        """Sort key: the larger, the fewer answers the threshold gates."""
        return threshold if self.above else -threshold


SELF_CHECK = Gate(
    "self_check", "abstain_below", "Abstaining when the self-check fails",
    "After each answer the model was asked whether its sources give that answer; answers whose "
    "P(yes) is below a threshold can be turned into abstentions.",
)  # fmt: skip
SEARCH_SCORE = Gate(
    "top_score", "min_score", "Abstaining when search finds little",
    "Questions whose best passage scores below a threshold (the fused search score: how much of "
    "the question it holds) can be abstained on without asking the model.",
)  # fmt: skip
ABSTENTION_LIKELIHOOD = Gate(
    "abstain_logprob", "abstain_above", "Abstaining when the model nearly abstained",
    "Before answering, the model's log-probability of replying with the abstention sentence was "
    "measured; answers where it is above a threshold (nats) can be turned into abstentions. (The "
    "replay gates the final answers only; set in ask, a gated first best-first pass reads all "
    "passages instead, so end to end it abstains somewhat less.)",
    above=True,
)  # fmt: skip
GATES = (SELF_CHECK, ABSTENTION_LIKELIHOOD, SEARCH_SCORE)


def gated(prediction: Prediction, threshold: float, gate: Gate = SELF_CHECK) -> bool:
    """Whether this answer becomes an abstention at ``threshold``."""
    value = prediction.signals.get(gate.signal)
    return not prediction.abstained and value is not None and gate.gates(value, threshold)


def ungated_f1(predictions: list[Prediction]) -> dict[str, float]:
    """Each answerable case's F1 as run: scored once, then replayed at every threshold."""
    return {p.case_id: score(p)["f1"] or 0.0 for p in predictions if not p.impossible}


def quality_at(
    predictions: list[Prediction],
    threshold: float,
    f1_as_run: dict[str, float] | None = None,
    gate: Gate = SELF_CHECK,
) -> dict[str, float | None]:
    """F1 (answerable), abstention accuracy (unanswerable) and share of answers gated."""
    f1_as_run = ungated_f1(predictions) if f1_as_run is None else f1_as_run
    answerable = [p for p in predictions if not p.impossible]
    unanswerable = [p for p in predictions if p.impossible]
    f1 = [0.0 if gated(p, threshold, gate) else f1_as_run[p.case_id] for p in answerable]
    abstained = [float(p.abstained or gated(p, threshold, gate)) for p in unanswerable]
    share = statistics.fmean(float(gated(p, threshold, gate)) for p in predictions) if predictions else 0.0
    return {
        "threshold": threshold,
        "f1": statistics.fmean(f1) if f1 else None,
        "abstain_accuracy": statistics.fmean(abstained) if abstained else None,
        "gated": share,
    }


def suggest(predictions: list[Prediction], gate: Gate = SELF_CHECK) -> dict[str, Any] | None:
    """The curve over every observed score and the threshold with the best mean quality."""
    predictions = [p for p in predictions if p.error is None]
    values = sorted({v for p in predictions if (v := p.signals.get(gate.signal)) is not None})
    if not values:
        return None
    f1_as_run = ungated_f1(predictions)
    if gate.above:  # log-probabilities: none is above 0, all are above the lowest minus a little
        thresholds = [0.0, *reversed(values), values[0] - 1e-6]
    else:
        thresholds = [0.0, *values, values[-1] + 1e-6]
    curve = [quality_at(predictions, threshold, f1_as_run, gate) for threshold in thresholds]
    ungated = curve[0]
    if ungated["abstain_accuracy"] is None:
        reason = "no unanswerable question in the test set: nothing to trade F1 against"
        return {"threshold": None, "n": len(predictions), "ungated": ungated, "curve": curve,
                "reason": reason}  # fmt: skip
    floor = (1 - F1_MARGIN) * (ungated["f1"] or 0.0)
    kept = [point for point in curve if (point["f1"] or 0.0) >= floor]
    best = max(kept, key=lambda point: (point["abstain_accuracy"], gate.laxer(point["threshold"])))
    threshold = best["threshold"] if best["abstain_accuracy"] > ungated["abstain_accuracy"] else None
    balanced = max(curve, key=lambda point: (_balanced(point), gate.laxer(point["threshold"])))
    chosen = best if threshold is not None else ungated
    return {"threshold": threshold, "n": len(predictions), "ungated": ungated, "chosen": chosen,
            "balanced": balanced, "curve": curve}  # fmt: skip


def _balanced(point: dict[str, Any]) -> float:
    return ((point["f1"] or 0.0) + (point["abstain_accuracy"] or 0.0)) / 2


def suggest_all(
    out: Path, specs: list[ModelSpec], case_ids: list[str], gate: Gate = SELF_CHECK
) -> dict[str, Any]:
    """``suggest`` for every model whose answers carry the gate's signal."""
    found = {spec.key: suggest(load_predictions(out, spec.key, case_ids), gate) for spec in specs}
    return {key: value for key, value in found.items() if value is not None}


def report_lines(suggestions: dict[str, Any], gate: Gate = SELF_CHECK) -> list[str]:
    """The report section: what gating each model's answers on the gate's signal would do."""
    if not suggestions:
        return []
    lines = [
        f"## {gate.title} (`{gate.setting}`)",
        "",
        f"{gate.what} Replayed on this test set:",
        "",
        f"| model | suggested `{gate.setting}` | F1 as run → gated | abstention as run → gated | gated |",
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
        f"`{gate.setting} = …` in the config (or PETITRAG_{gate.setting.upper()}) for that model.",
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
