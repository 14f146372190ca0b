"""Whole-document summaries by map-reduce over the document's chunks.

Top-k retrieval cannot summarise: a summary needs every part of the document. Chunks are
grouped in reading order into windows that fit the prompt budget (map), each window is
summarised with its page/section markers kept, and the partial summaries are merged
(reduce) — recursively if they do not fit in one prompt either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from petitrag.config import Settings
from petitrag.errors import GenerationError
from petitrag.generation.base import GenerationParams, Generator, Message
from petitrag.index.store import ChunkView, Store
from petitrag.language import Language, detect_language

Length = Literal["short", "long"]
#: progress hook: (stage, done, total), stage "map" or "reduce"
SummaryProgress = Callable[[str, int, int], None]

_INSTRUCTIONS: dict[Language, dict[str, str]] = {
    "fr": {
        "map": "Résume en français ce passage d'un document en quelques puces factuelles. Garde les "
        "repères de page ou de section entre parenthèses, par exemple (p. 3), après chaque puce.",
        "short": "Voici des notes sur les parties d'un document. Écris en français un résumé de tout le "
        "document en 3 à 5 phrases. Garde les repères de page ou de section entre parenthèses.",
        "long": "Voici des notes sur les parties d'un document. Écris en français un résumé détaillé de "
        "tout le document, en paragraphes, en gardant les repères de page ou de section entre parenthèses.",
    },
    "en": {
        "map": "Summarise this passage of a document in English in a few factual bullet points. Keep the "
        "page or section markers in parentheses, e.g. (p. 3), after each bullet.",
        "short": "Here are notes on the parts of a document. Write an English summary of the whole "
        "document in 3 to 5 sentences. Keep the page or section markers in parentheses.",
        "long": "Here are notes on the parts of a document. Write a detailed English summary of the whole "
        "document, in paragraphs, keeping the page or section markers in parentheses.",
    },
}


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
    seconds: float = 0.0


def marker(chunk: ChunkView) -> str:
    """Where a chunk is, as the summary should cite it."""
    if chunk.page is not None:
        return f"(p. {chunk.page})"
    return f"({chunk.section})" if chunk.section else ""


class Summarizer:
    def __init__(self, settings: Settings, store: Store, generator: Generator) -> None:
        self.settings = settings
        self.store = store
        self.generator = generator

    def summarize(
        self,
        collection: str,
        source: str,
        length: Length = "short",
        language: Language | None = None,
        progress: SummaryProgress | None = None,
    ) -> Summary:
        started = time.perf_counter()
        progress = progress or (lambda stage, done, total: None)
        document = self.store.find_document(collection, source)
        chunks = self.store.document_chunks(document.id)
        language = language or detect_language(" ".join(chunk.text for chunk in chunks[:20]))
        budget = self._budget()
        pieces = [f"{marker(chunk)}\n{chunk.text}".strip() for chunk in chunks]
        windows = self._windows(pieces, budget)
        notes = []
        for done, window in enumerate(windows, start=1):
            notes.append(self._call(_INSTRUCTIONS[language]["map"], window, self.settings.max_tokens))
            progress("map", done, len(windows))
        summary = Summary(document.path, "", language, self.generator.name, map_calls=len(windows))
        summary.text = self._reduce(notes, budget, language, length, summary, progress)
        summary.pages = sorted({chunk.page for chunk in chunks if chunk.page is not None})
        summary.sections = list(dict.fromkeys(chunk.section for chunk in chunks if chunk.section))
        summary.seconds = time.perf_counter() - started
        return summary

    def _budget(self) -> int:
        budget = min(
            self.settings.prompt_budget * 2, self.generator.context_size - self.settings.max_tokens * 2 - 128
        )
        if budget < 128:
            raise GenerationError(f"context_size {self.generator.context_size} is too small to summarise")
        return budget

    def _windows(self, pieces: list[str], budget: int) -> list[str]:
        """Consecutive pieces packed up to the budget (a lone oversized piece is cut to fit)."""
        windows: list[str] = []
        current: list[str] = []
        used = 0
        for piece in pieces:
            tokens = self.generator.count_tokens(piece)
            if tokens > budget:
                piece = piece[: int(len(piece) * budget / tokens)]
                tokens = budget
            if current and used + tokens > budget:
                windows.append("\n\n".join(current))
                current, used = [], 0
            current.append(piece)
            used += tokens
        if current:
            windows.append("\n\n".join(current))
        return windows

    def _reduce(
        self, notes: list[str], budget: int, language: Language, length: Length, summary: Summary,
        progress: SummaryProgress,
    ) -> str:  # fmt: skip
        """Merge notes into one summary; merge groups first while they do not fit one prompt."""
        max_tokens = self.settings.max_tokens * (2 if length == "long" else 1)
        while True:
            groups = self._windows(notes, budget)
            final = len(groups) == 1
            if not final and len(groups) == len(notes):  # no progress possible: notes too long
                raise GenerationError("partial summaries do not fit the context; raise context_size")
            instruction = _INSTRUCTIONS[language][length if final else "map"]
            notes = []
            for done, group in enumerate(groups, start=1):
                notes.append(self._call(instruction, group, max_tokens))
                summary.reduce_calls += 1
                progress("reduce", done, len(groups))
            if final:
                return notes[0]

    def _call(self, instruction: str, text: str, max_tokens: int) -> str:
        messages: list[Message] = [
            {"role": "system", "content": instruction},
            {"role": "user", "content": text},
        ]
        completion = self.generator.complete(messages, GenerationParams(max_tokens=max_tokens))
        return completion.text.strip()
