"""Merging the answers of a document read in parts, a summary's repeated lines, and a schema
sent to a model server: cases a QA pass found on real documents (a lease, a service agreement).
"""

from __future__ import annotations

from petitrag.answer.bullets import drop_repeats

MODEL = "smollm2-135m"


# -- a summary's repeated lines ----------------------------------------------------------------


def test_a_summary_drops_repeats_that_differ_in_small_details() -> None:
    """A repeat kept for a leading quote, another section's marker, or being cut short."""
    quoted = '"Le loyer est fixé à 890 euros.\nLe loyer est fixé à 890 euros.'
    assert drop_repeats(quoted) == '"Le loyer est fixé à 890 euros.'
    sections = (
        "- Le loyer est révisé chaque année (Article 2).\n\n- Le loyer est révisé chaque année (Article 3)."
    )
    assert drop_repeats(sections) == "- Le loyer est révisé chaque année (Article 2)."
    titled = "- Rent is due monthly (2. Term and rent).\n- Rent is due monthly (p. 4)."
    assert drop_repeats(titled) == "- Rent is due monthly (2. Term and rent)."
    long = "- Le loyer sera révisé chaque année à la date anniversaire du contrat (Article 3 — Loyer)."
    assert drop_repeats(f"{long}\n- Le loyer sera révisé chaque année à la date anniv") == long
    # a short line that starts a longer one says something of its own: a heading, a brief point
    assert drop_repeats("- Rent is due monthly.\n- Rent") == "- Rent is due monthly.\n- Rent"
    seven = "- The tenant pays the rent every month.\n- The tenant pays the rent every"
    assert drop_repeats(seven) == seven  # 7 words: too short to be taken for a cut repeat
    assert drop_repeats("- Rent is 900.\n- Rent is 950.") == "- Rent is 900.\n- Rent is 950."
