"""Document parsers, chosen by file extension.

Importing this package is cheap: pypdf, python-docx, trafilatura and markdown-it are
imported inside the parse methods, so commands that parse nothing start fast.
"""

from __future__ import annotations

from pathlib import Path

from petitrag.documents.base import Block, ParsedDocument, Parser
from petitrag.documents.docx import DocxParser
from petitrag.documents.docx_package import EXPANDED_LIMIT
from petitrag.documents.html import HtmlParser
from petitrag.documents.markdown import MarkdownParser
from petitrag.documents.pdf import PdfParser
from petitrag.documents.text import TextParser
from petitrag.errors import DocumentError, UnsupportedFormatError

__all__ = [
    "PARSERS",
    "SUPPORTED_EXTENSIONS",
    "Block",
    "ParsedDocument",
    "Parser",
    "parse_bytes",
    "parser_for",
]

PARSERS: dict[str, Parser] = {
    extension: parser
    for parser in (TextParser(), MarkdownParser(), HtmlParser(), PdfParser(), DocxParser())
    for extension in parser.extensions
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(PARSERS)


def parser_for(path: Path) -> Parser:
    """The parser for ``path``'s extension (case-insensitive)."""
    extension = path.suffix.lower()
    parser = PARSERS.get(extension)
    if parser is None:
        shown = extension or "(no extension)"
        raise UnsupportedFormatError(
            f"unsupported file type {shown}; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}"
        )
    return parser


def parse_bytes(data: bytes, path: Path, max_bytes: int | None = None) -> ParsedDocument:
    """Parse a file's content, refusing files that would add nothing to the index;
    ``max_bytes`` (``max_file_mb``) also bounds what a compressed .docx may expand to."""
    parser = parser_for(path)
    if not data:
        raise DocumentError("empty file")
    token = EXPANDED_LIMIT.set(max_bytes) if max_bytes else None
    try:
        document = parser.parse(data, path)
    finally:
        if token is not None:
            EXPANDED_LIMIT.reset(token)
    if not document.text.strip() or not document.blocks:
        raise DocumentError("no extractable text")
    return document
