"""Markdown: CommonMark + tables, blocks are source slices, line for line with the file.

Keeping the Markdown (rather than rendered text) means tables and lists stay readable for
the model. What a viewer does not show goes: HTML comments (``<!-- TODO: check -->``,
notes to the author), HTML tags, images' addresses (their alt text stays), character
references ("&eacute;" reads "é"); inside code they stay, as they are the content there.
Every line of the file keeps its line, so the parser's line numbers hold.
"""

from __future__ import annotations

import bisect
import html
import html.entities
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from petitrag.documents.base import Block, BlockKind, ParsedDocument, Parser
from petitrag.documents.text import decode_text

if TYPE_CHECKING:
    from markdown_it.token import Token

#: front matter's opening fence → the lines that close it: YAML (Jekyll, Obsidian), TOML (Hugo)
_FRONT_MATTER: dict[str, frozenset[str]] = {"---": frozenset({"---", "..."}), "+++": frozenset({"+++"})}
_TITLE_KEY = re.compile(r"^title\s*[:=]\s*(.+?)\s*$", re.MULTILINE)
_ATX = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
#: where a code span (kept: a comment in it is the content) or an HTML comment (blanked) may open
_BACKTICKS_OR_COMMENT = re.compile(r"`+|<!--")
#: a blank line's first line break: a code span never crosses one (it ends the paragraph)
_BLANK_LINE = re.compile(r"\n(?=[ \t]*\n)")
#: an HTML tag as CommonMark reads one: an attribute's quoted value may hold ">" (``title="a>b"``)
_HTML_TAG = re.compile(
    r"<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*"
    r"\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>|<![A-Za-z][^>]{0,2000}>|<\?.{0,2000}?\?>",
    re.DOTALL,
)  # declarations and processing instructions bounded: each unclosed "<?" scanned to the end (quadratic)
_HTML_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.DOTALL | re.IGNORECASE)
_SCRIPT_OR_STYLE = re.compile(r"[ \t]{0,3}<(?:script|style)\b", re.IGNORECASE)
_KINDS: dict[str, BlockKind] = {
    "paragraph_open": "paragraph",
    "blockquote_open": "paragraph",
    "html_block": "paragraph",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "table_open": "table",
    "fence": "code",
    "code_block": "code",
}


def front_matter_lines(text: str) -> int:
    """Number of lines taken by a YAML or TOML front matter block at the very top (0 if none)."""
    lines = text.split("\n")
    closing = _FRONT_MATTER.get(lines[0].rstrip()) if lines else None
    if closing is None:
        return 0
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() in closing:
            return number + 1
    return 0  # an unclosed fence is a thematic break, not front matter


def _line_starts(text: str) -> list[int]:
    """Character offset of each line start, plus one past the end (for map end lines)."""
    starts = [0]
    starts.extend(match.end() for match in re.finditer("\n", text))
    if starts[-1] != len(text):
        starts.append(len(text))
    return starts


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) to exclude surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _heading_span(text: str, starts: list[int], token: Token) -> tuple[int, int]:
    """The heading's words only: no ``#`` marks (ATX) and no underline (setext)."""
    first, last = token.map or (0, 0)
    if token.markup in ("=", "-"):  # setext: text lines, then the underline line
        return _trimmed(text, starts[first], starts[last - 1])
    line_start = starts[first]
    line = text[line_start : starts[first + 1]].rstrip("\n")
    match = _ATX.match(line)
    if match is None:  # unexpected shape: keep the whole line rather than lose it
        return _trimmed(text, line_start, line_start + len(line))
    if match.group(1) is None:
        return line_start, line_start  # empty heading: dropped by the caller
    return line_start + match.start(1), line_start + match.end(1)


def _code_blocks(text: str, tokens: list[Token]) -> list[tuple[int, int]]:
    """Where the fenced and indented code blocks are in ``text`` (start, end offsets)."""
    starts = _line_starts(text)
    return [
        (starts[first], starts[min(last, len(starts) - 1)])
        for token in tokens
        if token.type in ("fence", "code_block") and token.map
        for first, last in [token.map]
    ]


def _without_comments(text: str, tokens: list[Token]) -> str:
    """``text`` without its HTML comments (their line breaks kept, so token line numbers
    stay valid); comments in code blocks and code spans are kept."""
    code = sorted(_code_blocks(text, tokens))
    code_starts = [start for start, _ in code]
    pieces, position = [], 0
    for start, end, comment in _spans_and_comments(text, comments=True):
        block = bisect.bisect_right(code_starts, start) - 1
        if not comment or (block >= 0 and start < code[block][1]):
            continue
        pieces += [text[position:start], _blank(text[start:end])]
        position = end
    return "".join([*pieces, text[position:]])


def _spans_and_comments(text: str, *, comments: bool) -> Iterator[tuple[int, int, bool]]:
    """The code spans (and HTML comments, if asked) of ``text``, left to right, as (start,
    end, is_comment). In one pass, CommonMark's way: a run of backticks closes at the next
    run of the same length, within the paragraph. A regex doing this tried each start ×
    each opening length × each position after it: 4,000 backticks took six minutes."""
    marks = list(_BACKTICKS_OR_COMMENT.finditer(text))
    runs: dict[int, list[int]] = {}  # a run's length → where runs of that length start
    for mark in marks:
        if mark.group()[0] == "`":
            runs.setdefault(len(mark.group()), []).append(mark.start())
    blanks = [blank.start() for blank in _BLANK_LINE.finditer(text)]
    position = 0
    for mark in marks:
        start, opening = mark.start(), mark.group()
        if start < position or (opening == "<!--" and not comments):
            continue
        if opening == "<!--":
            close = text.find("-->", start + 4)
            if close < 0:  # no comment closes after this one: none after it will either
                comments = False
                continue
            position = close + 3
        else:
            same = runs[len(opening)]
            following = bisect.bisect_right(same, start)
            blank = bisect.bisect_left(blanks, mark.end())
            if following == len(same) or (blank < len(blanks) and blanks[blank] < same[following]):
                continue  # an unmatched run is literal backticks
            position = same[following] + len(opening)
        yield start, position, opening == "<!--"


_EMBEDDED_CODE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def _without_html_tags(text: str, tokens: list[Token]) -> tuple[str, dict[int, int]]:
    """``text`` with the tags of its raw HTML blocks replaced by spaces (line breaks kept, so
    line numbers stay valid), as a Markdown renderer shows them: a GitHub README's
    ``<div align="center"><img src="logo.png" …></div>`` was indexed, attributes and all.
    Their text stays; a ``<script>`` or ``<style>`` block goes whole. Also returns the
    first line of each block that reads as one HTML heading (``<h1 align="center">Tool</h1>``),
    with its level."""
    starts = _line_starts(text)
    headings: dict[int, int] = {}
    pieces, position = [], 0
    for token in tokens:
        if token.type != "html_block" or not token.map:
            continue
        first, last = token.map
        start, end = starts[first], starts[min(last, len(starts) - 1)]
        source = text[start:end]
        if _SCRIPT_OR_STYLE.match(source):
            cleaned = _blank(source)
        else:  # a script or style inside (a <div> holding one) goes whole too: code, not text
            cleaned = _EMBEDDED_CODE.sub(lambda code: _blank(code.group()), source)
            cleaned = _HTML_TAG.sub(lambda tag: _blank(tag.group()), cleaned)
            found = _HTML_HEADING.findall(source)
            if len(found) == 1 and " ".join(cleaned.split()) == " ".join(
                _HTML_TAG.sub(" ", found[0][1]).split()
            ):
                headings[first] = int(found[0][0])
        pieces += [text[position:start], cleaned]
        position = end
    return "".join([*pieces, text[position:]]), headings


#: a character reference as CommonMark reads one: "&eacute;", "&#233;", "&#xE9;" (not "R&D")
_ENTITY = re.compile(r"(?<!\\)(\\*)(&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)")
_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
#: spaces ending a line, matched from a run's first space only: tried from each space of a
#: long run not ending a line, the run was read again and again (100,000 spaces: 74 s)
_TRAILING_SPACE = re.compile(r"(?<![ \t])[ \t]+(?=\n)")


def _rendered_inline(text: str, tokens: list[Token]) -> str:
    """``text`` with its character references decoded and its inline HTML tags removed, as
    a Markdown viewer shows it: "caf&eacute;" was indexed as written, so "café" never found
    it, and ``<span style="color:red">`` filled passages with attributes. Code blocks and
    code spans stay as written (there, "&amp;" is the content). Line breaks are kept, so
    the tokens' line numbers still hold."""
    tags = {
        child.content
        for token in tokens
        if token.type == "inline"
        for child in token.children or ()
        if child.type == "html_inline" and not child.content.startswith("<!--")
    }
    pieces, position = [], 0
    for start, end in sorted(_code_blocks(text, tokens)):
        pieces += [_rendered_prose(text[position:start], tags), text[start:end]]
        position = end
    return "".join([*pieces, _rendered_prose(text[position:], tags)])


def _rendered_prose(prose: str, tags: set[str]) -> str:
    pieces, position = [], 0
    for start, end, _ in _spans_and_comments(prose, comments=False):
        pieces += [_rendered_words(prose[position:start], tags), prose[start:end]]
        position = end
    return "".join([*pieces, _rendered_words(prose[position:], tags)])


def _rendered_words(words: str, tags: set[str]) -> str:
    def untagged(match: re.Match[str]) -> str:
        tag = match.group()
        if tag not in tags:  # "a <b> c" that CommonMark left as text, an autolink
            return tag
        return " " if _LINE_BREAK_TAG.fullmatch(tag) else ""

    rendered = _ENTITY.sub(_character, _HTML_TAG.sub(untagged, _IMAGE.sub(_alt_text, words)))
    return _TRAILING_SPACE.sub("", rendered)  # what a removed comment or tag left at a line's end


#: an inline image, ``![alt](src "title")``: a viewer shows the picture, its alt text stands for it
_IMAGE = re.compile(
    r"(?<!\\)!\[((?:[^\[\]\\]|\\.|\[[^\[\]]*\])*)\]"
    r"\(\s*+(?:<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s++(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*+\)",
    re.DOTALL,
)


def _alt_text(image: re.Match[str]) -> str:
    """A Markdown image's alt text, the line breaks of its address kept (line numbers hold): a
    viewer shows the picture, never its address (a screenshot pasted as a base64 ``data:`` URI
    was 875 chunks of junk). ``<img>`` tags go whole, as README logos and badges do."""
    alt = image.group(1)
    return alt + "\n" * (image.group().count("\n") - alt.count("\n"))


def _character(reference: re.Match[str]) -> str:
    """The character a reference stands for; a soft hyphen joins, a line break is a space
    (a new line would shift the tokens' line numbers); an unknown name stays as written. After
    a backslash it is text: ``\\&amp;`` shows "&amp;" (it read "\\&")."""
    backslashes, written = reference.groups()
    if len(backslashes) % 2:
        return backslashes[:-1] + written
    if written.startswith("&#"):
        character = html.unescape(written)
    else:  # exactly a known name: unescape() also reads "&copyright;" as "©right;"
        character = html.entities.html5.get(written[1:], written)
    if character == written:
        return backslashes + character
    return backslashes + {"\xad": "", "\xa0": " "}.get(
        character, " " if "\n" in character or "\r" in character else character
    )


def _blank(source: str) -> str:
    """What stands for removed source: its line breaks, else one space (cells stay apart)."""
    return "\n" * source.count("\n") or " "


def _blocks(text: str, tokens: list[Token], html_headings: dict[int, int]) -> list[Block]:
    """Top-level block tokens to Blocks; nested tokens belong to their top-level parent."""
    starts = _line_starts(text)
    blocks: list[Block] = []
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None:
            continue
        if token.type == "heading_open":
            start, end = _heading_span(text, starts, token)
            kind: BlockKind = "heading"
            level = int(token.tag[1:])
            label = _plain(tokens[index + 1]) if index + 1 < len(tokens) else None
        elif token.type in _KINDS:
            first, last = token.map
            start, end = _trimmed(text, starts[first], starts[min(last, len(starts) - 1)])
            kind, level, label = _KINDS[token.type], 0, None
            if first in html_headings and token.type == "html_block":
                kind, level = "heading", html_headings[first]
        else:
            continue  # thematic breaks and anything without text
        if end > start:
            blocks.append(Block(kind, text[start:end], level, start=start, end=end, label=label))
    return blocks


def _plain(inline: Token) -> str | None:
    """A heading's words without their inline markup: ``**Prix** du [loyer](x.md)`` reads
    "Prix du loyer" in citations and titles. None when it holds no markup to remove."""
    if inline.type != "inline" or not inline.children:
        return None
    words = "".join(
        child.content
        if child.type in ("text", "code_inline")
        or (child.type == "html_inline" and not child.content.startswith("<!--"))
        else " " * (child.type == "softbreak")
        for child in inline.children
    )
    plain = " ".join(words.split())
    return plain if plain and plain != " ".join(inline.content.split()) else None


def _front_matter_title(text: str, lines: int) -> str | None:
    if not lines:
        return None
    header = "\n".join(text.split("\n")[1 : lines - 1])
    match = _TITLE_KEY.search(header)
    if match is None:
        return None
    value = match.group(1).strip()
    if value[:1] in (">", "|"):  # a YAML block scalar: the title is on the lines after (the H1 then)
        return None
    if value[:1] in ("'", '"'):  # quoted: up to its closing quote, a comment after it aside
        closing = value.find(value[0], 1)
        return value[1:closing].strip() or None if closing > 0 else None
    return re.sub(r"\s+#.*$", "", value).strip() or None  # "Remote work # reviewed by HR"


class MarkdownParser(Parser):
    """``.md`` / ``.markdown``: headings, paragraphs, whole lists, tables and code."""

    extensions = (".md", ".markdown")
    format = "markdown"

    def parse(self, data: bytes, path: Path) -> ParsedDocument:
        from markdown_it import MarkdownIt  # lazy: keeps `petitrag --help` fast

        text = decode_text(data)
        skipped = front_matter_lines(text)
        # Blank out the front matter but keep its lines, so token line numbers stay valid.
        masked = "\n" * skipped + "\n".join(text.split("\n")[skipped:]) if skipped else text
        tokens = MarkdownIt("commonmark").enable("table").parse(masked)
        text, html_headings = _without_html_tags(_without_comments(text, tokens), tokens)
        text = _rendered_inline(text, tokens)
        blocks = _blocks(text, tokens, html_headings)
        h1s = [b.label or b.text for b in blocks if b.kind == "heading" and b.level == 1]
        # the author's declared title first: the first H1 may well be a section's; of several
        # H1s, none is the title (the first was put before the chunks of its siblings too)
        title = _front_matter_title(text, skipped) or (h1s[0] if len(h1s) == 1 else None) or path.stem
        return ParsedDocument(text=text, blocks=blocks, format=self.format, title=title)
