"""Citations are checked, not trusted.

The model cites sources as [n]. Numbers outside 1..len(sources) are invented: they are
removed from the answer and not reported. When the model cites nothing (and did not
abstain), the passages whose text supports the answer — most of its content words and
all of its numbers — are cited instead. An answer that shares no word and no number with
the passages it was given did not come from them (``draws_on``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from petitrag.language import Language, analyze, words

_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
SUPPORT_THRESHOLD = 0.5
# answers that may rightly share no word with the sources
_YES_NO = frozenset({"oui", "non", "yes", "no", "vrai", "faux", "true", "false"})


def cited_numbers(answer: str) -> list[int]:
    """Every number cited as [n] or [n, m], in order of first appearance."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(answer):
        for part in re.split(r"[,;]", match.group(1)):
            seen.setdefault(int(part), None)
    return list(seen)


def remove_invalid(answer: str, count: int) -> str:
    """Drop citation markers that point outside 1..count; keep the valid ones."""

    def keep_valid(match: re.Match[str]) -> str:
        numbers = [int(p) for p in re.split(r"[,;]", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= count]
        return f" [{', '.join(map(str, valid))}]" if valid else ""

    return _MARKER.sub(keep_valid, answer).strip()


def strip_markers(answer: str) -> str:
    """The answer without any [n] marker (for scoring and support checks)."""
    return _MARKER.sub("", answer).strip()


@dataclass(frozen=True)
class Evidence:
    """A passage analysed once, to check many answers or sentences against it."""

    text: str  # numbers are looked up here, with narrow and non-breaking spaces made plain
    terms: frozenset[str]

    @classmethod
    def of(cls, passage: str, language: Language) -> Evidence:
        plain_spaces = passage.replace("\u202f", " ").replace("\xa0", " ")
        return cls(plain_spaces, frozenset(analyze(passage, language)))


def support(answer: str, passage: str, language: Language) -> float:
    """Share of the answer's content terms found in the passage; 0 if a number is missing."""
    return support_each(answer, [Evidence.of(passage, language)], language)[0]


def support_each(answer: str, passages: list[Evidence], language: Language) -> list[float]:
    """``support`` against each passage, analysing the answer once."""
    plain = strip_markers(answer)
    numbers = _NUMBER.findall(plain)
    terms = set(analyze(plain, language))
    return [
        len(terms & passage.terms) / len(terms)
        if terms and all(number in passage.text for number in numbers)
        else 0.0
        for passage in passages
    ]


def supporting(answer: str, passages: list[str], language: Language) -> list[int]:
    """1-based numbers of the passages that support the answer, best first."""
    evidence = [Evidence.of(text, language) for text in passages]
    scores = [
        (score, number) for number, score in enumerate(support_each(answer, evidence, language), start=1)
    ]
    best = sorted((s for s in scores if s[0] >= SUPPORT_THRESHOLD), key=lambda s: (-s[0], s[1]))
    return [number for _, number in best[:2]]


def draws_on(answer: str, passages: list[Evidence], language: Language) -> bool | None:
    """Whether the answer holds a content word or a number found in one of the passages.

    False is a small model answering from its own knowledge despite the rules: asked for the
    capital of Australia over a neighbourhood meeting's minutes, the 1.5B model answers
    "Melbourne [1]". None when there is nothing to judge: no content word nor number, or a
    yes/no answer (which may rightly share no word with the sources).
    """
    plain = strip_markers(answer)
    tokens = words(plain)
    terms = set(analyze(plain, language))
    numbers = _NUMBER.findall(plain)
    if (not terms and not numbers) or (tokens and tokens[0] in _YES_NO):
        return None
    return any(terms & passage.terms or any(n in passage.text for n in numbers) for passage in passages)
