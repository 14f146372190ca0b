"""Plain text: decode whatever encoding the file is in, cut paragraphs on blank lines.

Offsets index into the decoded text itself (not a re-assembled copy), so a citation can
be located in the user's own file. Newlines are normalized to ``\\n`` first.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

from petitrag.documents.base import Block, BlockKind, ParsedDocument, Parser, strip_invisible, title_like
from petitrag.errors import DocumentError

SNIFF = 8192  # how much of the start of a file decides "binary or text"
_CONTROL_RATIO = 0.10
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*•‣◦–]|\d{1,3}[.)])[ \t]+\S")


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding and refuse binary content; newlines become ``\\n``.

    UTF-8 first (most files), UTF-16 only with a BOM or an obvious ASCII-in-UTF-16
    pattern, then cp1252 (Windows French text). A UTF-8 file with a few stray bytes stays
    UTF-8 (one bad byte must not turn every "é" of the file into "Ã©"). charset-normalizer
    is not used: it reads short French texts as cp1250, cp037 or cp1125 ("à" becomes "ŕ").
    Invisible characters that split words for search (soft hyphens, zero-width spaces,
    NULs past the sniffed start) are removed.
    """
    text = _decode(data)
    if looks_binary(text[:SNIFF]):
        raise DocumentError(f"binary content, not text{_binary_kind(data)}")
    return strip_invisible(text.replace("\r\n", "\n").replace("\r", "\n"))


def _binary_kind(data: bytes) -> str:
    """What binary a text file is, when its first bytes say so (a download saved as .txt)."""
    head = data[:8]
    if head.startswith(b"%PDF-"):
        return "; it is a PDF: name it .pdf"
    if head.startswith(b"PK\x03\x04"):
        return "; it is a ZIP archive (a .docx named .txt? name it .docx)"
    return ""


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace").lstrip("\ufeff")
    encoding = bomless_utf16(data[:SNIFF])
    if encoding:
        return data.decode(encoding, errors="replace")
    return decode_8bit(data)


def decode_8bit(data: bytes) -> str:
    """UTF-8 when most non-ASCII bytes form UTF-8 characters, else Windows-1252.

    Stray bytes are read as cp1252 in UTF-8 text (a pasted Windows line stays readable),
    and the five bytes cp1252 leaves undefined as latin-1 (what browsers do), so a single
    odd byte no longer sends a whole cp1252 file to latin-1 ("l’été" read as "l\\x92été").
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return data.decode("utf-8", errors=_CP1252_BYTES)
    return data.decode("cp1252", errors=_LATIN1_BYTES)


def _mostly_utf8(data: bytes) -> bool:
    """More well-formed UTF-8 characters than malformed sequences: a cp1252 file has
    almost none of the former (an accented letter is followed by ASCII, not a continuation)."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return non_ascii - invalid > invalid


def _bytes_as(encoding: str) -> Callable[[UnicodeDecodeError], tuple[str, int]]:
    """A codec error handler that reads the bytes the codec could not in ``encoding``."""

    def handler(error: UnicodeDecodeError) -> tuple[str, int]:
        undecoded = error.object[error.start : error.end]
        return bytes(undecoded).decode(encoding, errors="replace"), error.end

    return handler


_CP1252_BYTES, _LATIN1_BYTES = "petitrag-cp1252", "petitrag-latin-1"
codecs.register_error(_CP1252_BYTES, _bytes_as("cp1252"))
codecs.register_error(_LATIN1_BYTES, _bytes_as("latin-1"))


_UTF16_NUL_SHARE = 0.9


def bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM shows as ASCII with every other byte NUL: nearly every other
    one, as "’", "€" or "œ" have a high byte too (one such character made a Windows export
    "binary content")."""
    head = head[: len(head) // 2 * 2]
    if len(head) < 4:
        return None
    odd, even = head[1::2], head[0::2]
    for encoding, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if b"\x00" not in low and high.count(0) >= _UTF16_NUL_SHARE * len(high):
            return encoding
    return None


def looks_binary(sample: str) -> bool:
    """NUL characters, or too many control characters, mean this is not text."""
    if not sample:
        return False
    if "\x00" in sample:
        return True
    controls = sum(
        1 for char in sample if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc"
    )
    return controls > _CONTROL_RATIO * len(sample)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of non-blank lines, trimmed of surrounding whitespace.

    Done line by line rather than with one regex so huge whitespace-only lines cannot
    trigger catastrophic backtracking.
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    position = 0
    for line in text.split("\n"):
        if line.strip():
            if start is None:
                start = position + (len(line) - len(line.lstrip()))
            end = position + len(line.rstrip())
        elif start is not None:
            spans.append((start, end))
            start = None
        position += len(line) + 1
    if start is not None:
        spans.append((start, end))
    return spans


def _kind(paragraph: str) -> BlockKind:
    """A list: first line has a marker, every other line is an item or an indented continuation."""
    lines = paragraph.split("\n")
    if not _LIST_MARKER.match(lines[0]):
        return "paragraph"
    if all(_LIST_MARKER.match(line) or line[:1] in (" ", "\t") for line in lines[1:]):
        return "list"
    return "paragraph"


def first_line_title(text: str, path: Path) -> str:
    """The first non-empty line when it reads as a title (``title_like``), else the file stem."""
    for line in text.split("\n"):
        if line.strip():
            return title_like(line) or path.stem
    return path.stem


class TextParser(Parser):
    """``.txt`` / ``.text``: paragraphs and bullet lists, offsets into the source."""

    extensions = (".txt", ".text")
    format = "text"

    def parse(self, data: bytes, path: Path) -> ParsedDocument:
        text = decode_text(data)
        blocks = [
            Block(kind=_kind(text[start:end]), text=text[start:end], start=start, end=end)
            for start, end in paragraph_spans(text)
        ]
        return ParsedDocument(
            text=text, blocks=blocks, format=self.format, title=first_line_title(text, path)
        )
