"""Fit retrieved passages into the prompt budget — never overflow the model's context.

Passages go in rank order. One that does not fit whole is compressed: its sentences that
share the most terms with the question are kept (in their original order) until the
budget is used; passages that would get less than a useful minimum are dropped. What was
trimmed or dropped is reported, not hidden. Sentences that address the model ("ignore previous
instructions…") are withheld first (answer/guard.py): retrieved text is data, never instructions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from petitrag.answer.citations import Evidence, topic_terms
from petitrag.answer.guard import withhold_instructions
from petitrag.chunking import SECTION_SEPARATOR
from petitrag.language import LANGUAGES, Language, analyze
from petitrag.retrieval.hybrid import Hit

MIN_PASSAGE_TOKENS = 48
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


@dataclass
class PackedContext:
    hits: list[Hit]  # the passages in the prompt, numbered from 1 in this order
    sources: list[str]  # their prompt text (context line + possibly compressed text)
    tokens: int = 0
    budget: int = 0
    trimmed: list[str] = field(default_factory=list)  # chunk ids shortened to fit
    dropped: list[Hit] = field(default_factory=list)  # passages left out
    withheld: list[str] = field(default_factory=list)  # chunk ids with sentences addressed to the model

    def foreign(self, language: Language) -> bool:
        """Whether a passage is in another language than the question's (``language``)."""
        return any_foreign(self.hits, language)

    @property
    def altered(self) -> bool:
        """Whether the prompt holds less than the passages read: the user is told (never hidden)."""
        return bool(self.trimmed or self.dropped or self.withheld)

    def to_json(self) -> dict[str, Any]:
        """What the budget did: passages by their [n] in the prompt, left-out ones by source."""
        numbers = {hit.chunk_id: number for number, hit in enumerate(self.hits, start=1)}
        left_out = [
            {"source": hit.source, "page": hit.page, "section": hit.section, "chunk_id": hit.chunk_id}
            for hit in self.dropped
        ]
        return {
            "budget_tokens": self.budget,
            "tokens": self.tokens,
            "shortened": [numbers[chunk] for chunk in self.trimmed],
            "left_out": left_out,
            "withheld": [numbers[chunk] for chunk in self.withheld],
        }


def any_foreign(hits: list[Hit], language: Language) -> bool:
    """Whether one of the passages is in another language than ``language`` (a passage whose
    language is unknown is not counted)."""
    return any(hit.language in LANGUAGES and hit.language != language for hit in hits)


def source_text(hit: Hit, text: str | None = None, heading: Callable[[str], str] | None = None) -> str:
    """A passage as the model sees it: where it comes from (as ``heading`` rewrites it), then
    its text."""
    context = hit.section or hit.title
    context = heading(context) if heading and context else context
    body = text if text is not None else hit.text
    return f"({context})\n{body}" if context else body


def pack(
    hits: list[Hit], question: str, language: Language, budget: int, count_tokens: Callable[[str], int]
) -> PackedContext:
    """Choose and compress passages so that their total stays within ``budget`` tokens."""
    packed = PackedContext(hits=[], sources=[], budget=budget)
    terms = set(analyze(question, language))
    for hit in hits:
        room = budget - packed.tokens
        body, withheld = withhold_instructions(hit.text)
        text = source_text(hit, body)
        tokens = count_tokens(text)
        if tokens > room:
            if room < MIN_PASSAGE_TOKENS:
                packed.dropped.append(hit)
                continue
            # what the "(section)" line costs, not a guess: a long heading left the shortened
            # best passage over the room, and it was dropped (the model then read no passage)
            heading = count_tokens(source_text(hit, "")) if hit.section or hit.title else 0
            text = source_text(hit, compress(body, terms, language, room - heading - 1, count_tokens))
            tokens = count_tokens(text)
            if tokens > room:
                packed.dropped.append(hit)
                continue
            packed.trimmed.append(hit.chunk_id)
        if withheld:
            packed.withheld.append(hit.chunk_id)
        packed.hits.append(hit)
        packed.sources.append(text)
        packed.tokens += tokens
    return packed


def compress(text: str, terms: set[str], language: Language, budget: int, count: Callable[[str], int]) -> str:
    """Keep the sentences (or lines: table rows, lists) most related to the question, in order,
    within ``budget`` tokens; when not even one fits, the part of the best one that does."""
    units = [(row, unit) for row, line in enumerate(text.splitlines()) for unit in _SENTENCE.split(line)]
    units = [(row, unit) for row, unit in units if unit.strip()]
    related = [len(terms & set(analyze(unit, language))) for _, unit in units]
    ranked = sorted(range(len(units)), key=lambda i: (-related[i], i))
    kept: set[int] = set()
    used = 0
    for index in ranked:
        cost = count(units[index][1]) + 1
        if used + cost <= budget:
            kept.add(index)
            used += cost
    if not kept and units:  # one long sentence or row: its part closest to the question
        parts = [part for part, _ in _cut(units[ranked[0]][1], budget, count)]
        return max(parts, key=lambda part: len(terms & set(analyze(part, language))))
    pieces: list[str] = []
    previous = -2
    for index in sorted(kept):
        row, unit = units[index]
        if pieces:
            same_row = row == units[previous][0]
            gap = index != previous + 1
            pieces.append((" … " if gap else " ") if same_row else ("\n…\n" if gap else "\n"))
        pieces.append(unit)
        previous = index
    return "".join(pieces)


def windows(pieces: list[str], budget: int, count_tokens: Callable[[str], int]) -> list[str]:
    """Consecutive pieces (a document's chunks in reading order) packed into windows of at most
    ``budget`` tokens, for whole-document work (summaries, extraction); a piece over the budget
    is split (``split_to_fit``): the whole document is read, never a truncated one."""
    packed: list[str] = []
    current: list[str] = []
    used = 0
    for whole in pieces:
        tokens = count_tokens(whole)
        parts = [(whole, tokens)] if tokens <= budget else split_to_fit(whole, budget, count_tokens)
        for piece, tokens in parts:
            if current and used + tokens > budget:
                packed.append("\n\n".join(current))
                current, used = [], 0
            current.append(piece)
            used += tokens
    if current:
        packed.append("\n\n".join(current))
    return packed


def split_to_fit(text: str, budget: int, count_tokens: Callable[[str], int]) -> list[tuple[str, int]]:
    """``text`` in consecutive parts of at most ``budget`` tokens, with their counts: cut between
    lines or sentences, a sentence longer than the budget between words (or characters)."""
    units = [unit for line in text.splitlines() for unit in _SENTENCE.split(line) if unit.strip()]
    parts: list[tuple[str, int]] = []
    current, used = "", 0
    for unit in units:
        tokens = count_tokens(unit)
        if tokens > budget:
            pieces = _cut(unit, budget, count_tokens)
            parts += [(current, used)] if current else []
            parts += pieces[:-1]
            current, used = pieces[-1]
            continue
        joined = f"{current} {unit}" if current else unit
        joined_tokens = count_tokens(joined)
        if joined_tokens > budget:
            parts.append((current, used))
            current, used = unit, tokens
        else:
            current, used = joined, joined_tokens
    return [*parts, (current, used)] if current else parts


def _cut(text: str, budget: int, count_tokens: Callable[[str], int]) -> list[tuple[str, int]]:
    """A sentence over the budget in parts that fit, shortened until they do."""
    parts: list[tuple[str, int]] = []
    while text:
        size = len(text)
        while (tokens := count_tokens(text[:size])) > budget:
            size = max(1, min(size - 1, int(size * budget / tokens * 0.95)))
            space = text.rfind(" ", 0, size)
            size = space if space > size // 2 else size
        parts.append((text[:size].strip(), tokens))
        text = text[size:].lstrip()
    return parts


def read_passages(context: PackedContext) -> list[Evidence]:
    """The passages as the model read them, heading first: a meeting's date or a product's
    name is often only in its heading ("Product team meeting — 14 May 2024"), and answers
    giving it were abstentions ("not in the passages")."""
    return [Evidence.of(source_text(hit, hit.text, _unnumbered), hit.language) for hit in context.hits]


#: a heading's bare outline number: "3.", "2.2", "III." (the 3 of "3. Préavis" made an invented
#: "3 mois" stand); "Article 3" is read "§3" by numbers.py, which "l'article 3" still matches;
#: "2024 Annual report", "12 Monkeys" keep numbers of their own
_OUTLINE_NUMBER = re.compile(
    r"^\s*(?:\d{1,3}(?:\.\d{1,3})+\b\.?|\d{1,3}[.)]|[IVXLC]+[.)])\s*[-—–:]?\s*(?=\S|$)", re.IGNORECASE
)


def _unnumbered(heading: str) -> str:
    """A heading without its parts' bare outline numbers ("Bail > 3. Préavis" → "Bail > Préavis")."""
    return SECTION_SEPARATOR.join(_OUTLINE_NUMBER.sub("", part) for part in heading.split(SECTION_SEPARATOR))


def heading_topic(context: PackedContext, language: Language) -> frozenset[str]:
    """The terms of the headings of the passages read (document titles and section paths): what
    an answer repeating them with the question's words tells the user they knew already."""
    headings = [heading for hit in context.hits for heading in (hit.title, hit.section) if heading]
    return topic_terms(" ".join(headings).replace(SECTION_SEPARATOR, " "), language)
