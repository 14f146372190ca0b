"""What `ask` returns: the answer, its checked citations, and the stable ``ask --json`` contract."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from petitrag.answer.citations import renumber
from petitrag.answer.packing import PackedContext
from petitrag.generation.base import Completion
from petitrag.language import Language
from petitrag.retrieval.hybrid import Hit


@dataclass
class Citation:
    number: int  # the [n] the model saw
    hit: Hit

    def to_json(self) -> dict[str, Any]:
        hit = self.hit
        return {"source": hit.source, "page": hit.page, "section": hit.section, "chunk_id": hit.chunk_id,
                "text": hit.text}  # fmt: skip


@dataclass
class AnswerResult:
    answer: str
    abstained: bool
    language: Language
    model: str
    citations: list[Citation]
    confidence: float | None
    timings: dict[str, float]
    escalated: bool = False
    context: PackedContext | None = None
    completion: Completion | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. "route" (escalation details)
    signals: dict[str, float | None] = field(default_factory=dict)  # confidence signals (routing/)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON contract; the answer's [n] are positions in "citations" (the terminal
        keeps the prompt's numbers, which its streamed text and source list share)."""
        keys = ("retrieval_s", "ttft_s", "total_s", "prompt_tokens", "completion_tokens", "tokens_per_s")
        # without a model call the sentence is shown once search is done: that is its first token
        timings = {"ttft_s": self.timings.get("total_s", 0)} | self.timings
        data = {
            "answer": renumber(self.answer, [citation.number for citation in self.citations]),
            "abstained": self.abstained,
            "language": self.language,
            "model": self.model,
            "citations": [citation.to_json() for citation in self.citations],
            "confidence": self.confidence,
            "escalated": self.escalated,
            "timings": {key: _typed(key, timings.get(key, 0)) for key in keys},
        }
        data.update(self.extra)
        return data


def _typed(key: str, value: float) -> float | int:
    """Token counts are integers, times and speeds always floats (0.0, not 0, with no model call)."""
    return int(value) if key.endswith("_tokens") else round(float(value), 4)


def mean_token_probability(completion: Completion) -> float | None:
    """Geometric-mean token probability of the answer; None when the backend gives no logprobs."""
    logprobs = [token.logprob for token in completion.tokens if token.logprob is not None]
    if not logprobs:
        return None
    return math.exp(sum(logprobs) / len(logprobs))


def answer_timings(
    passes: list[AnswerResult], retrieval_s: float, waited_s: float, total_s: float
) -> dict[str, float]:
    """Timings of the answer the user gets: ``waited_s`` before its generation started (retrieval,
    an abandoned first pass) counts before the first token; every pass's tokens count in the usage."""
    completions = [result.completion for result in passes if result.completion is not None]
    last = completions[-1]
    return {
        "retrieval_s": retrieval_s,
        "ttft_s": waited_s + last.ttft_s,
        "total_s": total_s,
        "prompt_tokens": sum(completion.prompt_tokens for completion in completions),
        "cached_tokens": sum(completion.cached_tokens for completion in completions),
        "completion_tokens": sum(completion.completion_tokens for completion in completions),
        "tokens_per_s": last.tokens_per_s,
    }
