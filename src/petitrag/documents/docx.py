"""DOCX: body paragraphs and tables in document order, headings from paragraph styles,
then the footnotes and endnotes.

Tables are rendered as Markdown pipe tables and consecutive list paragraphs become one
list block, so the chunker can keep them whole.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from petitrag.documents.base import Block, ParsedDocument, Parser, assemble, file_kind
from petitrag.documents.docx_package import drop_entity_references, refuse_zip_bomb
from petitrag.documents.docx_styles import HiddenStyles, Numbering, heading_level, list_depth, roman
from petitrag.documents.docx_styles import W as _W
from petitrag.documents.docx_text import paragraph_text
from petitrag.documents.html import HtmlParser, markdown_table
from petitrag.errors import DocumentError

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

_WRAPPERS = frozenset({f"{_W}sdt", f"{_W}customXml"})  # around rows or cells of a table
_REASON_MAX = 120


def _reason(exc: BaseException) -> str:
    """The error's first line, shortened at a word's end."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else ""
    if len(line) > _REASON_MAX:
        line = line[: _REASON_MAX + 1].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return line or type(exc).__name__


def _open(data: bytes) -> Document:
    """The document, or one line saying what the file is instead: a PDF, an old .doc or a
    workbook renamed .docx read "File is not a zip file" or python-docx's own words."""
    import docx  # lazy: heavy import

    kind = file_kind(data)
    if kind == "a damaged ZIP archive":
        raise DocumentError("corrupt or unreadable DOCX: damaged ZIP archive (an incomplete download?)")
    if kind is None:
        raise DocumentError("corrupt or unreadable DOCX: not a ZIP archive, which every .docx is")
    if not kind.startswith("a Word .docx"):
        raise DocumentError(f"not a Word .docx file: it is {kind}")
    refuse_zip_bomb(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except MemoryError as exc:  # not a broken file: one too large for this machine
        raise DocumentError("DOCX too large to read in memory") from exc
    except Exception as exc:  # missing parts, bad XML: all mean a broken file
        raise DocumentError(f"corrupt or unreadable DOCX: {_reason(exc)}") from exc
    drop_entity_references(document)
    return document


def _items(container: Any, parent: Any) -> Iterator[Paragraph | Table | _AltChunk]:
    """Paragraphs and tables in reading order, looking inside content controls (w:sdt), and
    content embedded as another file (w:altChunk)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in container.iterchildren():
        if child.tag == f"{_W}p":
            yield Paragraph(child, parent)
            for box in _text_boxes(child):
                yield from _items(box, parent)
        elif child.tag == f"{_W}tbl":
            yield Table(child, parent)
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _items(content, parent)
        elif child.tag == f"{_W}altChunk":
            yield _AltChunk(child.get(f"{_R}id", ""))


_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


@dataclass
class _AltChunk:
    """A ``w:altChunk``: content kept as another file inside the .docx (an HTML export a tool
    pasted in), which Word converts when it opens the file and python-docx never reads: a file
    made of one read "no extractable text"."""

    relationship: str

    def blocks(self, document: Document) -> list[Block]:
        """Its blocks when it is an HTML page, else none."""
        part = document.part.related_parts.get(self.relationship)
        if part is None or not (
            "html" in part.content_type or str(part.partname).endswith((".htm", ".html"))
        ):
            return []
        try:
            return HtmlParser().parse(part.blob, Path(str(part.partname))).blocks
        except DocumentError:
            return []


_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"


def _text_boxes(paragraph: Any) -> list[Any]:
    """The outermost text boxes anchored in a paragraph, read after it.

    Flyers and forms put their words in text boxes, which ``paragraph.text`` never sees.
    Word writes each box twice (DrawingML, then a VML copy under ``mc:Fallback``): the
    copy is skipped, and so are boxes inside boxes, which their outer box's reading yields.
    """
    boxes = []
    for box in paragraph.iter(f"{_W}txbxContent"):
        between = set(_tags_up_to(box, paragraph))
        if f"{_MC}Fallback" not in between and f"{_W}txbxContent" not in between:
            boxes.append(box)
    return boxes


def _tags_up_to(element: Any, top: Any) -> Iterator[str]:
    """The tags of ``element``'s ancestors below ``top``."""
    for ancestor in element.iterancestors():
        if ancestor is top:
            return
        yield ancestor.tag


@dataclass
class _Reading:
    """What every paragraph of a document is read with: its list numbering, counted in reading
    order (a list in a table cell goes on numbering as in Word), and its styles that hide text."""

    numbering: Numbering
    styles: HiddenStyles


def _list_line(item: Paragraph, text: str, numbering: Numbering, level: int) -> str | None:
    """A list paragraph's line as Word shows it ("  a) Open the lid"), None for any other
    paragraph (``level``: the paragraph's heading level, 0 for body text)."""
    depth = None if level else list_depth(item)
    depth = numbering.depth(item) if depth is None and not level else depth
    if depth is None:
        return None
    return f"{'  ' * depth}{numbering.marker(item, depth)} {' '.join(text.split())}"


def _cell_text(cell: _Cell, reading: _Reading) -> str:
    """A cell's paragraphs and nested tables (``cell.text`` leaves nested tables out). List
    items keep their markers and end with ";" when more follows: a table flattens a cell to
    one line, and a numbered procedure in a cell read "Unplug the pump Open the lid"."""
    from docx.table import Table

    parts: list[tuple[str, bool]] = []  # (text, whether it is a list item's line)
    for item in _items(cell._tc, cell):
        if isinstance(item, Table):
            parts += [(text, False) for row in _rows(item, reading) for text in row if text.strip()]
        elif not isinstance(item, _AltChunk) and (text := paragraph_text(item._p, reading.styles).strip()):
            line = _list_line(item, text, reading.numbering, heading_level(item)) if _styled(item) else None
            parts.append((line or text, line is not None))
    return "\n".join(
        f"{text};" if is_item and n + 1 < len(parts) and not _CLAUSE_END.search(text) else text
        for n, (text, is_item) in enumerate(parts)
    )


_CLAUSE_END = re.compile(r"[.;:,!?…]$")


def _styled(paragraph: Paragraph) -> bool:
    """Whether a paragraph names a style or a numbering, which a list item does: python-docx
    finds the default style of one that names neither slowly (milliseconds each, and a table
    may have thousands of cells)."""
    return (
        paragraph._p.find(f"{_W}pPr/{_W}pStyle") is not None
        or paragraph._p.find(f"{_W}pPr/{_W}numPr") is not None
    )


def _rows(table: Table, reading: _Reading) -> list[list[str]]:
    """Cell texts row by row; a cell merged across columns is written once, not per column."""
    if any(child.tag in _WRAPPERS for parent in table._tbl.iter(f"{_W}tbl", f"{_W}tr") for child in parent):
        return _wrapped_rows(table, reading)
    rows: list[list[str]] = []
    for row in table.rows:
        cells = row.cells
        rows.append(
            [
                "" if i and cell._tc is cells[i - 1]._tc else _cell_text(cell, reading)
                for i, cell in enumerate(cells)
            ]
        )
    return rows


def _wrapped_rows(table: Table, reading: _Reading) -> list[list[str]]:
    """Rows of a table whose rows or cells sit inside content controls (a Word "repeating
    section", a form's fields): python-docx sees only bare ``w:tr``/``w:tc``, and their text
    was lost. Merges as in ``_rows``: across columns once, down rows repeated."""
    from docx.table import _Cell

    rows: list[list[str]] = []
    above: dict[int, str] = {}  # grid column -> text of the cell a vertical merge started
    for tr in _children(table._tbl, "tr"):
        row: list[str] = []
        for tc in _children(tr, "tc"):
            span = tc.find(f"{_W}tcPr/{_W}gridSpan")
            merge = tc.find(f"{_W}tcPr/{_W}vMerge")
            if merge is not None and merge.get(f"{_W}val", "continue") == "continue":
                text = above.get(len(row), "")
            else:
                text = above[len(row)] = _cell_text(_Cell(tc, table), reading)
            row += [text] + [""] * (int(span.get(f"{_W}val", "1")) - 1 if span is not None else 0)
        rows.append(row)
    return rows


def _children(parent: Any, tag: str) -> Iterator[Any]:
    """``parent``'s ``w:{tag}`` children, also those inside content controls and custom XML."""
    for child in parent.iterchildren():
        if child.tag == f"{_W}{tag}":
            yield child
        elif child.tag == f"{_W}customXml":
            yield from _children(child, tag)
        elif child.tag == f"{_W}sdt" and (content := child.find(f"{_W}sdtContent")) is not None:
            yield from _children(content, tag)


def _table_block(table: Table, reading: _Reading) -> Block:
    try:
        rows = _rows(table, reading)
    except Exception:  # irregular merges python-docx cannot resolve: keep the words at least
        rows = [["".join(cell.itertext())] for cell in table._tbl.iter(f"{_W}tc")]
    return Block("table", markdown_table(rows))


def _blocks(document: Document, styles: HiddenStyles) -> list[Block]:
    from docx.table import Table

    blocks: list[Block] = []
    numbering = Numbering(document)
    reading = _Reading(numbering, styles)
    items: list[str] = []  # the list being collected

    def flush() -> None:
        if items:
            blocks.append(Block("list", "\n".join(items)))
            items.clear()

    for item in _items(document.element.body, document._body):
        if isinstance(item, Table | _AltChunk):
            flush()
            blocks += item.blocks(document) if isinstance(item, _AltChunk) else [_table_block(item, reading)]
            continue
        text = paragraph_text(item._p, styles).strip()
        if not text:
            continue  # empty spacing paragraphs neither add text nor end a list
        level = heading_level(item)
        line = _list_line(item, text, numbering, level)
        if line is not None:
            items.append(line)
            continue
        flush()
        if level:
            number = numbering.heading_number(item)
            blocks.append(Block("heading", " ".join(f"{number} {text}".split()), level=level))
        else:
            blocks.append(Block("paragraph", text))
    flush()
    return blocks


_NOTE_PARTS = ("footnotes", "endnotes")
_NOT_A_NOTE = frozenset({"separator", "continuationSeparator", "continuationNotice"})


#: a header or footer line that only numbers pages: "3", "Page 3", "Page 3 of 12", "- 3 -", "3 / 12";
#: not a year ("2024") or a date ("12 / 2024"), which were dropped as page numbers
_PAGE_NUMBER = re.compile(
    r"(?:page|p\.)?\s*([-–—]?)\s*\d{1,3}\s*\1\s*(?:(?:of|sur|de|von)\s*\d{1,4}|/\s*\d{1,3})?", re.IGNORECASE
)


def _running_blocks(document: Document, styles: HiddenStyles) -> list[Block]:
    """The text of the headers and footers, once, after the body: python-docx reads neither,
    and a file reference or a company's name there ("Référence dossier : RH-2024-117") was
    found by no search. A line that only numbers pages is left out."""
    lines: dict[str, None] = {}
    for section in document.sections:
        for part in (section.header, section.first_page_header, section.even_page_header,
                     section.footer, section.first_page_footer, section.even_page_footer):  # fmt: skip
            if part.is_linked_to_previous:  # the previous section's, or none at all
                continue
            for paragraph in part._element.iter(f"{_W}p"):
                line = " ".join(paragraph_text(paragraph, styles).split())
                if line and not _PAGE_NUMBER.fullmatch(line):
                    lines.setdefault(line, None)
    return [Block("paragraph", "\n".join(lines))] if lines else []


def _note_blocks(document: Document, styles: HiddenStyles) -> list[Block]:
    """Footnotes, then endnotes, under a "Notes" heading after the body, numbered as Word
    shows them: in the order the body refers to them, footnotes 1, 2, 3 and endnotes i, ii, iii
    (their internal ids are neither: both kinds started at "1.").

    python-docx reads neither, yet reports and legal texts put precisions, dates and
    references there: left out, a question about them found nothing. Word's separator
    "notes" (the rule above the footnotes) are not text.
    """
    from docx.oxml.parser import parse_xml

    parts = {rel.reltype.rsplit("/", 1)[-1]: rel.target_part for rel in document.part.rels.values()
             if not rel.is_external and rel.reltype.rsplit("/", 1)[-1] in _NOTE_PARTS}  # fmt: skip
    notes: list[Block] = []
    for part_name in _NOTE_PARTS:
        if part_name not in parts:
            continue
        kind = part_name.removesuffix("s")
        order = {
            ref.get(f"{_W}id"): n for n, ref in enumerate(document.element.body.iter(f"{_W}{kind}Reference"))
        }
        found = []
        for note in parse_xml(parts[part_name].blob).iterchildren(f"{_W}{kind}"):
            text = " ".join(" ".join(paragraph_text(p, styles) for p in note.iter(f"{_W}p")).split())
            if note.get(f"{_W}type") not in _NOT_A_NOTE and text:
                found.append((order.get(note.get(f"{_W}id"), len(order)), text))
        for number, (_, text) in enumerate(sorted(found, key=lambda item: item[0]), start=1):
            label = str(number) if kind == "footnote" else roman(number)
            notes.append(Block("paragraph", f"{label}. {text}"))
    return [Block("heading", "Notes", level=1), *notes] if notes else []


def _core_title(document: Document) -> str | None:
    """The title the file declares; None without docProps/core.xml, where python-docx makes
    up "Word Document" (it was put before every chunk)."""
    from docx.opc.constants import RELATIONSHIP_TYPE

    try:
        document.part.package.part_related_by(RELATIONSHIP_TYPE.CORE_PROPERTIES)
        title = document.core_properties.title
    except Exception:  # none, or a damaged docProps/core.xml: only costs the title
        return None
    return " ".join((title or "").split()) or None


def _drop_tables_of_contents(body: Any) -> None:
    """Removes the tables of contents Word generates (a TOC field's runs, a "Table of Contents"
    content control, heading and all): their lines ("Scope\t1") repeat the headings with page
    numbers, and were indexed as paragraphs."""
    for control in list(body.iter(f"{_W}sdt")):
        gallery = control.find(f"{_W}sdtPr/{_W}docPartObj/{_W}docPartGallery")
        if gallery is not None and gallery.get(f"{_W}val", "").casefold() == "table of contents":
            control.getparent().remove(control)
    for simple in list(body.iter(f"{_W}fldSimple")):
        if simple.get(f"{_W}instr", "").split()[:1] == ["TOC"]:
            simple.getparent().remove(simple)
    for run in _toc_field_runs(body):
        run.getparent().remove(run)


def _toc_field_runs(body: Any) -> list[Any]:
    """The runs of complex TOC fields, from their ``begin`` to their ``end`` (across
    paragraphs, nested PAGEREF fields included)."""
    found: list[Any] = []
    fields: list[tuple[list[str], list[Any]]] = []  # open fields: instruction parts, runs
    for run in body.iter(f"{_W}r"):
        char = run.find(f"{_W}fldChar")
        kind = char.get(f"{_W}fldCharType") if char is not None else None
        if kind == "begin":
            fields.append(([], []))
        if not fields:
            continue
        fields[-1][0].extend(text.text or "" for text in run.iter(f"{_W}instrText"))
        fields[-1][1].append(run)
        if kind == "end":
            instruction, runs = fields.pop()
            if "".join(instruction).split()[:1] == ["TOC"]:
                found += runs
            elif fields:
                fields[-1][1].extend(runs)
    return found


class DocxParser(Parser):
    """``.docx``: headings, paragraphs, lists and tables in document order."""

    extensions = (".docx",)
    format = "docx"

    def parse(self, data: bytes, path: Path) -> ParsedDocument:
        document = _open(data)
        try:
            _drop_tables_of_contents(document.element.body)
            styles = HiddenStyles(document)
            body = _blocks(document, styles)
            blocks = body + _note_blocks(document, styles) + _running_blocks(document, styles)
        except DocumentError:
            raise
        except MemoryError as exc:
            raise DocumentError("DOCX too large to read in memory") from exc
        except Exception as exc:  # malformed body XML that python-docx trips on
            raise DocumentError(f"corrupt or unreadable DOCX: {_reason(exc)}") from exc
        # the body's own headings only: the notes' "Notes" titled a file without headings
        first_heading = next((b.text for b in body if b.kind == "heading"), None)
        title = _core_title(document) or first_heading or path.stem
        return assemble(blocks, self.format, title=title)
