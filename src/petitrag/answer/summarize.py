"""Whole-document summaries by map-reduce over the document's chunks.

Top-k retrieval cannot summarise: a summary needs every part of the document. Chunks are
grouped in reading order into windows that fit the prompt budget (map), each window is
summarised into notes, and the notes are merged (reduce) — recursively if they do not fit
in one prompt either. A document that fits one window is summarised in one call. Page and
section markers are then added to each sentence from the part of the document that says it.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from petitrag.answer.bullets import (
    LIST_ITEM,
    PAGE_MARKER,
    drop_repeats,
    unlisted,
    with_marker,
    without_cut_end,
)
from petitrag.answer.citations import SUPPORT_THRESHOLD, Evidence, support_each
from petitrag.answer.numbers import numbers_in
from petitrag.answer.packing import split_to_fit, windows
from petitrag.answer.translate import LANGUAGE_NAMES, translate_summary
from petitrag.chunking import SECTION_SEPARATOR
from petitrag.config import Settings
from petitrag.errors import GenerationError
from petitrag.generation.base import GenerationParams, Generator, Message
from petitrag.index.store import ChunkView, Store
from petitrag.language import LANGUAGES, Language, analyze, detect_language

Length = Literal["short", "long"]
#: progress hook: (stage, done, total), stage "map" or "reduce"
SummaryProgress = Callable[[str, int, int], None]

#: per language and stage: (header, instruction) around the text. The text comes first
#: and the instruction last: with the instruction first (as a system prompt) the 1.5B model
#: copied the document back verbatim instead of summarising it. The model is not asked for
#: page markers: asked to end each point with "the marker that precedes it", it wrote only
#: the pages' headings ("(p. 2) Loyer et charges") and none of their facts; markers are
#: added afterwards from what each sentence says (``cite_sentences``).
#: Every stage asks for bullet points: asked for "3 to 5 sentences" of a whole document, the
#: model copied it instead, and prose merged from notes kept only generalities ("The document
#: provides information on…").
_SYSTEM: dict[Language, str] = {
    "fr": "Tu résumes des documents fidèlement, sans rien ajouter.",
    "en": "You summarise documents faithfully and never add anything.",
}
_BULLETS: dict[Language, str] = {
    "fr": (
        "Résume {what} en français en {count} puces. Chaque puce est une phrase courte qui donne une "
        "information importante du texte : un fait, un chiffre, une date ou une consigne. "
        "Recopie les chiffres exactement."
    ),
    "en": (
        "Summarise {what} in English in {count} bullet points. Each bullet is one short sentence giving "
        "an important piece of information from the text: a fact, a figure, a date or an instruction. "
        "Copy figures exactly."
    ),
}
#: per language: what is summarised, and its header, for a part of a long document ("map"),
#: a whole document ("whole"), and the notes on all its parts ("notes")
_TEXTS: dict[Language, dict[str, tuple[str, str]]] = {
    "fr": {
        "map": ("cet extrait", "Extrait d'un document :"),
        "whole": ("ce document", "Document :"),
        "notes": ("tout le document à partir de ces notes", "Notes sur les parties d'un document :"),
    },
    "en": {
        "map": ("this part", "Part of a document:"),
        "whole": ("this document", "Document:"),
        "notes": ("the whole document from these notes", "Notes on the parts of a document:"),
    },
}
_COUNTS: dict[Language, dict[str, str]] = {
    "fr": {"map": "3 à 6", "short": "3 à 5", "long": "5 à 10"},
    "en": {"map": "3 to 6", "short": "3 to 5", "long": "5 to 10"},
}
#: the most bullets a final summary keeps, per length: the upper end of what was asked
MAX_BULLETS: dict[str, int] = {"short": 5, "long": 10}
#: (document, summary) languages summarised in the document's language, then translated
#: (answer/translate.py): asked for French bullets of an English document, the 1.5B model mixes in
#: untranslated English and its bullets lose their markers; French documents summarised in English
#: read well as they are, and translating them flipped a fact (« mardi » → "Monday"), so those are
#: written in English directly (BENCHMARKS "Session 16")
TRANSLATED: frozenset[tuple[Language, Language]] = frozenset({("en", "fr")})
#: how many content words a number counts for when choosing the bullets to keep
NUMBER_WEIGHT = 3


def prompt(language: Language, stage: str, length: Length = "short") -> tuple[str, str]:
    """(header, instruction) of a ``stage``: "map", "whole" or "notes"."""
    what, header = _TEXTS[language][stage]
    count = _COUNTS[language]["map" if stage == "map" else length]
    return header, _BULLETS[language].format(what=what, count=count)


@dataclass
class Summary:
    source: str
    text: str
    language: Language
    model: str
    pages: list[int] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    map_calls: int = 0
    reduce_calls: int = 0
    translate_calls: int = 0  # model calls spent translating (see ``translated``)
    translated: bool = False  # written in another language, then translated
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _written_in(text: str) -> Language | None:
    """The language a summary is written in; None when its words do not tell (a tie)."""
    body = PAGE_MARKER.sub("", text)
    found = detect_language(body, default="fr")
    return found if found == detect_language(body, default="en") else None


def _wrong_language(model: str, written: Language, asked: Language) -> str:
    names = LANGUAGE_NAMES["en"]
    return (
        f"the summary is in {names[written]}, not {names[asked]} as asked, "
        f"and {model} could not translate it: try a larger model"
    )


def marker(chunk: ChunkView) -> str:
    """Where a chunk is, as the summary should cite it: its page, else its own heading (the full
    path repeats the document title on every chunk, and the model then cites only that)."""
    if chunk.page is not None:
        return f"(p. {chunk.page})"
    return f"({chunk.section.split(SECTION_SEPARATOR)[-1]})" if chunk.section else ""


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý\"«-])")
#: fewer content words than this, or a line ending in ":", is a heading, not a claim to cite
_MIN_CLAIM_TERMS = 3


def cite_sentences(text: str, chunks: list[ChunkView], language: Language) -> str:
    """Check the summary's page markers and add the missing ones, sentence by sentence.

    Small models drop most markers between map and reduce, and invent pages for documents that
    have none, so markers are not trusted: a "(p. N)" that names no page of the document is
    removed, and a sentence without a marker of the document gets the marker of the chunk
    that best supports it (most of its content words, all of its numbers), when one does.
    """
    markers = [marker(chunk) for chunk in chunks]
    known = set(markers) - {""}
    evidence = _evidence(chunks, language)  # once, not once per sentence
    lines = []
    for line in text.splitlines():
        item = LIST_ITEM.match(line)
        prefix, body = (line[: item.end()], line[item.end() :]) if item else ("", line)
        sentences = []
        for sentence in _SENTENCE_END.split(body):
            sentence = PAGE_MARKER.sub(lambda m: m.group(0) if m.group(0).strip() in known else "", sentence)
            if _is_claim(sentence, language):
                sentence = _cited(
                    sentence, [mark for mark in known if mark in sentence], evidence, markers, language
                )
            sentences.append(sentence)
        lines.append(prefix + " ".join(sentences))
    return "\n".join(lines)


def drop_headings(text: str, chunks: list[ChunkView], language: Language) -> str:
    """Without the bullets that only repeat a title or heading of the document ("- Guide
    d'entretien du vélo électrique"): the model often opens with one, and it says nothing."""
    headings = {chunk.title or "" for chunk in chunks} | {
        part for chunk in chunks for part in (chunk.section or "").split(SECTION_SEPARATOR)
    }
    # a heading's numbers are its own ("Article 4 — Loyer", "7. Outlook for 2024"): a bullet
    # repeating them repeats the heading (it was kept, and crowded out facts)
    heading_terms = [(set(analyze(h, language)), numbers_in(h)) for h in headings if h]
    kept = []
    for line in text.splitlines():
        item = LIST_ITEM.match(line)
        said = PAGE_MARKER.sub("", line[item.end() :]) if item else line  # "1. Contrat": the 1 is no fact
        terms, numbers = set(analyze(said, language)), numbers_in(said)
        if item and terms and any(terms <= words and numbers <= held for words, held in heading_terms):
            continue
        kept.append(line)
    return "\n".join(kept) if any(line.strip() for line in kept) else text


def keep_bullets(text: str, limit: int, chunks: list[ChunkView], language: Language) -> str:
    """At most ``limit`` bullets: the model writes ~8 when asked for 3 to 5. Bullets that the
    document does not support go first, then those adding the fewest new content words and
    numbers to the ones kept (repeats say nothing new); the kept ones stay in their order, a
    numbered list is renumbered. A bullet keeps its sub-bullets; lines that are not bullets (an
    introduction) are kept."""
    lines = text.splitlines()
    groups = _bullet_groups(lines)
    dropped = {i for g in _least_informative(lines, groups, limit, chunks, language) for i in groups[g]}
    dropped |= _emptied_headings(lines, groups, dropped)
    renumbered = _renumbered([group[0] for group in groups if group[0] not in dropped], lines)
    return "\n".join(renumbered.get(i, line) for i, line in enumerate(lines) if i not in dropped)


def _emptied_headings(lines: list[str], groups: list[list[int]], dropped: set[int]) -> set[int]:
    """The lines that introduce bullets ("**Plans**") all of which were dropped: left alone, a
    bare heading ended the summary."""
    in_groups, firsts = {i for group in groups for i in group}, {group[0] for group in groups}
    emptied: set[int] = set()
    heading: int | None = None
    under: list[int] = []  # first lines of the bullets under ``heading``
    for i, line in enumerate([*lines, "end"]):
        if i in in_groups:
            under += [i] if i in firsts else []
            continue
        if not line.strip():
            continue
        if heading is not None and under and all(first in dropped for first in under):
            emptied.add(heading)
        heading, under = (i if _introduces(line) else None), []
    return emptied


def _introduces(line: str) -> bool:
    """A line that reads as a heading ("**Plans**", "## Costs", "Key points:", "Costs"), not a
    sentence of prose, which says something of its own ("Overall, the filter costs 300 euros.")."""
    text = line.strip()
    if text.startswith("#") or text.endswith(":") or re.fullmatch(r"(\*\*|__).+\1:?", text):
        return True
    return not re.search(r"[.!?]$", text) and len(text.split()) <= 8


def _least_informative(
    lines: list[str], groups: list[list[int]], limit: int, chunks: list[ChunkView], language: Language
) -> list[int]:
    """The bullets (indexes into ``groups``) beyond ``limit`` to drop: greedily, the bullet kept
    next is the supported one adding the most facts to those kept (the first on a tie)."""
    if len(groups) <= limit:
        return []
    evidence = _evidence(chunks, language)
    # judged without their list sign: the "1" of "1. La commune compte 3 840 habitants" is in
    # no page, and such a bullet was unsupported, dropped first
    facts = [set().union(*(_facts(unlisted(lines[i]), language) for i in group)) for group in groups]
    supported = [
        max(support_each(PAGE_MARKER.sub("", unlisted(lines[group[0]])), evidence, language), default=0.0)
        >= SUPPORT_THRESHOLD
        for group in groups
    ]
    remaining, covered = list(range(len(groups))), set[str]()
    for _ in range(limit):
        gains = [(supported[g], len(facts[g] - covered), -g) for g in remaining]
        best = remaining.pop(gains.index(max(gains)))
        covered |= facts[best]
    return remaining


_NUMBERED = re.compile(r"^(\s*)(\d+)([.)]\s)")


def _renumbered(kept: list[int], lines: list[str]) -> dict[int, str]:
    """The kept bullets (line numbers) of one numbered list with gaps, numbered again ("2. 3. 5."
    → "1. 2. 3."), whatever dropped the others (here, or as a heading or a repeat before); two
    lists in a row ("1. 2. 1. 2.") are left as they are."""
    matches = [_NUMBERED.match(lines[i]) for i in kept]
    numbers = [int(match.group(2)) for match in matches if match]
    if len(numbers) < len(kept) or not numbers or any(b <= a for a, b in itertools.pairwise(numbers)):
        return {}
    return {
        line: _NUMBERED.sub(lambda m, n=number: f"{m.group(1)}{n}{m.group(3)}", lines[line], count=1)
        for number, line in enumerate(kept, start=min(numbers[0], 1))
    }


def _bullet_groups(lines: list[str]) -> list[list[int]]:
    """The line numbers of each outermost bullet with the more indented lines under it."""
    indents = [len(line) - len(line.lstrip()) for line in lines]
    outer = min((indents[i] for i, line in enumerate(lines) if LIST_ITEM.match(line)), default=0)
    groups: list[list[int]] = []
    group: list[int] | None = None
    for i, line in enumerate(lines):
        if LIST_ITEM.match(line) and indents[i] == outer:
            group = [i]
            groups.append(group)
        elif group is not None and line.strip() and indents[i] > outer:
            group.append(i)
        elif line.strip():  # text at the outer level that is no bullet ends the bullet above
            group = None
    return groups


def _evidence(chunks: list[ChunkView], language: Language) -> list[Evidence]:
    """Each chunk as evidence, in its own language."""
    return [
        Evidence.of(chunk.text, chunk.language if chunk.language in LANGUAGES else language)
        for chunk in chunks
    ]


def _facts(line: str, language: Language) -> set[str]:
    """What a line states, to compare bullets: its content words, and its numbers (each worth
    ``NUMBER_WEIGHT`` words: the facts of most documents are figures)."""
    body = PAGE_MARKER.sub("", line)
    numbers = {f"#{copy}:{number}" for number in numbers_in(body) for copy in range(NUMBER_WEIGHT)}
    return set(analyze(body, language)) | numbers


def _is_claim(sentence: str, language: Language) -> bool:
    stripped = sentence.strip()
    return not stripped.endswith(":") and len(analyze(stripped, language)) >= _MIN_CLAIM_TERMS


def _cited(
    sentence: str, present: list[str], evidence: list[Evidence], markers: list[str], language: Language
) -> str:
    """The sentence with the marker of the chunk that best supports it when it has none, or when
    the chunks its markers name do not support it and another does: the model copies the
    "(p. N)" lines of its prompt onto sentences from other pages."""
    bare = sentence
    for mark in present:
        bare = bare.replace(mark, "")
    scored = list(zip(support_each(bare, evidence, language), markers, strict=True))
    best_score, best_marker = max(scored, key=lambda item: item[0], default=(0.0, ""))
    if best_score < SUPPORT_THRESHOLD:
        return sentence if present else bare
    if present and max(score for score, mark in scored if mark in present) >= SUPPORT_THRESHOLD:
        return sentence
    bare = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(bare.split()))
    return with_marker(bare, best_marker)


def _cut_short(cut: int, calls: int) -> str:
    replies = "the model's reply" if calls == 1 else f"{cut} of the model's {calls} replies"
    return (
        f"{replies} reached max_tokens and {'was' if cut == 1 else 'were'} cut: the summary may leave "
        "out parts of the document (raise max_tokens)"
    )


class Summarizer:
    def __init__(self, settings: Settings, store: Store, generator: Generator) -> None:
        self.settings = settings
        self.store = store
        self.generator = generator
        self.cut_replies = 0  # of the current summary's model calls, cut by max_tokens

    def summarize(
        self,
        collection: str,
        source: str,
        length: Length = "short",
        language: Language | None = None,
        progress: SummaryProgress | None = None,
    ) -> Summary:
        started = time.perf_counter()
        self.cut_replies = 0
        progress = progress or (lambda stage, done, total: None)
        document = self.store.find_document(collection, source)
        chunks = self.store.document_chunks(document.id)
        original = detect_language(" ".join(chunk.text for chunk in chunks[:20]))
        language = language or original
        written = original if (original, language) in TRANSLATED else language
        budget = self._budget()
        parts = windows(self._pieces(chunks, budget), budget, self.generator.count_tokens)
        summary = Summary(document.path, "", language, self.generator.name, map_calls=len(parts))
        summary.warnings += document.stale_warnings()
        progress("map", 0, len(parts))  # shown while the first call runs (15–35 s), not after it
        if len(parts) == 1:  # the whole document fits one prompt: nothing to reduce
            text = self._call(written, prompt(written, "whole", length), parts[0], self._max_tokens(length))
            progress("map", 1, 1)
        else:
            notes = []
            for done, part in enumerate(parts, start=1):
                notes.append(self._call(written, prompt(written, "map"), part, self.settings.max_tokens))
                progress("map", done, len(parts))
            text = self._reduce(notes, budget, written, length, summary, progress)
        if self.cut_replies:  # it summarised what it had copied so far, the document's start
            summary.warnings.append(_cut_short(self.cut_replies, summary.map_calls + summary.reduce_calls))
        if not text.strip():  # never an empty summary shown as if it were one
            raise GenerationError(
                f"{self.generator.name} wrote an empty summary; try again, or use another model"
            )
        text = drop_repeats(drop_headings(text, chunks, written), {marker(chunk) for chunk in chunks})
        text = keep_bullets(text, MAX_BULLETS[length], chunks, written)
        summary.text = cite_sentences(text, chunks, written)
        came_out = written if written != language else _written_in(summary.text)
        if came_out is not None and came_out != language:  # planned, or the model ignored the language asked
            markers = [marker(chunk) for chunk in chunks]
            progress("translate", 0, 1)
            translated, summary.translate_calls = translate_summary(
                self.generator, summary.text, came_out, language, markers
            )
            progress("translate", 1, 1)
            if translated is not None and _written_in(translated) in (None, language):
                summary.text, summary.translated = translated, True
            else:  # a failed translation only adds mistakes to the summary it was given
                summary.warnings.append(_wrong_language(self.generator.name, came_out, language))
        summary.pages = sorted({chunk.page for chunk in chunks if chunk.page is not None})
        summary.sections = list(dict.fromkeys(chunk.section for chunk in chunks if chunk.section))
        summary.seconds = time.perf_counter() - started
        return summary

    def _pieces(self, chunks: list[ChunkView], budget: int) -> list[str]:
        """Each chunk under its page or section marker; a chunk over the budget (a large
        ``chunk_tokens``, a small context) in parts, each under the marker again."""
        count = self.generator.count_tokens
        pieces = []
        for chunk in chunks:
            head = marker(chunk)
            room = budget - count(head) - 1
            fits = count(chunk.text) <= room
            parts = [chunk.text] if fits else [part for part, _ in split_to_fit(chunk.text, room, count)]
            pieces += [f"{head}\n{part}".strip() for part in parts]
        return pieces

    def _budget(self) -> int:
        budget = min(
            self.settings.prompt_budget * 2, self.generator.context_size - self.settings.max_tokens * 2 - 128
        )
        if budget < 128:
            raise GenerationError(f"context_size {self.generator.context_size} is too small to summarise")
        return budget

    def _reduce(
        self, notes: list[str], budget: int, language: Language, length: Length, summary: Summary,
        progress: SummaryProgress,
    ) -> str:  # fmt: skip
        """Merge notes into one summary; merge groups first while they do not fit one prompt.
        Notes may use the whole context, not just the prompt budget: there are few of them."""
        max_tokens = self._max_tokens(length)
        budget = max(budget, self.generator.context_size - max_tokens - 128)
        for level in itertools.count(1):
            groups = windows(notes, budget, self.generator.count_tokens)
            final = len(groups) == 1
            if not final and len(groups) >= len(notes):  # no progress possible: notes too long
                raise GenerationError("partial summaries do not fit the context; raise context_size")
            stage = prompt(language, "notes", length) if final else prompt(language, "map")
            notes = []
            progress("reduce" if level == 1 else f"reduce {level}", 0, len(groups))
            for done, group in enumerate(groups, start=1):
                notes.append(self._call(language, stage, group, max_tokens))
                summary.reduce_calls += 1
                progress("reduce" if level == 1 else f"reduce {level}", done, len(groups))  # a bar per level
            if final:
                return notes[0]

    def _max_tokens(self, length: Length) -> int:
        return self.settings.max_tokens * (2 if length == "long" else 1)

    def _call(self, language: Language, stage: tuple[str, str], text: str, max_tokens: int) -> str:
        header, instruction = stage
        messages: list[Message] = [
            {"role": "system", "content": _SYSTEM[language]},
            {"role": "user", "content": f'{header}\n"""\n{text}\n"""\n\n{instruction}'},
        ]
        completion = self.generator.complete(messages, GenerationParams(max_tokens=max_tokens))
        text = completion.text.strip()
        if completion.finish_reason != "length":
            return text
        self.cut_replies += 1
        return without_cut_end(text)
