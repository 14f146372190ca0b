"""Hand-checked French and English cases for the answer metrics."""

import pytest

from petitrag.bench.metrics import contains_gold, exact_match, normalize, token_f1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L'Élysée", "elysee"),
        ("The Eiffel Tower.", "eiffel tower"),
        ("une heure et demie", "heure et demie"),
        ("1 heure et demie", "heure et demie"),
        ("chapitre un", "chapitre 1"),
        ("deux heures", "2 heures"),
        ("45 000 euros", "45000 euros"),
        ("1,500,000 people", "1500000 people"),
        ("$7,200.50", "7200.50"),
        ("3,5 bars [2]", "3.5 bars"),
        ("« Les Misérables »", "miserables"),
        ("d'après l'auteur", "apres auteur"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_exact_match_ignores_accents_articles_and_number_words() -> None:
    assert exact_match("Une heure et demie.", ["1 heure et demie"]) == 1.0
    assert exact_match("le Président", ["president"]) == 1.0
    assert exact_match("deux heures", ["trois heures"]) == 0.0


def test_token_f1_hand_computed() -> None:
    # prediction: [batterie, lithium, 500, wh] vs gold [batterie, 500, wh] → P 3/4, R 1, F1 6/7
    assert token_f1("La batterie lithium de 500 Wh", ["une batterie de 500 Wh"]) == pytest.approx(6 / 7)
    assert token_f1("Paris", ["Lyon", "Paris"]) == 1.0
    assert token_f1("", ["Paris"]) == 0.0
    # English: [denver, broncos, won] vs [denver, broncos] → P 2/3, R 1, F1 0.8
    assert token_f1("The Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)


def test_contains_gold_needs_whole_tokens() -> None:
    assert contains_gold("Elle a été construite en 1889 [1].", ["1889"]) == 1.0
    assert contains_gold("En 18890.", ["1889"]) == 0.0
    assert contains_gold("Environ une heure et demie.", ["1 heure et demie"]) == 1.0
