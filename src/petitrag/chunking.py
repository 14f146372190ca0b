"""Structure-aware chunking sized in the embedder's own tokens.

Chunks follow the document's structure: a heading always starts a new chunk, whole blocks
(paragraphs, lists, tables) are packed while they fit the budget, a PDF page break starts a
new chunk (so a citation's page is exact; a sentence it cuts is finished in the page's last
chunk too), and only a block larger than the budget is split — paragraphs at sentence ends,
lists/tables/code at line ends, a runaway sentence at spaces — never inside a word (a run
without spaces longer than the budget, such as base64 or URL soup, is cut where it must be).
Split pieces overlap by whole sentences/lines up to the overlap budget so an answer
straddling a cut is still found.

Invariant: ``chunk.text == document.text[chunk.start:chunk.end]`` except for a table
continuation, whose text is prefixed with the table header row so it stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache

from petitrag.documents.base import Block, ParsedDocument
from petitrag.language import stopwords, strip_accents

TokenCounter = Callable[[str], int]

# A sentence ends with . ! ? … (plus closing quotes/brackets) followed by whitespace.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”’)\]]*\s+")
SECTION_SEPARATOR = " > "
# Characters per token assumed when cutting huge spans into windows before counting tokens:
# more than any tokenizer packs, so a window always holds at least a budget's worth.
_WINDOW_CHARS_PER_TOKEN = 16


@dataclass
class Chunk:
    """A retrievable passage and where it comes from."""

    text: str
    start: int
    end: int
    section: str | None
    page: int | None
    tokens: int


@dataclass
class _Span:
    start: int
    end: int
    tokens: int


class Chunker:
    """Cut ParsedDocuments into chunks of at most ``budget`` tokens (when possible)."""

    def __init__(self, count_tokens: TokenCounter, budget: int = 200, overlap: int = 32) -> None:
        if overlap >= budget:
            raise ValueError("overlap must be smaller than the chunk budget")
        self.count_tokens = count_tokens
        self.budget = budget
        self.overlap = overlap

    def chunk(self, document: ParsedDocument) -> list[Chunk]:
        """All chunks of a document, in reading order.

        A document of headings only (an outline, a table of contents) would give no chunk
        at all, indexed yet never found: its headings are then chunked as its text.
        """
        if any(block.kind != "heading" for block in document.blocks) or not document.blocks:
            return list(self._chunks(document))
        as_text = [replace(block, kind="paragraph", level=0) for block in document.blocks]
        return list(self._chunks(replace(document, blocks=as_text)))

    def _chunks(self, document: ParsedDocument) -> Iterator[Chunk]:
        headings: list[tuple[int, str]] = []
        pending: list[tuple[Block, int]] = []  # blocks packed into the next chunk, with token counts

        def flush() -> Iterator[Chunk]:
            if pending:
                yield self._pack(document, pending, headings)
                pending.clear()

        bare: Block | None = None  # the last heading, while no text has followed it

        for block in document.blocks:
            if block.kind == "heading":
                yield from flush()
                if bare is not None and block.level <= bare.level:  # leaves the path bodiless
                    yield self._heading(document, bare, headings)
                headings[:] = [(lvl, txt) for lvl, txt in headings if lvl < block.level]
                headings.append((block.level, block.label or block.text.lstrip("#").strip()))
                bare = block
                continue
            bare = None
            tokens = self.count_tokens(block.text)
            used = sum(count for _, count in pending)
            page_changed = bool(pending) and pending[-1][0].page != block.page
            if page_changed and (until := self._sentence_going_on(document, pending[-1][0], block)):
                yield self._pack(document, pending, headings, until)
                pending.clear()
            if page_changed or (pending and used + tokens > self.budget):
                yield from flush()
            if tokens > self.budget:
                yield from self._split(document, block, headings)
            else:
                pending.append((block, tokens))
        yield from flush()
        if bare is not None:
            yield self._heading(document, bare, headings)

    def _heading(self, document: ParsedDocument, block: Block, headings: list) -> Chunk:
        """A heading no text follows ("Helpdesk: extension 4242", a last line styled as a
        heading) as a chunk of its own: as a section name only, it was never indexed."""
        text = document.text[block.start : block.end]
        return Chunk(text, block.start, block.end, _section(headings), block.page, self.count_tokens(text))

    def _pack(
        self, document: ParsedDocument, blocks: list[tuple[Block, int]], headings: list, until: int = 0
    ) -> Chunk:
        first, last = blocks[0][0], blocks[-1][0]
        end = max(last.end, until)
        extra = self.count_tokens(document.text[last.end : end]) if end > last.end else 0
        return Chunk(
            text=document.text[first.start : end],
            start=first.start,
            end=end,
            section=_section(headings),
            page=first.page,
            tokens=sum(count for _, count in blocks) + extra,
        )

    def _sentence_going_on(self, document: ParsedDocument, before: Block, after: Block) -> int:
        """Where a sentence cut by a page break ends on the next page ("…hold the FILTER button
        until the | indicator light blinks twice."), 0 when none is: the page's last chunk then
        runs to it, so the sentence is found whole (each half was a chunk of its own)."""
        if before.kind != "paragraph" or after.kind != "paragraph" or re.search(r"[.!?…:;]\W*$", before.text):
            return 0
        text = document.text[after.start : after.end]
        if not _goes_on(before.text, text):
            return 0
        end = _SENTENCE_END.search(text + " ")
        stop = end.end() if end else len(text)
        if self.count_tokens(text[:stop]) > self.overlap * 2:
            return 0  # a long sentence: its halves stand as they are
        return after.start + len(text[:stop].rstrip())

    def _split(self, document: ParsedDocument, block: Block, headings: list) -> Iterator[Chunk]:
        """Split one oversized block into overlapping pieces along its natural units."""
        by_lines = block.kind in ("list", "table", "code")
        units = self._units(block, by_lines)
        header = _table_header(block) if block.kind == "table" else None
        section = _section(headings)
        for index, group in enumerate(self._group(units)):
            start, end = group[0].start, group[-1].end
            while end > start and document.text[end - 1].isspace():
                end -= 1
            text = document.text[start:end]
            if header and index > 0 and not text.startswith(header):
                text = f"{header}\n{text}"
            tokens = sum(span.tokens for span in group)
            yield Chunk(text=text, start=start, end=end, section=section, page=block.page, tokens=tokens)

    def _units(self, block: Block, by_lines: bool) -> list[_Span]:
        """Sentences (or lines), each further cut at spaces if still over budget."""
        text, base = block.text, block.start
        pattern = re.compile(r"\n+") if by_lines else _SENTENCE_END
        units: list[_Span] = []
        position = 0
        for match in pattern.finditer(text):
            units.extend(self._fit(text, base, position, match.end()))
            position = match.end()
        units.extend(self._fit(text, base, position, len(text)))
        return [unit for unit in units if unit.end > unit.start]

    def _fit(self, text: str, base: int, start: int, end: int) -> list[_Span]:
        """One span, or several cut at whitespace when the span exceeds the budget.

        A long span is first cut into windows of a few budgets' worth of characters, so a
        multi-megabyte line without a sentence end is tokenized in linear time (and
        without deep recursion) instead of re-counting the whole remainder at every cut.
        """
        window = self.budget * _WINDOW_CHARS_PER_TOKEN
        spans: list[_Span] = []
        while end - start > window:
            cut = _window_cut(text, start, start + window)
            spans.extend(self._fit_window(text, base, start, cut))
            start = cut
        spans.extend(self._fit_window(text, base, start, end))
        return spans

    def _fit_window(self, text: str, base: int, start: int, end: int) -> list[_Span]:
        """``_fit`` for a span of at most one window: cut near the budget, at a space if any."""
        piece = text[start:end]
        tokens = self.count_tokens(piece)
        if tokens <= self.budget or not piece.strip():
            return [_Span(base + start, base + end, tokens)]
        # Estimate the cut from the chars-per-token ratio, then back off to a space.
        target = max(1, int(len(piece) * self.budget / tokens * 0.9))
        cut = piece.rfind(" ", 0, target)
        if cut <= 0:
            cut = piece.find(" ", target)
        if cut <= 0 or cut + 1 >= len(piece):  # no space to cut at: a run over budget is no word
            cut = target - 1
        return self._fit_window(text, base, start, start + cut + 1) + self._fit_window(
            text, base, start + cut + 1, end
        )

    def _group(self, units: list[_Span]) -> Iterator[list[_Span]]:
        """Pack units up to the budget; each next group repeats trailing units up to ``overlap``."""
        group: list[_Span] = []
        used = 0
        for unit in units:
            if group and used + unit.tokens > self.budget:
                yield group
                group = _tail(group, self.overlap, self.budget - unit.tokens)
                used = sum(span.tokens for span in group)
            group.append(unit)
            used += unit.tokens
        if group:
            yield group


#: a page's last characters that a sentence goes on from ("signed on 3 May,", "well-")
_CONTINUING_END = frozenset(",-–—(/&")
#: a page's first characters that go on with the sentence before them (", which…", "% of…")
_CONTINUING_START = frozenset(",;:)]}%")
#: a number that starts an item or a section ("2. Scope", "1) Fuses", "3.2 Results")
_NUMBERING = re.compile(r"\d+(?:[.)]|(?:\.\d+)+\.?)\s")


def _goes_on(before: str, after: str) -> bool:
    """Whether the text after a page break goes on with the unpunctuated sentence before it:
    it starts in lower case ("…no discrepancies in the | ledger entries"), with a number that
    numbers nothing ("…a total of | 42 units") or with punctuation, or the page ends with a
    comma, a hyphen or a word no sentence ends with ("…signed by | Jeanne Roux."). A missing
    final stop alone is not enough: "Signed by Jeanne Roux" pulled the next page's
    "Certificate for Bruno Petit." into page 1's chunk, and Bruno's record was cited as p. 1."""
    first = after.lstrip()[:1]
    if first.islower() or first in _CONTINUING_START or (first.isdigit() and not _NUMBERING.match(after)):
        return True
    ending = before.rstrip()
    if ending[-1:] in _CONTINUING_END:
        return True
    last = re.search(r"\w+$", ending)
    # as written: "Annex A" ends a title, though "a" is an English function word
    return last is not None and last[0] == last[0].lower() and strip_accents(last[0]) in _function_words()


@cache
def _function_words() -> frozenset[str]:
    """French and English function words ("the", "of", "by", "de", "la", "et")."""
    return stopwords("en") | stopwords("fr")


def _window_cut(text: str, start: int, stop: int) -> int:
    """Just after the last space before ``stop``, else ``stop`` itself (a window without a
    space holds over a budget of characters: base64, text without spaces, never a word)."""
    space = text.rfind(" ", start + 1, stop)
    return space + 1 if space >= 0 else stop


def _tail(group: list[_Span], overlap: int, room: int) -> list[_Span]:
    """Trailing units of ``group`` totalling at most ``overlap`` tokens (and fitting ``room``)."""
    kept: list[_Span] = []
    total = 0
    for span in reversed(group):
        if total + span.tokens > min(overlap, room):
            break
        kept.insert(0, span)
        total += span.tokens
    return kept


def _section(headings: list[tuple[int, str]]) -> str | None:
    return SECTION_SEPARATOR.join(text for _, text in headings) or None


def _table_header(block: Block) -> str | None:
    """The header + separator rows of a Markdown pipe table, repeated on continuation pieces."""
    lines = block.text.split("\n")
    if len(lines) >= 2 and set(lines[1].replace("|", "").strip()) <= set("-: "):
        return "\n".join(lines[:2])
    return None
