"""DOCX reading as Word shows it: text hidden through styles, lists inside table cells."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml

from tests.test_documents import _docx_bytes, _write, parse

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _style(document: docx.document.Document, name: str, kind: WD_STYLE_TYPE, based_on: str = "") -> None:
    """A style named ``name`` (its styleId too), hiding its text unless it is based on another."""
    style = document.styles.add_style(name, kind)
    if based_on:
        style.base_style = document.styles[based_on]
    else:
        style.element.get_or_add_rPr().append(parse_xml(f"<w:vanish {W}/>"))


def test_docx_text_hidden_through_a_style_is_left_out(tmp_path: Path) -> None:
    """A template's instructions in a hidden paragraph style and a quiz's answer in a hidden
    character style were indexed: only a run's own ``w:vanish`` was read. A style hides through
    the styles it is based on; a run's ``<w:vanish w:val="0"/>`` shows it all the same."""
    document = docx.Document()
    _style(document, "HiddenBase", WD_STYLE_TYPE.PARAGRAPH)
    _style(document, "Instructions", WD_STYLE_TYPE.PARAGRAPH, based_on="HiddenBase")
    _style(document, "Answer", WD_STYLE_TYPE.CHARACTER)
    _style(document, "QuizAnswer", WD_STYLE_TYPE.CHARACTER, based_on="Answer")
    document.add_paragraph("TEMPLATE INSTRUCTIONS: delete this paragraph.", style="Instructions")
    instructions = document.add_paragraph("Fill in ", style="Instructions")
    instructions.add_run("the client's name.")._r.get_or_add_rPr().append(
        parse_xml(f'<w:vanish {W} w:val="0"/>')
    )
    quiz = document.add_paragraph("The capital of Australia is ")
    quiz.add_run("Canberra", style="QuizAnswer")
    quiz.add_run("(answer hidden).")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Capital"
    table.cell(0, 1).paragraphs[0].add_run("Canberra", style="Answer")
    table.cell(0, 1).add_paragraph("Ask the teacher.")
    doc = parse(_write(tmp_path / "quiz.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks] == [
        "the client's name.",
        "The capital of Australia is (answer hidden).",
        "| Capital | Ask the teacher. |\n| --- | --- |",
    ]


def test_docx_numbered_list_in_a_table_cell_keeps_its_numbers_and_separators(tmp_path: Path) -> None:
    """A numbered procedure in a cell read "| Pump | Unplug the pump Open the lid Replace the
    filter |": its numbers were lost and its steps ran together. Numbers go on as in Word."""
    document = docx.Document()
    document.add_paragraph("Switch off the mains.", style="List Number")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Pump"
    steps = table.cell(0, 1)
    steps.paragraphs[0].text = "Steps:"
    for text, style in (("Unplug the pump", "List Number"), ("Open the lid.", "List Number"),
                        ("Replace the filter", "List Number"), ("Gloves", "List Bullet")):  # fmt: skip
        steps.add_paragraph(text, style=style)
    steps.add_paragraph("Then close it.")
    doc = parse(_write(tmp_path / "pump.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks] == [
        "1. Switch off the mains.",
        "| Pump | Steps: 2. Unplug the pump; 3. Open the lid. 4. Replace the filter; - Gloves; "
        "Then close it. |\n| --- | --- |",
    ]


def test_the_default_style_is_looked_up_once_per_document(tmp_path: Path, monkeypatch) -> None:
    """python-docx scans every style of the document for the default of each paragraph naming
    none: a 3,000-paragraph report took 50 s to read (now about a second)."""
    from docx.styles.styles import Styles

    lookups: list[object] = []
    default = Styles.default
    monkeypatch.setattr(Styles, "default", lambda self, kind: (lookups.append(kind), default(self, kind))[1])
    document = docx.Document()
    for number in range(200):
        document.add_paragraph(f"Paragraph {number} of the handbook.")
    document.add_paragraph("A closing quotation.", style="Quote")
    parsed = parse(_write(tmp_path / "long.docx", _docx_bytes(document)))
    assert "Paragraph 199 of the handbook." in parsed.text and "A closing quotation." in parsed.text
    assert 0 < len(lookups) <= 2
