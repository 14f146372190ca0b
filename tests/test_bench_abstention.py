"""The `abstain_below` suggestion replayed from self-checked predictions (hand-made cases)."""

from __future__ import annotations

import pytest

from petitrag.bench.abstention import ABSTENTION_LIKELIHOOD, SEARCH_SCORE, quality_at, report_lines, suggest
from petitrag.bench.runner import Prediction


def case(number: int, answer: str, check: float | None, gold: str | None = "Paris") -> Prediction:
    """An answered question; ``gold=None`` makes it unanswerable."""
    prediction = Prediction(f"c{number}", "m", "Where?", [gold] if gold else [], gold is None)
    prediction.prediction = answer
    prediction.signals = {"self_check": check}
    return prediction


def test_a_gate_between_right_and_unanswerable_answers_keeps_f1_and_abstains() -> None:
    predictions = [case(1, "Paris", 0.9), case(2, "Paris", 0.8), case(3, "Lyon", 0.3, gold=None),
                   case(4, "Nice", 0.4, gold=None)]  # fmt: skip
    found = suggest(predictions)
    assert found is not None and found["threshold"] == pytest.approx(0.8)  # lowest cut above both
    assert found["ungated"]["f1"] == 1.0 and found["ungated"]["abstain_accuracy"] == 0.0
    assert found["chosen"]["f1"] == 1.0 and found["chosen"]["abstain_accuracy"] == 1.0
    assert found["chosen"]["gated"] == 0.5
    assert "| m | 0.800 | 1.000 → 1.000 | 0.000 → 1.000 | 50 % |" in report_lines({"m": found})


def test_a_gate_that_costs_more_than_five_percent_of_f1_is_not_suggested() -> None:
    predictions = [case(1, "Paris", 0.3), case(2, "Paris", 0.9), case(3, "Lyon", 0.5, gold=None)]
    found = suggest(predictions)
    assert found is not None and found["threshold"] is None and found["chosen"] == found["ungated"]
    assert found["balanced"]["abstain_accuracy"] == 1.0  # the trade-off is still reported


def test_already_abstained_and_unchecked_answers_are_never_gated() -> None:
    abstained = case(1, "", None, gold=None)
    abstained.abstained = True
    unchecked = case(2, "Paris", None)
    assert quality_at([abstained, unchecked], 1.0) == {
        "threshold": 1.0, "f1": 1.0, "abstain_accuracy": 1.0, "gated": 0.0,
    }  # fmt: skip


def test_nothing_to_suggest_without_checks_or_unanswerable_questions() -> None:
    assert suggest([case(1, "Paris", None)]) is None
    found = suggest([case(1, "Paris", 0.9), case(2, "Lyon", 0.2)])
    assert found is not None and found["threshold"] is None and "no unanswerable" in found["reason"]
    assert any(line.startswith("| m | none |") for line in report_lines({"m": found}))


def test_the_search_score_gate_is_suggested_from_the_best_passage_scores() -> None:
    """Unanswerable questions whose best passage holds little of them score low: abstaining
    below 1.2 loses no right answer."""
    predictions = [case(1, "Paris", None), case(2, "Paris", None), case(3, "Lyon", None, gold=None)]
    for prediction, top in zip(predictions, (2.4, 1.9, 1.1), strict=True):
        prediction.signals["top_score"] = top
    assert suggest(predictions) is None  # no self-check was asked
    found = suggest(predictions, SEARCH_SCORE)
    assert found is not None and found["threshold"] == pytest.approx(1.9)  # lowest cut above 1.1
    assert found["chosen"]["f1"] == 1.0 and found["chosen"]["abstain_accuracy"] == 1.0
    lines = report_lines({"m": found}, SEARCH_SCORE)
    assert lines[0] == "## Abstaining when search finds little (`min_score`)"
    assert "| m | 1.900 | 1.000 → 1.000 | 0.000 → 1.000 | 33 % |" in lines
    assert any("PETITRAG_MIN_SCORE" in line for line in lines)


def test_the_abstention_likelihood_gate_abstains_above_its_threshold() -> None:
    """Unanswerable questions whose abstention the model nearly gave: abstaining above -5 (nats)
    loses no right answer; 0 gates nothing."""
    predictions = [case(1, "Paris", None), case(2, "Paris", None), case(3, "Lyon", None, gold=None)]
    for prediction, likely in zip(predictions, (-9.0, -5.0, -1.5), strict=True):
        prediction.signals["abstain_logprob"] = likely
    found = suggest(predictions, ABSTENTION_LIKELIHOOD)
    assert found is not None and found["threshold"] == pytest.approx(-5.0)  # highest cut below -1.5
    assert found["ungated"]["threshold"] == 0.0 and found["ungated"]["gated"] == 0.0
    assert found["chosen"]["f1"] == 1.0 and found["chosen"]["abstain_accuracy"] == 1.0
    assert found["curve"][-1]["gated"] == 1.0  # the lowest threshold gates every answer
    lines = report_lines({"m": found}, ABSTENTION_LIKELIHOOD)
    assert lines[0] == "## Abstaining when the model nearly abstained (`abstain_above`)"
    assert "| m | -5.000 | 1.000 → 1.000 | 0.000 → 1.000 | 33 % |" in lines
