"""Numbers an answer gives, checked against the passages it read (numbers.py, citations.py):
a right answer refused is as bad as an invented number kept. Real components, scripted replies."""

from __future__ import annotations

from petitrag.answer.citations import Evidence, draws_on
from petitrag.answer.numbers import numbers_in


def test_a_table_rows_columns_are_numbers_apart() -> None:
    """ "2022 580 410" (a text or PDF table) was read 2022580410 and 2022: its 580 and 410, the
    right answers, were refused."""
    table = [Evidence.of("Année Chiffre d'affaires Charges\n2022 580 410\n2023 612 540", "fr")]
    assert draws_on("410 [1]", "Quelles ont été les charges en 2022 ?", table, "fr") is True
    assert draws_on("580 [1]", "Quel chiffre d'affaires en 2022 ?", table, "fr") is True
    assert draws_on("612 [1]", "Quel chiffre d'affaires en 2023 ?", table, "fr") is True
    assert draws_on("413 [1]", "Quelles ont été les charges en 2022 ?", table, "fr") is False
    labelled = [Evidence.of("T2 580 410", "fr")]  # a label's digit is no group of the row
    assert draws_on("410 [1]", "Quelles charges au T2 ?", labelled, "fr") is True
    # a number's groups stay one number: "1 250" holds no 250, "45 000" no 45 or 000
    assert numbers_in("Le loyer est de 1 250 euros.", both_ways=True) == {"1250"}
    assert numbers_in("45 000 euros", both_ways=True) == {"45000"}
    assert numbers_in("2022 45 000 38 500", both_ways=True) == {"2022", "45000", "38500"}
    assert numbers_in("612 540", both_ways=True) == {"612540", "612", "540"}
