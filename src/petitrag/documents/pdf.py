"""PDF: text per page (1-based page numbers on every block), paragraphs rebuilt from lines.

pypdf gives lines, rarely blank lines, so paragraphs are rebuilt from line lengths: a
line clearly shorter than the page's usual line was ended by the author, not wrapped.
Bookmarks (the outline) become heading blocks on their pages; without them, lines set in a
larger font are the headings (``pdf_fonts``).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from petitrag.documents.base import Block, BlockKind, ParsedDocument, Parser, assemble, title_like
from petitrag.documents.pdf_fonts import APART, LIGATURES, LineFonts, heading_levels
from petitrag.documents.pdf_running import LAST_WORD as _LAST_WORD
from petitrag.documents.pdf_running import only_repeated_line, without_running_lines
from petitrag.documents.pdf_tables import table_rows
from petitrag.errors import DocumentError
from petitrag.logs import silenced

if TYPE_CHECKING:
    from pypdf import PdfReader

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BULLET = re.compile(r"(?:[-•▪◦‣●–*]|\d{1,3}[.)])\s+\S")
_SHORT_LINE = 0.75  # a line under 75 % of the usual width ends its paragraph
_SOFT_LIMIT = 1500  # past this many characters, end the paragraph at the next sentence end
_HARD_LIMIT = 3000
_SENTENCE_END = tuple('.!?:;»"”)')  # characters that end a sentence
# "1 ", "2.3. ", "IV. ", "B) " before a heading's words
_NUMBERING = re.compile(r"(?:\d{1,3}(?:\.\d{1,3})*[.)]?|[ivxlc]{1,6}[.)]|[a-z][.)])\s+")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
# French words that follow a hyphen whatever the word before: "celle-ci", "dit-il", "lui-même"
_HYPHEN_TAILS = frozenset(
    "ci là il ils elle elles on je tu nous vous moi toi lui leur même mêmes être delà dessus dessous".split()
)
_ENCRYPTED = "encrypted PDF (password required)"
_NO_TEXT = "PDF has no text layer (scanned? OCR is not supported)"


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0][:120] if lines else "") or type(exc).__name__


def _open(data: bytes) -> PdfReader:
    """A readable PdfReader, decrypted with the empty password when needed."""
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:  # readers accept the header anywhere in the first 1 KB
        raise DocumentError(f"corrupt or unreadable PDF: not a PDF file (no %PDF header{_looks_like(data)})")
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf raises many types on damaged files, never on Ctrl-C
        raise DocumentError(f"corrupt or unreadable PDF: {_reason(exc)}") from exc
    if encrypted:
        _decrypt(reader)
    try:
        count = len(reader.pages)
    except Exception as exc:
        raise DocumentError(f"corrupt or unreadable PDF: {_reason(exc)}") from exc
    if count == 0:
        raise DocumentError("corrupt or unreadable PDF: no pages")
    return reader


def _looks_like(data: bytes) -> str:
    """What a file named .pdf is instead, when its first bytes say so (a download saved as the
    server's HTML error page, an office file renamed)."""
    head = data[:512].lstrip().lower()
    if head.startswith(b"pk\x03\x04"):
        return "; it is a ZIP archive: a .docx, .xlsx or .zip named .pdf?"
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        return "; it is HTML or XML: a web page saved as .pdf?"
    if head.startswith((b"\xff\xd8\xff", b"\x89png")):
        return "; it is an image (OCR is not supported)"
    return ""


def _decrypt(reader: PdfReader) -> None:
    """Many PDFs are encrypted with an empty user password: those open without asking."""
    from pypdf.errors import DependencyError

    try:
        opened = reader.decrypt("")
    except DependencyError as exc:  # AES without the `cryptography` package
        raise DocumentError(f"encrypted PDF needs an extra package: {_reason(exc)}") from exc
    except Exception as exc:
        raise DocumentError(f"encrypted PDF (unsupported encryption: {_reason(exc)})") from exc
    if not opened:
        raise DocumentError(_ENCRYPTED)


#: a soft hyphen that broke a word at a line's end ("infor\xad\nmation"): the word is whole
_SOFT_HYPHEN_BREAK = re.compile(r"\xad[ \t]*\r?\n[ \t]*")


def _page_texts(reader: PdfReader) -> tuple[list[str], list[int], list[LineFonts]]:
    """Text of every page ("" when it has none or fails), the numbers of failed pages, and the
    fonts of each page's lines."""
    texts: list[str] = []
    failed: list[int] = []
    fonts: list[LineFonts] = []
    for index in range(len(reader.pages)):
        fonts.append(LineFonts())
        try:
            page = reader.pages[index]
            text = page.extract_text(visitor_text=fonts[-1]) or ""
        except Exception:  # one broken page must not lose the others
            failed.append(index + 1)
            fonts[-1] = LineFonts()
            text = ""
        else:
            text = "\n\n".join(part for part in (text, _form_values(page, text)) if part)
        texts.append(
            _SOFT_HYPHEN_BREAK.sub("", text.translate(LIGATURES).replace("\x00", "")).replace("\xad", "")
        )
    if failed and len(failed) == len(texts):
        raise DocumentError("corrupt or unreadable PDF: no page could be read")
    return texts, failed, fonts


def _form_values(page: Any, text: str) -> str:
    """What was typed into the page's form fields, one "label: value" line each, top to bottom.

    pypdf's text is what the page draws itself: the name and dates of a filled leave
    request, an invoice's amounts typed into its fields, were not indexed. Boxes to tick
    are left out; a value the page already shows is not repeated. A broken field is skipped."""
    fields: list[tuple[float, float, str]] = []
    try:
        annotations = page.get("/Annots") or []
        for annotation in annotations:
            widget = annotation.get_object()
            value = _inherited(widget, "/V")
            if widget.get("/Subtype") != "/Widget" or _inherited(widget, "/FT") not in ("/Tx", "/Ch"):
                continue
            value = ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
            value = " ".join(value.split())
            if not value or value in text:
                continue
            label = str(_inherited(widget, "/TU") or _inherited(widget, "/T") or "").strip()
            left, bottom, _, top = (float(edge) for edge in widget.get("/Rect", (0, 0, 0, 0)))
            fields.append((-max(top, bottom), left, f"{label}: {value}" if label else value))
    except Exception:  # a damaged form must not cost the page its text
        return ""
    return "\n\n".join(line for _, _, line in sorted(fields))


def _inherited(field: Any, key: str) -> Any:
    """A field's entry, from the widget or the fields above it (a widget's /Parent holds its
    name and value when the field is drawn in several places)."""
    for _ in range(16):  # a /Parent loop in a broken file ends here
        if key in field:
            return field[key]
        parent = field.get("/Parent")
        if parent is None:
            return None
        field = parent.get_object()
    return None


def _pages_phrase(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:10])) + (", …" if len(numbers) > 10 else "")
    return f"page{'s' if len(numbers) > 1 else ''} {shown}"


def _is_short(line: str, usual: int) -> bool:
    return len(line) < _SHORT_LINE * usual and not line.endswith("-")


def _groups(lines: list[str], styled: Mapping[str, int]) -> Iterator[tuple[list[str], int | None]]:
    """Consecutive lines that form one paragraph, one list of bullet lines, or one heading, with
    the heading's level (``APART`` or below for lines that stand out by their font but are no
    heading, None for text): a heading's font sets it apart, where its length may not (after a
    full-width line it joined the paragraph). Consecutive lines of a heading are one (a title
    wrapped on two lines); lines kept apart make paragraphs of their own, measured against
    each other (a 17 pt introduction's lines are short beside 10 pt ones)."""
    usual = _usual(lines)
    for level, run in itertools.groupby(lines, key=styled.get):
        if level is not None and level > APART:
            yield list(run), level
            continue
        together = list(run)
        width = usual if level is None else _usual(together)
        yield from ((group, level) for group in _paragraphs(together, width))


def _usual(lines: list[str]) -> int:
    """The length of a full line among ``lines``: of two lines, the longer."""
    lengths = sorted(len(line) for line in lines)
    return lengths[round(0.8 * (len(lengths) - 1))]


def _paragraphs(lines: list[str], usual: int) -> Iterator[list[str]]:
    """Consecutive lines that form one paragraph, or one list of bullet lines."""
    group: list[str] = []
    size = 0
    ended = False  # the previous line closed its paragraph (or list item)
    for line in lines:
        in_list = bool(group) and bool(_BULLET.match(group[0]))
        bullet = bool(_BULLET.match(line)) and not (
            group and not in_list and _dash_aside(group[-1], line, ended)
        )
        ended = ended and not (group and _continues(group[-1], line))
        if group and (size > _HARD_LIMIT or (bullet and not in_list) or (ended and not (in_list and bullet))):
            yield group
            group, size = [], 0
        group.append(line)
        size += len(line) + 1
        ended = _is_short(line, usual) or (size > _SOFT_LIMIT and line.endswith(_SENTENCE_END))
    if group:
        yield group


def _dash_aside(line: str, after: str, ended: bool) -> bool:
    """A paragraph's line wrapped before a dash that opens an aside ("…le projet avance" then
    "– et malgré les retards – sera livré"): the sentence goes on, no list starts there."""
    return (
        not ended
        and not line.endswith(_SENTENCE_END)
        and after[:1] in "–—-"
        and after[1:].lstrip()[:1].islower()
    )


def _continues(line: str, after: str) -> bool:
    """A short line that ends mid-sentence ("…contrat à durée indéterminée,") before a line that
    starts in lowercase was wrapped early (ragged-right text, a narrow column), not ended."""
    return (line[-1:] in (",", ";") or line[-1:].islower()) and after[:1].islower()


def _join(lines: list[str], compounds: frozenset[str] = frozenset()) -> str:
    """Undo line wrapping: rejoin words cut at a line's end, keep list items on their own lines."""
    text = lines[0]
    for line in lines[1:]:
        if len(text) > 1 and text.endswith("-") and text[-2].isalnum() and line[:1].isalnum():
            text = text[:-1] + ("-" if _keeps_hyphen(text[:-1], line, compounds) else "") + line
        elif _BULLET.match(line) and (_BULLET.match(lines[0]) or not _dash_aside(text, line, False)):
            text += "\n" + line
        else:
            text += " " + line
    return text


def _keeps_hyphen(before: str, after: str, compounds: frozenset[str]) -> bool:
    """Whether a hyphen at a line's end belongs to the word ("porte-parole", "Jean-Pierre",
    "1939-1945") rather than to the line break ("exem-ple"). Typesetting only cuts words
    before a lowercase letter; a compound is known from the document itself (written whole
    on another line) or from the few French words that always take their hyphen."""
    head = _LAST_WORD.search(before)
    tail = _FIRST_WORD.match(after)
    if not (head and tail) or not after[:1].islower() or not before[-1:].isalpha():
        return True
    tail_word = tail.group().casefold()
    return f"{head.group()}-{tail.group()}".casefold() in compounds or tail_word in _HYPHEN_TAILS


def hyphenated_words(texts: list[str]) -> frozenset[str]:
    """Hyphenated words written whole inside a line somewhere in the document (casefolded)."""
    return frozenset(word.casefold() for text in texts for word in _COMPOUND.findall(text))


def _words_across_pages(texts: list[str], compounds: frozenset[str]) -> list[str]:
    """The pages with a word hyphenated across a page break made whole at the end of the first
    ("l'infor-" on page 1, "mation" on page 2: neither half was found by a search)."""
    pages = list(texts)
    for number in range(len(pages) - 1):
        before, after = pages[number].rstrip(), pages[number + 1].lstrip()
        tail = _FIRST_WORD.match(after)
        if not (len(before) > 1 and before.endswith("-") and before[-2].isalpha() and tail):
            continue
        if _keeps_hyphen(before[:-1], after, compounds) or not after[:1].islower():
            continue
        moved = after.split(maxsplit=1)  # the word and what is glued to it ("mation.")
        pages[number] = before[:-1] + moved[0]
        pages[number + 1] = moved[1] if len(moved) > 1 else ""
    return pages


def page_blocks(
    text: str,
    page: int,
    compounds: frozenset[str] = frozenset(),
    styled: Mapping[str, int] | None = None,
    rows: Mapping[str, str] | None = None,
) -> list[Block]:
    """Paragraph, list, table and heading blocks of one page's extracted text; ``compounds`` are
    the document's hyphenated words (``hyphenated_words``), kept whole when a line break cuts
    them; ``styled`` the page's lines set apart by their font (``heading_levels``), ``rows`` its
    table rows with their cells apart (``table_rows``): each row stays a line of its own."""
    blocks: list[Block] = []
    rows = rows or {}
    for chunk in _BLANK_LINE.split(text):
        lines = _drop_caps_joined([" ".join(line.split()) for line in chunk.split("\n")])
        for in_table, run in itertools.groupby((line for line in lines if line), key=rows.__contains__):
            if in_table:
                blocks.append(Block("table", "\n".join(rows[line] for line in run), page=page))
            else:
                blocks.extend(_text_blocks(list(run), page, compounds, styled or {}))
    return blocks


def _drop_caps_joined(lines: list[str]) -> list[str]:
    """Lines with a drop cap glued back to its word: a 42 pt "T" drawn beside "he river otter
    is…" was a line of its own, read as a paragraph "T" before one starting "he river"."""
    joined: list[str] = []
    for line in lines:
        if joined and len(joined[-1]) == 1 and joined[-1].isupper() and line[:1].islower():
            joined[-1] += line
        else:
            joined.append(line)
    return joined


def _text_blocks(
    lines: list[str], page: int, compounds: frozenset[str], styled: Mapping[str, int]
) -> list[Block]:
    """The heading, paragraph and list blocks of lines outside a table."""
    blocks: list[Block] = []
    for group, level in _groups(lines, styled):
        joined = _join(group, compounds)
        if level is not None and level > APART and _FIRST_WORD.search(joined):
            blocks.append(Block("heading", joined, level=level, page=page))
            continue
        kind: BlockKind = "list" if _BULLET.match(group[0]) else "paragraph"
        blocks.append(Block(kind, joined, page=page))
    return blocks


def _outline(reader: PdfReader) -> list[tuple[int, int, str]]:
    """(0-based page, level, title) for each bookmark; [] when absent or broken."""
    entries: list[tuple[int, int, str]] = []

    def visit(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                visit(item, level + 1)
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            page = reader.get_destination_page_number(item)
            if title and page is not None and page >= 0:
                entries.append((page, min(level, 6), title))

    try:
        visit(reader.outline, 1)
    except Exception:  # a broken outline is only a lost nicety
        return []
    return entries


def _place_headings(blocks: list[Block], headings: list[tuple[int, str]], page: int) -> list[Block]:
    """Turn the paragraph that starts with a bookmark title into a heading, in outline order.

    A bookmark whose title is not found on its page is inserted after the previous one.
    """
    result = list(blocks)
    cursor = 0
    for level, title in headings:
        found = _find_title(result, title, cursor)
        if found is None:
            result.insert(cursor, Block("heading", title, level=level, page=page))
            cursor += 1
            continue
        index, begin, end = found
        text, kind = result[index].text, result[index].kind
        heading = Block("heading", _printed_number(text, begin, end, title) + title, level=level, page=page)
        before, rest = text[:begin].strip(), text[end:].strip()
        parts = [Block(kind, before, page=page)] if before else []
        cursor = index + len(parts) + 1
        parts.append(heading)
        if rest:
            parts.append(Block("list" if _BULLET.match(rest) else "paragraph", rest, page=page))
        result[index : index + 1] = parts
    return result


def _printed_number(text: str, begin: int, end: int, title: str) -> str:
    """The number the page prints before a bookmark's title that has none ("1. " before
    hyperref's "Introduction"): the heading was the title alone, and "1." or "2.1" was found
    in no passage, where the same PDF without bookmarks kept them."""
    if _NUMBERING.match(title.casefold()) or len(text.casefold()) != len(text):
        return ""  # the bookmark's own number, or offsets into a casefolded text that moved
    numbering = _NUMBERING.match(text[begin:end].casefold())
    return text[begin : begin + numbering.end()].rstrip() + " " if numbering else ""


def _find_title(blocks: list[Block], title: str, start: int) -> tuple[int, int, int] | None:
    """(block, where the title begins and ends in its text) of the first block from ``start``
    that begins with the title, numbered or not (hyperref prints "1 Introduction" for the
    bookmark "Introduction", Word "1. Introduction", read as a list item), or ends with it
    after a sentence: a heading line after a full-width last line joins that paragraph."""
    key = _NUMBERING.sub("", title.casefold(), count=1)
    at_end = re.compile(rf"[.!?:;»\"”)]\s+((?:{_NUMBERING.pattern})?{re.escape(key)})$")
    for index in range(start, len(blocks)):
        if blocks[index].kind not in ("paragraph", "list"):
            continue
        text = blocks[index].text.casefold()
        numbering = _NUMBERING.match(text)
        skipped = numbering.end() if numbering else 0
        if text[skipped:] == key or text[skipped:].startswith(key + " "):
            return index, 0, skipped + len(key)
        if ending := at_end.search(text):
            return index, ending.start(1), len(text)
    return None


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    title = " ".join(str(title or "").split())
    title = title.removeprefix("Microsoft Word - ")
    return title if title and title.casefold() not in {"untitled", "title", "document"} else None


def _first_line(blocks: list[Block]) -> str | None:
    """The first line of text when it reads as a title (``title_like``)."""
    for block in blocks:
        line = block.text.split("\n")[0].strip()
        if line:
            return title_like(line)
    return None


def _font_title(blocks: list[Block], styled: Mapping[str, int]) -> str | None:
    """The first page's line in its largest heading font, whole, when it reads as a title: the
    first line was taken, a running header above it ("Northwind Logistics - Annual Report
    2024" in 9 pt over the 24 pt "Annual Report 2024")."""
    ranks = {text: abs(level - APART) for text, level in styled.items() if level != APART}
    if not ranks:
        return None
    line = min(ranks, key=ranks.__getitem__)  # the first of the largest
    block = next((block for block in blocks if block.page == 1 and block.text.startswith(line)), None)
    return (title_like(block.text) or title_like(line)) if block else None


def _font_headings(fonts: list[LineFonts], outlined: bool) -> list[dict[str, int]]:
    """Each page's lines set apart by their font (``heading_levels``). With bookmarks, those
    are the headings: a line in a heading's font is only kept apart from its neighbours (below
    ``APART``, one value per level), and the bookmark that names it finds it there."""
    levels = heading_levels(fonts)
    if not outlined:
        return levels
    # one value per level: a document's title and its "1. Introduction" below stay two lines
    return [{text: APART - level for text, level in page.items()} for page in levels]


class PdfParser(Parser):
    """``.pdf``: paragraphs with page numbers, bookmarks as headings."""

    extensions = (".pdf",)
    format = "pdf"

    def parse(self, data: bytes, path: Path) -> ParsedDocument:
        with silenced("pypdf"):
            reader = _open(data)
            texts, failed, fonts = _page_texts(reader)
            outline = _outline(reader)
            title = _metadata_title(reader)
        if not any(text.strip() for text in texts):
            raise DocumentError(_NO_TEXT)
        if watermark := only_repeated_line(texts):
            raise DocumentError(f"{_NO_TEXT}: each page holds only {watermark!r}")
        warnings = [f"text extraction failed on {_pages_phrase(failed)}"] if failed else []
        empty = [n for n, text in enumerate(texts, start=1) if not text.strip() and n not in failed]
        if empty:
            warnings.append(f"no text layer on {_pages_phrase(empty)} (scanned? OCR is not supported)")
        blocks: list[Block] = []
        compounds = hyphenated_words(texts)
        styled = _font_headings(fonts, bool(outline))
        pages = _words_across_pages(without_running_lines(texts), compounds)
        for number, (text, lines, page) in enumerate(zip(pages, styled, fonts, strict=True), start=1):
            headings = [(level, name) for at, level, name in outline if at == number - 1]
            found = page_blocks(text, number, compounds, lines, table_rows(page))
            blocks.extend(_place_headings(found, headings, number))
        title = title or _font_title(blocks, styled[0]) or _first_line(blocks) or path.stem
        return assemble(blocks, self.format, title=title, pages=len(texts), warnings=warnings)
