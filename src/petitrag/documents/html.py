"""HTML: the page's main content (not menus, banners or footers) as structured blocks.

trafilatura finds the main content; its XML output keeps headings with levels, lists
and tables, which become whole blocks. Tiny pages it gives up on fall back to the
visible text of ``<body>`` minus navigation and boilerplate elements.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import TYPE_CHECKING

from petitrag.documents.base import Block, ParsedDocument, Parser, assemble, file_kind
from petitrag.documents.html_markup import code_in_bare_pre, without_templates
from petitrag.documents.text import SNIFF, bomless_utf16, decode_8bit, looks_binary
from petitrag.errors import DocumentError

if TYPE_CHECKING:
    from lxml.etree import _Element

_WORDS = re.compile(r"\w+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252",
    "x-mac-roman": "mac_roman", "macintosh": "mac_roman",  # old Mac pages: "cafŽ" for "café"
}  # fmt: skip
_SKIPPED_TAGS = frozenset(
    {"nav", "header", "footer", "script", "style", "noscript", "aside", "form", "template", "svg", "button"}
)
#: skipped tags kept inside these parents: a page's header is boilerplate, an article's or a
#: section's holds its title; a page's aside is a sidebar, an article's a warning box or a note
_IN_CONTENT = {"header": ("article", "main", "section"), "aside": ("article",)}  # <main> holds sidebars
#: a form's own text: a login or search form is these and a few words ("Username", "Log in")
_FORM_FIELDS = ("input", "select", "option", "textarea", "button", "label", "legend")
_XML_CONTAINERS = frozenset({"div", "quote"})  # in trafilatura's output
_XML_BLOCKS = frozenset({"head", "p", "list", "table", "code", "quote", "div"})
#: what a cookie or consent banner's id, class or label says (Cookiebot, OneTrust, cookieconsent)
_CONSENT = re.compile(r"cookie|consent|gdpr|onetrust|\bcc-(?:window|banner)\b", re.IGNORECASE)
_BANNER_WORDS = 120  # a consent banner is a few sentences and its buttons
_PROSE_WORDS = 8  # a fallback paragraph this long that trafilatura lacks is content it dropped
_MENU_ITEM_WORDS = 3  # a list with fewer words per item is navigation
_SHINGLE = 4  # words compared together when looking for a block in another extraction
_BASELINE = 250  # trafilatura's MIN_EXTRACTED_SIZE: shorter results are its fallback text
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "main", "header", "ul", "ol", "li", "table", "pre", "blockquote",
     "dl", "dt", "dd", "figure", "figcaption", "address", "details", "summary", "aside", "form", "fieldset",
     *_HEADINGS}
)  # fmt: skip


def decode_html(data: bytes) -> str:
    """Decode with the BOM, else the ``<meta charset>``, else UTF-8, else cp1252.

    A page that declares UTF-8 (or UTF-16, which a ``<meta>`` readable as ASCII cannot
    be), or whose bytes are UTF-8 whatever it declares, is decoded like a text file: old
    pages re-templated with a UTF-8 ``<meta>`` but still saved in cp1252 read "réunion",
    not "r\ufffdunion".
    """
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace").lstrip("\ufeff")
    if utf16 := bomless_utf16(data[:SNIFF]):  # a Windows export: read "<\x00h\x00t\x00m\x00l\x00"
        return data.decode(utf16, errors="replace")
    declared = _declared_codec(data)
    if declared and not declared.startswith("utf-") and not _utf8_with_accents(data):
        return data.decode(declared, errors="replace")
    return decode_8bit(data)


def _utf8_with_accents(data: bytes) -> bool:
    """Bytes that decode as UTF-8 and hold non-ASCII letters: a page saved in UTF-8 under a
    Latin-1 ``<meta>`` (a browser's "save as") read "SÃ©curitÃ©" otherwise. Latin-1 text with
    accents is almost never valid UTF-8."""
    try:
        return not data.decode("utf-8").isascii()
    except UnicodeDecodeError:
        return False


def _declared_codec(data: bytes) -> str | None:
    """Python's name for the ``<meta charset>`` encoding; None when absent or unknown."""
    match = _META_CHARSET.search(data[:4096])
    if match is None:
        return None
    declared = match.group(1).decode("ascii").lower()
    try:
        return codecs.lookup(_WHATWG_ALIASES.get(declared, declared)).name
    except LookupError:
        return None  # unknown charset name: guessed instead


def clean(text: str) -> str:
    """Collapse runs of spaces inside each line and drop blank lines."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def markdown_table(rows: list[list[str]]) -> str:
    """Render rows as a Markdown pipe table, first row as header (readable by any LLM)."""
    rows = [[" ".join(cell.split()).replace("|", "\\|") for cell in row] for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _inline(element: _Element) -> str:
    """Text of a trafilatura element, with ``<lb/>`` as a newline and nested lists left out."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag != "list":
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _list_lines(element: _Element, depth: int = 0) -> list[str]:
    ordered = element.get("rend") == "ol"
    lines: list[str] = []
    for number, item in enumerate(element.findall("item"), start=1):
        marker = f"{number}." if ordered else "-"
        lines.append(f"{'  ' * depth}{marker} {' '.join(_inline(item).split())}")
        for nested in item.findall("list"):
            lines.extend(_list_lines(nested, depth + 1))
    return lines


def _xml_block(element: _Element) -> Block:
    """One child of trafilatura's ``<main>`` as a Block."""
    tag = element.tag
    if tag == "head":
        level = _HEADINGS.get(str(element.get("rend", "")), 2)
        return Block("heading", " ".join(_inline(element).split()), level=level)
    if tag == "list":
        return Block("list", "\n".join(_list_lines(element)))
    if tag == "table":
        rows = [[_inline(cell) for cell in row.findall("cell")] for row in element.findall("row")]
        return Block("table", markdown_table(rows))
    if tag == "code":
        return Block("code", "".join(element.itertext()).strip("\n"))
    return Block("paragraph", clean(_inline(element)))


def _trafilatura_blocks(html: str) -> list[Block]:
    import trafilatura  # lazy: heavy import
    from lxml import etree

    html = code_in_bare_pre(without_templates(html))
    xml = trafilatura.extract(
        html, output_format="xml", include_tables=True, include_formatting=False, include_links=False,
        include_comments=False, favor_recall=True,
    )  # fmt: skip
    if not xml:
        return []
    main = etree.fromstring(xml).find("main")
    if main is None:
        return []
    return [block for block in _container_blocks(main) if block.text]


def _container_blocks(parent: _Element) -> list[Block]:
    """Blocks of trafilatura's ``<main>``, or of a ``<div>``/``<quote>`` in it that holds
    headings, lists or tables (a Word page's ``WordSection1``, a quote with a list): read
    as one paragraph, its headings lost their role and its lists their items."""
    blocks = [Block("paragraph", clean(parent.text or ""))]
    for child in parent:
        if child.tag in _XML_CONTAINERS and any(inner.tag in _XML_BLOCKS for inner in child):
            blocks += _container_blocks(child)
        else:
            blocks.append(_xml_block(child))
        blocks.append(Block("paragraph", clean(child.tail or "")))
    return blocks


def _walk(element: _Element, out: list[Block]) -> None:
    """Fallback extraction: visible text of ``element`` as blocks, in document order."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _HEADINGS:
        out.append(Block("heading", " ".join(element.text_content().split()), level=_HEADINGS[tag]))
    elif tag in ("ul", "ol"):
        out.append(Block("list", "\n".join(_fallback_list(element))))
    elif tag == "table":
        out.append(Block("table", markdown_table(_table_rows(element))))
    elif not any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in element):
        out.append(Block("paragraph", clean(element.text_content())))
    else:  # mixed content: inline runs between block children become paragraphs
        run = [element.text or ""]
        for child in element:
            child_tag = child.tag if isinstance(child.tag, str) else ""
            if child_tag in _BLOCK_TAGS:
                out.append(Block("paragraph", clean("".join(run))))
                run = []
                _walk(child, out)
            elif child_tag:
                run.append("\n" if child_tag == "br" else child.text_content())
            run.append(child.tail or "")
        out.append(Block("paragraph", clean("".join(run))))


def _table_rows(table: _Element) -> list[list[str]]:
    """The cells of each row, a cell spanning rows (``rowspan``) repeated in those below it:
    left out, "mardi" moved under the first column ("| mardi |  |" for "| Lyon | mardi |")."""
    rows: list[list[str]] = []
    spanning: dict[int, tuple[str, int]] = {}  # column -> (text, rows still to fill)
    for row in table.iter("tr"):
        cells, column = [], 0
        for cell in row.iter("td", "th"):
            while column in spanning:
                column = _fill(cells, spanning, column)
            text = cell.text_content()
            cells.append(text)
            span = _span(cell.get("rowspan"))
            if span > 1:
                spanning[column] = (text, span - 1)
            column += 1
        while column in spanning:
            column = _fill(cells, spanning, column)
        rows.append(cells)
    return rows


def _fill(cells: list[str], spanning: dict[int, tuple[str, int]], column: int) -> int:
    text, left = spanning.pop(column)
    cells.append(text)
    if left > 1:
        spanning[column] = (text, left - 1)
    return column + 1


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 100))
    except ValueError:
        return 1


def _fallback_list(element: _Element, depth: int = 0) -> list[str]:
    """Lines of a ``<ul>``/``<ol>``: a nested list goes under its item, indented, not into its text."""
    lines: list[str] = []
    for number, item in enumerate(element.findall("li"), start=1):
        marker = f"{number}." if element.tag == "ol" else "-"
        parts, nested = [item.text or ""], []
        for child in item:
            if child.tag in ("ul", "ol"):
                nested.append(child)
            elif isinstance(child.tag, str):
                parts.append(child.text_content())
            parts.append(child.tail or "")
        if text := " ".join("".join(parts).split()):
            lines.append(f"{'  ' * depth}{marker} {text}")
        for sublist in nested:
            lines.extend(_fallback_list(sublist, depth + 1))
    return lines


def _parse_tree(html: str) -> _Element | None:
    from lxml import etree
    from lxml import html as lxml_html

    try:
        return lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None  # empty or whitespace-only document


def _fallback_blocks(tree: _Element | None) -> list[Block]:
    body = tree.find("body") if tree is not None else None
    if body is None:
        return []
    for unwanted in list(body.iter(*_SKIPPED_TAGS)):
        if unwanted.tag in _IN_CONTENT and _inside_content(unwanted, _IN_CONTENT[unwanted.tag]):
            continue  # <article><header><h1>Parking rules</h1></header>: the article's own title
        if unwanted.tag == "header" and _holds_the_title(unwanted, body):
            continue  # its <nav>, if any, still goes
        if unwanted.tag == "form" and _holds_content(unwanted, body):
            continue  # an ASP.NET page wraps its whole body in <form id="form1">
        unwanted.drop_tree()  # keeps the tail text, which belongs to the parent
    for banner in [element for element in body.iter() if _is_consent_banner(element)]:
        banner.drop_tree()
    for line_break in body.iter("br"):  # text_content() drops <br>, gluing the words around it
        line_break.tail = "\n" + (line_break.tail or "")
    blocks: list[Block] = []
    _walk(body, blocks)
    return [block for block in blocks if block.text]


def _is_consent_banner(element: _Element) -> bool:
    """A cookie or consent banner ("We use cookies to improve your experience…"), by its id,
    class or label: its sentences read as prose trafilatura had lost, so the page was read from
    its visible text with the banner as its first chunk. A long element, or one with headings,
    is content whatever its class says (a recipe's "cookies" section)."""
    if not isinstance(element.tag, str):
        return False
    names = " ".join(element.get(attribute, "") for attribute in ("id", "class", "aria-label"))
    if not _CONSENT.search(names):
        return False
    headed = any(element.find(f".//h{level}") is not None for level in range(1, 7))
    return len(_WORDS.findall(element.text_content())) < _BANNER_WORDS and not headed


def _holds_the_title(header: _Element, body: _Element) -> bool:
    """Whether a page's ``<header>`` holds its only ``<h1>``: the title of what follows
    ("Règlement du club", its date of update under it), which went with the site's banner."""
    return len(header.findall(".//h1")) == 1 and len(body.findall(".//h1")) == 1


def _inside_content(element: _Element, parents: tuple[str, ...]) -> bool:
    return any(parent.tag in parents for parent in element.iterancestors())


def _holds_content(form: _Element, body: _Element) -> bool:
    """Whether a ``<form>`` holds the page's content rather than fields: ASP.NET and SharePoint
    wrap every page's body in one, and all its text was dropped. A login, search or newsletter
    form beside the content holds a small share of the page's words (headings and a sentence
    of its own included)."""
    fields = sum(len(_WORDS.findall(field.text_content())) for field in form.iter(*_FORM_FIELDS))
    own = len(_WORDS.findall(form.text_content())) - fields
    return own >= _PROSE_WORDS and own >= len(_WORDS.findall(body.text_content())) / 2


def _title(tree: _Element | None) -> str | None:
    if tree is None:
        return None
    title = " ".join((tree.findtext(".//title") or "").split())
    if not title:
        og = tree.find(".//meta[@property='og:title']")
        title = " ".join((og.get("content", "") if og is not None else "").split())
    return title or None


def _gave_up(blocks: list[Block], fallback: list[Block]) -> bool:
    """True when trafilatura found nothing, or only its structureless "baseline" text.

    When it finds no main content (small pages, or pages whose content it pruned) it
    returns all page text as one paragraph, menus included and headings, lists and tables
    flattened; the plain body walk then does better.
    """
    return not blocks or (
        len(blocks) == 1
        and blocks[0].kind == "paragraph"
        and (len(blocks[0].text) < _BASELINE or any(block.kind != "paragraph" for block in fallback))
    )


def _lost_content(kept: list[Block], everything: list[Block]) -> bool:
    """True when trafilatura left out a heading or a paragraph of prose that the page's
    visible text (navigation, header, footer and asides removed) holds. Its pruning is made
    for the web: it drops headings on pages without a content container, and any block whose
    class merely contains "bar", "menu", "meta", "expand", "slide"... (a "barème" table, a
    Confluence expand macro, a Notion callout). Losing a user's content is worse than keeping
    a stray menu, so such pages are read from their visible text instead."""
    kept_words = [_WORDS.findall(block.text.casefold()) for block in kept]
    found: dict[int, set[tuple[str, ...]]] = {}
    for block in everything:
        words = _WORDS.findall(block.text.casefold())
        if not words or (block.kind != "heading" and not _is_prose(block, words)):
            continue
        size = min(_SHINGLE, len(words))
        if size not in found:
            found[size] = set().union(*(_grams(other, size) for other in kept_words))
        wanted = _grams(words, size)
        if len(wanted & found[size]) < len(wanted) / 2:
            return True
    return False


def _is_prose(block: Block, words: list[str]) -> bool:
    """Long enough to be content; a list only if its items are phrases, not a menu's links."""
    if block.kind == "list":
        return len(words) >= _PROSE_WORDS and len(words) >= _MENU_ITEM_WORDS * (block.text.count("\n") + 1)
    return len(words) >= _PROSE_WORDS


def _grams(words: list[str], size: int) -> set[tuple[str, ...]]:
    """Runs of ``size`` words: where two extractions of a page agree."""
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _decoded_page(data: bytes) -> str:
    """The page's text, or a refusal saying what the file is: a PDF, an image or a .docx
    saved as .html (a download's name) was indexed as chunks of binary garbage."""
    kind = file_kind(data)
    if kind is not None and not kind.startswith("an HTML page"):
        raise DocumentError(f"binary content, not HTML; it is {kind}")
    html = decode_html(data)
    if looks_binary(html[:SNIFF]):
        raise DocumentError("binary content, not HTML")
    return html


class HtmlParser(Parser):
    """``.html`` / ``.htm``: main content with headings, lists and tables."""

    extensions = (".html", ".htm")
    format = "html"

    def parse(self, data: bytes, path: Path) -> ParsedDocument:
        html = _XML_DECLARATION.sub("", _decoded_page(data), count=1)
        tree = _parse_tree(html)
        declared_title = _title(tree)  # before the body walk below drops elements from the tree
        warnings: list[str] = []
        try:
            blocks = _trafilatura_blocks(html)
        except Exception as exc:  # a content-extraction bug must not lose the page
            warnings.append(f"main-content extraction failed ({type(exc).__name__}); kept all visible text")
            blocks = []
        fallback = _fallback_blocks(tree)
        if fallback and (_gave_up(blocks, fallback) or _lost_content(blocks, fallback)):
            blocks = fallback  # never an empty one over trafilatura's text
        first_heading = next((b.text for b in blocks if b.kind == "heading" and b.text), None)
        title = declared_title or first_heading or path.stem
        return assemble(blocks, self.format, title=title, warnings=warnings)
