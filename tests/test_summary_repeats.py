"""A summary's lines that say different things are kept, however alike they look."""

from __future__ import annotations

import pytest

from petitrag.answer.bullets import drop_repeats


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("- Meeting on Monday (10:00).", "- Meeting on Monday (14:00)."),
        ("- Pets are allowed (cats only).", "- Pets are allowed (no dogs over 10 kg)."),
        ("- Call 01 23 45 67 89 (Paris office).", "- Call 01 23 45 67 89 (Lyon office)."),
        (
            "- L'abonnement coûte 12 € (formule mensuelle).",
            "- L'abonnement coûte 12 € (formule annuelle, par mois).",
        ),
        ("- Temperature: -5 °C.", "- Temperature: 5 °C."),
        ("- Growth: +3 %.", "- Growth: -3 %."),
        (
            "- The tenant must give one month of notice before leaving the flat.",
            "- The tenant must give one month of notice before leaving.",
        ),
    ],
)
def test_a_line_saying_something_else_is_no_repeat(first: str, second: str) -> None:
    """The second line was dropped: any closing parenthesis was taken for a section marker,
    signs were not words, and a finished shorter sentence was taken for a cut repeat."""
    text = f"{first}\n{second}"
    assert drop_repeats(text, {"(Article 2)", "(p. 3)"}) == text


def test_only_petitrag_markers_are_set_aside() -> None:
    """A page marker, or a section marker of the summary's chunks, still makes no difference."""
    text = "- Rent is due monthly (p. 2).\n- Rent is due monthly (pages 3–4).\n- Rent is due monthly (Loyer)."
    assert drop_repeats(text, {"(Loyer)"}) == "- Rent is due monthly (p. 2)."
    assert drop_repeats("- Rent is due monthly (Loyer).\n- Rent is due monthly (Bail).", {"(Loyer)"}) == (
        "- Rent is due monthly (Loyer).\n- Rent is due monthly (Bail)."
    )
