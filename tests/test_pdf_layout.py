"""PDF layout read from fonts and lines: headings, paragraphs set larger, lists, tables, titles.

Each test builds a real PDF with fpdf2 and parses it with the real parser."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
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


def _manual(path: Path, numbered: bool) -> Path:
    """A title in 22 pt, then headings, numbered or not, whose bookmarks have no numbers
    (hyperref's)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", "B", 22)
    pdf.multi_cell(0, 11, "Safety Manual", new_x="LMARGIN", new_y="NEXT")
    for bookmark, printed, level, body in (
        ("Introduction", "1. Introduction", 0, "This manual explains the safety rules of the plant."),
        ("Protective equipment", "2. Protective equipment", 0, ""),
        ("Helmets", "2.1 Helmets", 1, "Helmets are mandatory in zone B."),
    ):
        pdf.start_section(bookmark, level=level)
        pdf.set_font("helvetica", "B", 16 - 3 * level)
        pdf.multi_cell(0, 8, printed if numbered else bookmark, new_x="LMARGIN", new_y="NEXT")
        if body:
            pdf.set_font("helvetica", size=11)
            pdf.multi_cell(0, 6, body, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


@pytest.mark.parametrize("numbered", [True, False])
def test_pdf_bookmarked_headings_are_not_glued_to_the_title(tmp_path: Path, numbered: bool) -> None:
    """With bookmarks, every line in a heading's font was one run: the title took the first
    heading's number ("Safety Manual 1."), or the whole heading, and stood before any section."""
    blocks = _blocks(_manual(tmp_path / "manual.pdf", numbered))
    assert blocks[0] == ("paragraph", "Safety Manual", 0)
    assert [(kind, level) for kind, _, level in blocks[1:]] == [
        ("heading", 1),
        ("paragraph", 0),
        ("heading", 1),
        ("heading", 2),
        ("paragraph", 0),
    ]


def test_pdf_headings_with_a_ligature_are_headings(tmp_path: Path) -> None:
    """ "2. Deﬁnitions", drawn with the one glyph "ﬁ", was read as a numbered list item: the
    page's text had its ligatures undone, the line looked up by its font had not."""
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # fpdf2's own fonts have no "ﬁ"
    pdf = FPDF()
    pdf.add_font("dejavu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("dejavu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    for heading, body in (
        ("1. Scope", "This agreement covers the supply of office furniture to every branch."),
        ("2. De\ufb01nitions", "A branch means any office of the company open to the public."),
        ("3. Bene\ufb01ts and O\ufb00ers", "The supplier grants a discount of eight percent."),
    ):
        pdf.set_font("dejavu", "B", 15)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("dejavu", size=10)
        pdf.multi_cell(0, 5, body, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "terms.pdf"))
    headings = [(text, level) for kind, text, level in _blocks(tmp_path / "terms.pdf") if kind == "heading"]
    assert headings == [("1. Scope", 1), ("2. Definitions", 1), ("3. Benefits and Offers", 1)]


def test_pdf_table_rows_stay_rows(tmp_path: Path) -> None:
    """Rows of like lengths are never short: a price list was one run-on paragraph ("Widget 1
    13.50 blue Widget 2 16.50 green…"), the sentence below the table glued to its last row."""
    rows = [
        ("Product", "Unit price", "Colour"),
        ("Widget 1", "13.50", "blue"),
        ("Widget 2", "16.50", "green"),
    ]
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "All prices are in euros and exclude VAT.", new_x="LMARGIN", new_y="NEXT")
    with pdf.table() as table:
        for row in rows:
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    pdf.multi_cell(0, 6, "Prices valid until 31 December 2024.", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "prices.pdf"))
    assert _blocks(tmp_path / "prices.pdf") == [
        ("paragraph", "All prices are in euros and exclude VAT.", 0),
        ("table", "Product | Unit price | Colour\nWidget 1 | 13.50 | blue\nWidget 2 | 16.50 | green", 0),
        ("paragraph", "Prices valid until 31 December 2024.", 0),
    ]


def _table_pdf(path: Path, rows: list[tuple[str, ...]], widths: tuple[int, ...], after: str) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 6, "See the table below.", new_x="LMARGIN", new_y="NEXT")
    with pdf.table(width=sum(widths), col_widths=widths, align="LEFT") as table:
        for row in rows:
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    pdf.multi_cell(0, 6, after, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_pdf_a_cell_filling_its_column_stays_a_cell(tmp_path: Path) -> None:
    """In a 120 mm table, "Pre-carbon block filter" fills its column: its width was guessed as
    if every letter were a capital, it seemed to reach the next cell, the two were read as one,
    and the last row ("RO membrane every 24 months AP-M75") was glued to the sentence below."""
    rows = [
        ("Filter", "Replacement interval", "Part number"),
        ("PP sediment filter", "every 6 months", "AP-F01"),
        ("Pre-carbon block filter", "every 12 months", "AP-F02"),
        ("RO membrane", "every 24 months", "AP-M75"),
    ]
    path = _table_pdf(tmp_path / "filters.pdf", rows, (45, 45, 30), "Error codes shown on the display:")
    assert _blocks(path)[1:] == [
        ("table", "\n".join(" | ".join(row) for row in rows), 0),
        ("paragraph", "Error codes shown on the display:", 0),
    ]


def test_pdf_a_row_with_an_empty_cell_stays_in_its_table(tmp_path: Path) -> None:
    """Rows whose "Notes" were empty had a cell fewer: they ended the table, and the last row
    was glued to the sentence below ("Rennes 10:00-19:00 Late opening… Hours may change…")."""
    rows = [
        ("Branch", "Hours", "Notes"),
        ("Lyon", "9:00-17:00", "Closed on Mondays"),
        ("Nantes", "8:00-18:00", ""),
        ("Rennes", "10:00-19:00", "Late opening on Thursdays"),
    ]
    path = _table_pdf(tmp_path / "hours.pdf", rows, (40, 40, 60), "Hours may change during holidays.")
    assert _blocks(path)[1:] == [
        (
            "table",
            "Branch | Hours | Notes\nLyon | 9:00-17:00 | Closed on Mondays\nNantes | 8:00-18:00 |\n"
            "Rennes | 10:00-19:00 | Late opening on Thursdays",
            0,
        ),
        ("paragraph", "Hours may change during holidays.", 0),
    ]


def test_pdf_a_lone_line_with_a_gap_is_no_table(tmp_path: Path) -> None:
    """A form's line ("Date:        Signature:") has a column's gap, but a table has rows."""
    terms = "I accept the terms of the lease and the rules of the building, which I have read. " * 2
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.cell(90, 6, "Date:")
    pdf.cell(0, 6, "Signature:", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, terms.strip(), new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "form.pdf"))
    assert _blocks(tmp_path / "form.pdf") == [
        ("paragraph", "Date: Signature:", 0),
        ("paragraph", terms.strip(), 0),
    ]


def test_pdf_two_sentences_are_no_title(tmp_path: Path) -> None:
    """ "Certificate for Alice Martin. Signed by Jeanne Roux" was the title: every chunk of the
    file matched a search for "Alice Martin"."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 7, "Certificate for Alice Martin.", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 7, "Signed by Jeanne Roux", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "certificate.pdf"))
    assert parse(tmp_path / "certificate.pdf").title == "certificate"


def test_pdf_title_is_the_first_page_s_largest_line(tmp_path: Path) -> None:
    """A small line above the title ("Northwind Logistics - Internal", a running header) was
    taken for it, not the 24 pt "Annual Report 2024"."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=9)
    pdf.cell(0, 8, "Northwind Logistics - Internal", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "B", 24)
    pdf.multi_cell(0, 12, "Annual Report 2024", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "B", 14)
    pdf.multi_cell(0, 8, "Introduction", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "The committee reviewed the regional results in detail. " * 4)
    pdf.output(str(tmp_path / "report.pdf"))
    assert parse(tmp_path / "report.pdf").title == "Annual Report 2024"


def test_pdf_bookmarked_headings_keep_their_printed_numbers(tmp_path: Path) -> None:
    """hyperref's bookmarks have no numbers: the heading was "Introduction", and "1." or "2.1"
    was in no passage, where the same PDF without bookmarks read "1. Introduction"."""
    doc = parse(_manual(tmp_path / "manual.pdf", numbered=True))
    headings = [(block.text, block.level) for block in doc.blocks if block.kind == "heading"]
    assert headings == [("1. Introduction", 1), ("2. Protective equipment", 1), ("2.1 Helmets", 2)]


def test_pdf_a_drop_cap_is_no_title_and_is_glued_to_its_word(tmp_path: Path) -> None:
    """A 42 pt drop cap "T" was the document's title and its top section, and the paragraph
    beside it began "he river otter is…"."""
    text = "he river otter is a semi-aquatic mammal found across much of North America."
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("times", "B", 42)
    pdf.cell(12, 16, "T")
    pdf.set_font("times", size=11)
    pdf.set_xy(24, pdf.get_y() + 1)
    pdf.multi_cell(0, 5.5, text + " It feeds mainly on fish and crayfish.")
    pdf.output(str(tmp_path / "otter.pdf"))
    document = parse(tmp_path / "otter.pdf")
    assert document.title == "otter"
    assert _blocks(tmp_path / "otter.pdf") == [
        ("paragraph", "T" + text + " It feeds mainly on fish and crayfish.", 0)
    ]
