"""PDF layout read from fonts and lines: headings, paragraphs set larger, lists, tables, titles.

Each test builds a real PDF with fpdf2 and parses it with the real parser."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from tests.test_documents import parse

_INTRO = (
    "This quarter we opened two new stores in Grenoble and Annecy, hired thirty new colleagues "
    "and launched the loyalty card that customers had asked for since last year."
)
_HOURS = (
    "Our stores now open at eight in the morning on weekdays, and the Grenoble store also opens "
    "on Sunday mornings until one o'clock. "
)


def _blocks(path: Path) -> list[tuple[str, str, int]]:
    return [(block.kind, block.text, block.level) for block in parse(path).blocks]


def test_pdf_paragraph_set_larger_than_the_body_is_no_heading(tmp_path: Path) -> None:
    """A 17 pt introduction over 10 pt text was a heading, the section of every passage after
    it, and its last line ("had asked for since last year.") a stray paragraph."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 22)
    pdf.multi_cell(0, 11, "Quarterly Newsletter", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=17)
    pdf.multi_cell(0, 8, _INTRO, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 5, _HOURS * 4, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "news.pdf"))
    assert _blocks(tmp_path / "news.pdf") == [
        ("heading", "Quarterly Newsletter", 1),
        ("paragraph", _INTRO, 0),
        ("paragraph", (_HOURS * 4).strip(), 0),
    ]


def test_pdf_bullet_list_set_larger_than_the_body_is_a_list(tmp_path: Path) -> None:
    """An 11 pt bullet list above an 8 pt table was one four-line heading."""
    items = ["- Stainless steel housing", "- Maximum flow of 4000 litres per hour", "- Two-year warranty"]
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, "Pump X200", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    for item in items:
        pdf.cell(0, 6, item, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=8)
    pdf.multi_cell(0, 4, "The pump is tested at twenty degrees before it leaves the factory. " * 12)
    pdf.output(str(tmp_path / "sheet.pdf"))
    blocks = _blocks(tmp_path / "sheet.pdf")
    assert blocks[:2] == [("heading", "Pump X200", 1), ("list", "\n".join(items), 0)]
    assert [kind for kind, _, _ in blocks[2:]] == ["paragraph"]
