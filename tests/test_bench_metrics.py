"""Per-case scores and interval statistics, hand-checked on French and English cases.

(Normalisation, EM, F1 and containment themselves are in test_metrics.py.)
"""

from __future__ import annotations

import pytest

from petitrag.bench.runner import Prediction, score
from petitrag.bench.stats import distribution, mean_ci, percentile, percentile_ci, wilson

PASSAGE = {"text": "La tour Eiffel a été construite en 1889 pour l'Exposition universelle."}


def prediction(answer: str = "", gold: list[str] | None = None, **fields: object) -> Prediction:
    gold = ["en 1889"] if gold is None else gold
    values = {"question_language": "fr", "answer_language": "fr", **fields}
    return Prediction("c", "m", "Quand ?", gold, not gold, answer, **values)  # type: ignore[arg-type]


def test_french_answer_with_a_correct_citation() -> None:
    scores = score(prediction("Elle a été construite en 1889 [1].", citations=[PASSAGE]))
    # [elle, ete, construite, en, 1889] ("a" goes, as the English article) vs [en, 1889]: P 2/5, R 1 → 4/7
    assert scores["f1"] == pytest.approx(4 / 7) and scores["exact_match"] == 0.0
    assert scores["contains_gold"] == 1.0 and scores["correct_answered"] == 1.0
    assert scores["citation_correct"] == 1.0 and scores["false_abstention"] == 0.0
    assert scores["abstain_correct"] is None and scores["language_match"] == 1.0 and scores["error"] == 0.0


def test_english_question_answered_in_french_citing_the_wrong_passage() -> None:
    wrong = {"text": "Gustave Eiffel's company designed it."}
    scores = score(prediction("In 1889.", ["in 1889"], citations=[wrong], question_language="en"))
    assert scores["exact_match"] == 1.0 and scores["citation_correct"] == 0.0
    assert scores["language_match"] == 0.0  # question "en", answer recorded as "fr"


def test_abstentions_are_right_on_unanswerable_and_wrong_on_answerable() -> None:
    unanswerable = score(prediction("Les documents ne contiennent pas la réponse.", [], abstained=True))
    assert unanswerable["abstain_correct"] == 1.0
    assert unanswerable["f1"] is None and unanswerable["false_abstention"] is None
    answerable = score(prediction("The documents do not contain the answer.", ["1889"], abstained=True))
    assert answerable["false_abstention"] == 1.0 and answerable["f1"] == 0.0
    assert answerable["correct_answered"] == 0.0 and answerable["citation_correct"] is None
    answered_anyway = score(prediction("Trois ascenseurs.", []))
    assert answered_anyway["abstain_correct"] == 0.0


def test_errors_score_as_wrong_even_with_text() -> None:
    scores = score(prediction("en 1889", error="no answer within 60 s", error_kind="timeout"))
    assert scores["f1"] == 0.0 and scores["exact_match"] == 0.0 and scores["error"] == 1.0


def test_wilson_and_normal_intervals_hand_checked() -> None:
    low, high = wilson(0.5, 10)  # centre 0.5; half 1.96·√(0.025 + 0.0096)/1.384 = 0.2634
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert mean_ci([1.0, 0.0, 1.0, 1.0]) == {"mean": 0.75, "n": 4, "ci_low": 0.3006, "ci_high": 0.9544}
    # values 0.2, 0.4, 0.6: mean 0.4, stdev 0.2 → half 1.96 × 0.2 / √3 = 0.2263
    assert mean_ci([0.2, 0.4, 0.6]) == {"mean": 0.4, "n": 3, "ci_low": 0.1737, "ci_high": 0.6263}
    # seconds are not clipped to [0, 1]: mean 25, stdev 21.21 → half 1.96 × 21.21 / √2 = 29.4
    assert mean_ci([10.0, 40.0], bounds=None) == {"mean": 25.0, "n": 2, "ci_low": -4.4, "ci_high": 54.4}
    assert mean_ci([]) == {"mean": None, "n": 0, "ci_low": None, "ci_high": None}


def test_percentiles_and_their_intervals() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == 10.5 and percentile(values, 95) == pytest.approx(19.05)
    assert percentile_ci(values, 50) == [6.0, 15.0]  # the exact binomial table's ranks for n = 20
    assert percentile_ci(values, 95) == [17.0, 20.0]
    summary = distribution([4.0, 1.0, 3.0, 2.0])
    assert (summary["p50"], summary["p95"], summary["n"]) == (2.5, 3.85, 4)
    assert distribution([])["p95"] is None
