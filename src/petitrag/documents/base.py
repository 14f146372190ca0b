"""What every document parser produces: the extracted text cut into structural blocks.

Parsers keep structure (headings, paragraphs, lists, tables, pages) because the chunker
cuts along it and citations point back to it (page, section, character offsets).
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list", "table", "code"]


@dataclass
class Block:
    """One structural unit. ``start``/``end`` index into ``ParsedDocument.text``."""

    kind: BlockKind
    text: str
    level: int = 0  # heading level (1 = top); 0 for non-headings
    page: int | None = None  # 1-based page number (PDF)
    start: int = 0
    end: int = 0
    label: str | None = None  # a heading's words as read, where ``text`` holds markup ("**Prix**")


@dataclass
class ParsedDocument:
    """Extracted text plus the blocks that tile it, in reading order."""

    text: str
    blocks: list[Block]
    format: str
    title: str | None = None
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)


class Parser(ABC):
    """Turns the bytes of one file into a ParsedDocument, or raises DocumentError."""

    #: lower-case file suffixes this parser handles, e.g. (".md", ".markdown")
    extensions: tuple[str, ...] = ()
    #: short format name stored in the index, e.g. "markdown"
    format: str = ""

    @abstractmethod
    def parse(self, data: bytes, path: Path) -> ParsedDocument:
        """Parse ``data`` (the file's content); ``path`` is for messages and titles."""


#: characters that show nothing but cut a word in two for search ("ré\u200bunion"): soft
#: hyphen, zero-width space, word joiner, a BOM inside the text (files pasted together), NUL
_INVISIBLE = re.compile("[\x00\u00ad\u200b-\u200d\u2060\ufeff]")


def strip_invisible(text: str) -> str:
    """``text`` without the invisible characters that would hide its words from search
    (a regex, not ``str.translate``: 20 times faster on a text that has none), its accents
    composed (NFC): macOS tools and some PDFs write « é » as « e » + a combining accent, which
    split words in two for search and for the answer checks."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _INVISIBLE.sub("", text)


def assemble(blocks: list[Block], fmt: str, **extra: object) -> ParsedDocument:
    """Join block texts with blank lines and set offsets, for formats without a raw text.

    Formats whose source is already text (Markdown, plain text) keep offsets into the
    source instead and build ParsedDocument themselves.
    """
    parts: list[str] = []
    position = 0
    kept: list[Block] = []
    for block in blocks:
        text = strip_invisible(block.text).strip()
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            position += 2
        block.text, block.start, block.end = text, position, position + len(text)
        parts.append(text)
        position += len(text)
        kept.append(block)
    return ParsedDocument(text="".join(parts), blocks=kept, format=fmt, **extra)  # type: ignore[arg-type]


_TITLE_MAX_CHARS = 120
_TITLE_MAX_WORDS = 12
#: a list item's marker ("- ", "• ", "1. ", "a) ") or a table row's cell separator
_LIST_OR_ROW = re.compile(r"(?:[-•▪◦‣●–*]|\d{1,3}[.)]|[a-z][.)])\s|.*\s\|\s|\|")
_SENTENCE_BREAK = re.compile(r"[.!?;]\s+[^\W\d_]")  # "… du café. stray byte": two sentences
#: a period after a word of three letters or more ends a sentence, whatever follows: "Certificate
#: for Alice Martin. Signed by Jeanne Roux" was the title, so every chunk of the file matched
#: "Alice Martin". "Dr. Smith", "St. Louis", "J. R. R. Tolkien" have shorter words before theirs.
_PERIOD_AFTER_WORD = re.compile(r"([^\W\d_]{3,})\.\s+\S")
#: words of three letters or more written with a period inside a title's name ("Prof. Tournesol")
_ABBREVIATIONS = frozenset(
    "mrs mme mlle prof inc ltd corp cie bros ste gen col capt sgt rev hon vol fig dept univ ave "
    "blvd etc".split()
)
#: words that number a document's own parts ("Article 3", "Étape 2"), lower case: their number
#: is no page number (pdf_running.py), and they alone make no title
PART_WORDS = frozenset(
    "article articles chapter chapters chapitre chapitres section sections part parts partie parties "
    "step steps étape étapes lesson lessons leçon leçons module modules unit units unité unités annex "
    "annexe annexes appendix titre title clause clauses exercise exercice question lot".split()
)
#: a part's number alone ("Article 1", "Chapter 3", "Page 1"): the first part's name, not the
#: whole's ("Windows 11", "Apollo 13" are titles)
_PART_OR_PAGE = "|".join(sorted(PART_WORDS | {"page", "p"}, key=len, reverse=True))
_PART_NUMBER = re.compile(rf"(?:{_PART_OR_PAGE})\.?\s+(?:\d{{1,3}}|[ivxlc]{{1,6}})[.:)]?")
#: a final period that closes a company's name, not a sentence: "Acme Inc.", "Acme S.A."
_NAME_PERIOD = re.compile(r"(?:\b(?:[A-Z]\.){2,}|\b(?:Inc|Ltd|Corp|Co|Cie|Bros|Jr|Sr|St)\.)$")


def title_like(line: str) -> str | None:
    """``line`` when it reads as a title ("Employee Handbook 2024"), else None.

    Only for formats with no declared title, whose first line is a guess: the title is put
    before every chunk's index text, so a first sentence taken for one ("Reminder: the wifi
    password is tulip42.") made every chunk of its file match a search for its words. A title
    is a few words, not a sentence (no final period, no sentence ending inside), a list item,
    a table row, or the heading of a first part ("Article 1")."""
    line = " ".join(line.split())
    if not line or len(line) > _TITLE_MAX_CHARS or len(line.split()) > _TITLE_MAX_WORDS:
        return None
    folded = line.casefold()
    ends_like_a_sentence = line.endswith((",", ";", ":")) or (
        line.endswith(".") and not _NAME_PERIOD.search(line)
    )
    if ends_like_a_sentence or _LIST_OR_ROW.match(folded) or _PART_NUMBER.fullmatch(folded):
        return None
    if any(brk.group()[-1].islower() for brk in _SENTENCE_BREAK.finditer(line)):
        return None  # "Dr. Smith" or "St. Louis" may be a title
    if any(word.casefold() not in _ABBREVIATIONS for word in _PERIOD_AFTER_WORD.findall(line)):
        return None
    return line if any(char.isalpha() for char in line) else None


#: what an OLE2 (Office 97-2003) file holds, by the name of its main stream
_OLE_STREAMS = (
    ("EncryptedPackage", "a password-protected Office file: remove its password in Word to read it"),
    ("WordDocument", "an old Word .doc (Word 97-2003): save it as .docx in Word or LibreOffice"),
    ("Workbook", "an old Excel .xls workbook (not supported)"),
    ("PowerPoint Document", "an old PowerPoint .ppt (not supported)"),
)
#: what an Office Open XML or OpenDocument ZIP holds, by a part only it has
_ZIP_PARTS = (
    ("word/document.xml", "a Word .docx: name it .docx"),
    ("xl/workbook.xml", "an Excel .xlsx workbook (not supported)"),
    ("ppt/presentation.xml", "a PowerPoint .pptx (not supported)"),
    ("content.xml", "an OpenDocument file (.odt, .ods: not supported; save it as .docx)"),
)


def file_kind(data: bytes) -> str | None:
    """What a file is by its first bytes, as a phrase for messages ("a PDF: name it .pdf"),
    None when unknown. Files reach petitrag renamed or saved under the wrong extension (a
    download, an old .doc renamed .docx), and the reader's own error ("File is not a zip
    file", "no relationship of type …") says nothing of what to do."""
    head = data[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()  # a UTF-8 BOM before "<!DOCTYPE html>"
    if head.startswith(b"%PDF-"):
        return "a PDF: name it .pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        streams = data[: 1 << 20]  # the stream directory is near the start in files of any size
        found = (what for name, what in _OLE_STREAMS if name.encode("utf-16-le") in streams)
        return next(found, "an old Office 97-2003 file (.doc, .xls): save it as .docx in Word or LibreOffice")
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head.startswith(b"{\\rtf"):
        return "an RTF document (not supported; save it as .docx)"
    if head.lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page: name it .html"
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG")):
        return "an image (OCR is not supported)"
    return None


def _zip_kind(data: bytes) -> str:
    import io
    import zipfile

    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a damaged ZIP archive"
    if any(name.startswith("word/") for name in names):  # the main part may be "word/document2.xml"
        return _ZIP_PARTS[0][1]
    return next((what for part, what in _ZIP_PARTS if part in names), "a ZIP archive")
