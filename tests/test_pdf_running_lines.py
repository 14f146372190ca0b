"""PDF running headers and footers against a page's own text: what repeats from page to page
at the top or bottom of a page is not always a header or footer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF

from petitrag.documents import ParsedDocument, parse_bytes
from petitrag.errors import DocumentError
from tests.test_documents import parse, write_pdf


def _pdf(path: Path, pages: list[list[str]], footer: Callable[[int], str] | None = None) -> ParsedDocument:
    """A real PDF, one list of paragraphs per page, in one font (no headings by size), with a
    footer line from ``footer(page number)``; parsed."""

    class Document(FPDF):
        def footer(self) -> None:
            if footer is not None:
                self.set_y(-15)
                self.set_font("helvetica", size=9)
                self.cell(0, 10, footer(self.page_no()), align="C")

    pdf = Document()
    for paragraphs in pages:
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return parse_bytes(path.read_bytes(), path)


def _page_texts(doc: ParsedDocument) -> list[str]:
    """Each page's text, its blocks joined by a space: what a search finds there."""
    return [
        " ".join(" ".join(block.text.split()) for block in doc.blocks if block.page == page)
        for page in range(1, doc.pages + 1)
    ]


_NAMES = ("Marc Girard", "Julie Perrin", "Hugo Lambert", "Emma Faure", "Louis Brun")


def test_a_template_s_repeated_closing_lines_are_kept_on_every_page(tmp_path: Path) -> None:
    """Five permits, one per page, closing on the same two lines: both were read on the
    first page only, taken for a two-line footer."""
    closing = ["This permit expires at the end of the calendar year.", "Approved by the site safety officer"]
    pages = [[f"Permit holder: {name} may enter the loading dock.", *closing] for name in _NAMES]
    doc = _pdf(tmp_path / "permits.pdf", pages)
    assert _page_texts(doc) == [" ".join(page) for page in pages]


def test_a_passage_wrapping_to_the_same_last_line_keeps_it_on_every_page(tmp_path: Path) -> None:
    """Each page's passage wrapped to the same short last line, over the page number: every page
    but the first ended mid-sentence ("…reported no missing items in the stock register")."""
    passage = (
        "Inspection of pallet row {row}: the team counted every box and reported no missing items in the "
        "stock register for that week."
    )
    pages = [[passage.format(row=row)] for row in range(11, 17)]
    doc = _pdf(tmp_path / "inspections.pdf", pages, footer=str)
    assert _page_texts(doc) == [page[0] for page in pages]


def test_a_repeated_line_under_each_page_s_own_first_line_is_kept(tmp_path: Path) -> None:
    """Each recipe opens with its name, then "Ingredients": the heading was lost from every
    recipe but the first, and the "Serves 4" closing each one over the page number too."""
    recipes = [
        ("Pear Crumble", "4 pears", "Bake the pear crumble for 30 minutes."),
        ("Leek Quiche", "3 leeks", "Bake the leek quiche until the top is golden."),
        ("Pea Risotto", "300 g peas", "Stir the risotto for 18 minutes, adding the stock slowly."),
        ("Apple Compote", "6 apples", "Simmer the apples with a little water and sugar."),
    ]
    pages = [
        [name, "Ingredients", f"- {item}", f"{method} Serve it with a salad.", "Serves 4"]
        for name, item, method in recipes
    ]
    doc = _pdf(tmp_path / "recipes.pdf", pages, footer=lambda n: f"Page {n} of 4")
    assert _page_texts(doc) == [" ".join(page) for page in pages]


def test_a_fixed_footer_over_the_page_number_still_goes_from_later_pages(tmp_path: Path) -> None:
    """A company line above the page number is a footer: kept once, where it first appears."""
    company = "Northwind Traders - Internal use only"
    pages = [[f"{name} joins the sales team on the first Monday of the month.", company] for name in _NAMES]
    doc = _pdf(tmp_path / "staff.pdf", pages, footer=lambda n: f"- {n} -")
    assert _page_texts(doc) == [" ".join(pages[0]), *(page[0] for page in pages[1:])]


def test_roman_page_numbers_of_a_short_front_matter_are_left_out(tmp_path: Path) -> None:
    """Three pages numbered i to iii, then nine numbered 1 to 9: the roman numbers were on
    fewer than half the pages, and each stayed glued to its page's text ("…batch 22. ii")."""
    roman = ("i", "ii", "iii")
    pages = [
        [f"Chapter note {n}: the archive holds box number {n * 7} of the collection."] for n in range(1, 13)
    ]
    doc = _pdf(tmp_path / "archive.pdf", pages, footer=lambda n: roman[n - 1] if n <= 3 else str(n - 3))
    assert _page_texts(doc) == [page[0] for page in pages]


def test_two_roman_numbered_pages_before_the_numbered_ones_lose_their_numbers(tmp_path: Path) -> None:
    """A foreword and a contents page numbered i and ii, then four numbered "Page 1 of 4"."""
    pages = [[f"Part {n} of the handbook describes how visitors sign in at reception."] for n in range(1, 7)]
    doc = _pdf(
        tmp_path / "handbook.pdf",
        pages,
        footer=lambda n: ("i", "ii")[n - 1] if n <= 2 else f"Page {n - 2} of 4",
    )
    assert _page_texts(doc) == [page[0] for page in pages]


def test_a_sentence_footer_over_the_page_number_goes_from_later_pages(tmp_path: Path) -> None:
    """A legal line over the page number reads as a sentence, yet is a footer: it was kept on
    every page, glued to each page's last passage."""
    legal = "(c) 2024 Northwind Logistics. All rights reserved."
    pages = [[f"{name} joins the sales team on the first Monday of the month.", legal] for name in _NAMES]
    doc = _pdf(tmp_path / "legal.pdf", pages, footer=lambda n: f"Page {n}")
    assert _page_texts(doc) == [" ".join(pages[0]), *(page[0] for page in pages[1:])]


def _cover_and_pages(path: Path, paragraphs: list[str], header: Callable[[int], str]) -> ParsedDocument:
    """A real PDF: a cover page, then one page per paragraph under ``header(page number)`` and
    over "Page N"; parsed."""

    class Document(FPDF):
        def header(self) -> None:
            if self.page_no() > 1:
                self.set_font("helvetica", size=8)
                self.cell(0, 6, header(self.page_no()), new_x="LMARGIN", new_y="NEXT")

        def footer(self) -> None:
            if self.page_no() > 1:
                self.set_y(-15)
                self.set_font("helvetica", size=8)
                self.cell(0, 8, f"Page {self.page_no()}", align="C")

    pdf = Document()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "Pilot report, prepared by the operations team.")
    for paragraph in paragraphs:
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, paragraph)
    pdf.output(str(path))
    return parse_bytes(path.read_bytes(), path)


def test_after_a_cover_page_the_header_and_page_numbers_of_two_pages_go(tmp_path: Path) -> None:
    """A cover, then two pages with a header and "Page N": on two pages of three, neither was
    a running line; "Page 2" ended the page's text and the header opened each page."""
    paragraphs = [f"Office {name} closed every request within two days." for name in ("Lyon", "Nantes")]
    doc = _cover_and_pages(tmp_path / "pilot.pdf", paragraphs, header=lambda n: "Northwind - Pilot Report")
    assert _page_texts(doc) == [
        "Pilot report, prepared by the operations team.",
        f"Northwind - Pilot Report {paragraphs[0]}",
        paragraphs[1],
    ]


def test_a_chapter_header_with_the_page_number_goes_from_its_pages(tmp_path: Path) -> None:
    """Each chapter's header bears its title and the page number ("Chapter 2: Setup 4"): each
    chapter is fewer than half the pages, and every page kept its header."""
    paragraphs = [f"Step {n} of the setup checks the cables of rack {n * 3}." for n in range(1, 7)]
    chapter = {2: 1, 3: 1, 4: 2, 5: 2, 6: 2, 7: 3}
    doc = _cover_and_pages(
        tmp_path / "manual.pdf", paragraphs, header=lambda n: f"Chapter {chapter[n]}: Setup guide {n}"
    )
    assert _page_texts(doc) == ["Pilot report, prepared by the operations team.", *paragraphs]


def test_a_scan_whose_only_text_is_the_scanner_app_watermark_has_no_text_layer(tmp_path: Path) -> None:
    """Its pages are images; "Scanned with CamScanner" on each was indexed as the document (three
    chunks of it), and nothing said the text layer was missing."""
    path = write_pdf(tmp_path / "scan.pdf", ["Scanned with CamScanner"] * 3)
    with pytest.raises(
        DocumentError, match=r"no text layer .*each page holds only 'Scanned with CamScanner'"
    ):
        parse(path)
    assert (
        "Minutes" in parse(write_pdf(tmp_path / "one.pdf", ["Minutes of the board"])).text
    )  # one page: its text
