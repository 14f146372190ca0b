"""Confidence signals of one answer: what the small model's output tells about its quality.

Every signal is computed for every answer (and logged in bench predictions) so the
calibration can learn which ones separate right from wrong answers on the user's data.
All values are floats (0/1 for flags) or None when a backend cannot provide them
(no logprobs from an HTTP server, say).
"""

from __future__ import annotations

import re
import statistics

from petitrag.answer.citations import strip_markers, support
from petitrag.generation.base import Completion, Token
from petitrag.language import Language
from petitrag.retrieval.hybrid import Hit

Signals = dict[str, float | None]

#: every signal name, in a stable order (features for the calibrated score)
SIGNAL_NAMES = (
    "mean_logprob",
    "min_logprob",
    "mean_entropy",
    "abstained",
    "top_score",
    "score_margin",
    "grounding",
    "answer_tokens",
    "has_number",
    "comparison",
    "multi_part",
    "self_check",  # the model's P(yes) that its sources give its answer; None unless asked for
    "abstain_logprob",  # log P(abstention sentence) before the answer; None unless measured
)

_NUMBER = re.compile(r"\d")
_COMPARISON = re.compile(
    r"\b(plus|moins|davantage|compar\w*|diff[ée]ren\w*|entre|versus|vs|more|less|fewer|than|"
    r"compare\w*|differ\w*|between|better|worse|bigger|smaller|larger|older|younger)\b",
    re.IGNORECASE,
)
_MULTI_PART = re.compile(r"\b(et|ainsi que|and|as well as)\b.*\?|\?.+\?|;", re.IGNORECASE)


def token_signals(completion: Completion | None) -> Signals:
    """Mean/min logprob and mean entropy of the answer's content tokens."""
    tokens = content_tokens(completion.tokens if completion else [])
    logprobs = [t.logprob for t in tokens if t.logprob is not None]
    entropies = [t.entropy for t in tokens if t.entropy is not None]
    return {
        "mean_logprob": statistics.fmean(logprobs) if logprobs else None,
        "min_logprob": min(logprobs) if logprobs else None,
        "mean_entropy": statistics.fmean(entropies) if entropies else None,
        "answer_tokens": float(len(tokens)),
    }


def content_tokens(tokens: list[Token]) -> list[Token]:
    """The tokens outside citation markers: "[", "1", "]" are near-certain and would inflate
    the answer's mean logprob."""
    kept, inside = [], False
    for token in tokens:
        text = token.text.strip()
        if text.startswith("["):
            inside = True
        if not inside and text:
            kept.append(token)
        if inside and "]" in text:
            inside = False
    return kept


def retrieval_signals(hits: list[Hit]) -> Signals:
    """How clearly retrieval found something: the best score and its lead over the next."""
    scores = sorted((hit.score for hit in hits), reverse=True)
    if not scores:
        return {"top_score": None, "score_margin": None}
    margin = scores[0] - scores[1] if len(scores) > 1 else scores[0]
    return {"top_score": scores[0], "score_margin": margin}


def grounding(answer: str, cited: list[str], language: Language) -> float:
    """Share of the answer's content words found in its cited passages (0 if a number is not)."""
    if not strip_markers(answer) or not cited:
        return 0.0
    return max(support(answer, passage, language) for passage in cited)


def question_signals(question: str) -> Signals:
    """Question types small models get wrong more often: numbers, comparisons, several parts."""
    return {
        "has_number": float(bool(_NUMBER.search(question))),
        "comparison": float(bool(_COMPARISON.search(question))),
        "multi_part": float(bool(_MULTI_PART.search(question.strip()))),
    }


def compute_signals(
    question: str,
    answer: str,
    abstained: bool,
    completion: Completion | None,
    hits: list[Hit],
    cited: list[str],
    language: Language,
) -> Signals:
    """All signals of one answer, keyed by ``SIGNAL_NAMES``."""
    signals: Signals = {"abstained": float(abstained)}
    signals.update(token_signals(completion))
    signals.update(retrieval_signals(hits))
    signals["grounding"] = 0.0 if abstained else grounding(answer, cited, language)
    signals.update(question_signals(question))
    return {name: signals.get(name) for name in SIGNAL_NAMES}
