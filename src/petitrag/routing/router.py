"""Small first, big when unsure: answer with the small model, escalate when its score is low.

Retrieval runs once; both models see the same passages. The small answer is generated
silently (it must not reach the user before it passes) and shown only when its
confidence reaches the threshold; otherwise the large model answers, streamed. If the
large model fails (unreachable server, say), the small answer is returned marked as low
confidence — never an error in place of an answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from petitrag.answer.pipeline import Answerer
from petitrag.answer.result import AnswerResult
from petitrag.answer.streaming import REPLACED, TokenCallback
from petitrag.errors import ConfigError, PetitragError
from petitrag.generation.base import Generator
from petitrag.retrieval.hybrid import Retriever
from petitrag.routing.score import Calibration
from petitrag.routing.signals import SIGNAL_NAMES


@dataclass
class RouteSpec:
    small: str
    large: str


def parse_route(value: str) -> RouteSpec:
    """'small,large' → RouteSpec; anything else is a clear configuration error."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"route must be 'small,large' (two model names), got {value!r}")
    if parts[0] == parts[1]:
        raise ConfigError(f"route needs two different models, got {parts[0]!r} twice")
    return RouteSpec(parts[0], parts[1])


class Router:
    """Same ``ask`` as ``Answerer``; ``generator`` is the first (small) model's."""

    def __init__(
        self, small: Answerer, large: Answerer | Callable[[], Answerer], calibration: Calibration
    ) -> None:
        self.small = small
        self._large = large
        self.calibration = calibration

    @property
    def large(self) -> Answerer:
        """The large model loads on the first escalation: a confident small answer never waits for it."""
        if not isinstance(self._large, Answerer):
            self._large = self._large()
        return self._large

    @property
    def generator(self) -> Generator:
        return self.small.generator

    @property
    def retriever(self) -> Retriever:
        """Both models read what this one retriever finds."""
        return self.small.retriever

    def require_room(self, question: str) -> None:
        """The small model answers first: the question must fit its prompt (``Answerer.require_room``)."""
        self.small.require_room(question)

    @property
    def threshold(self) -> float:
        return self.calibration.threshold

    def ask(self, question: str, k: int | None = None, on_token: TokenCallback | None = None) -> AnswerResult:
        started = time.perf_counter()
        question, language, hits = self.small.retrieve(question, k)
        retrieval_s = time.perf_counter() - started
        first = self.small.answer(question, language, hits, retrieval_s)
        confidence = self.calibration.score(first.signals) if first.signals else None
        if not hits:
            return self._keep(first, confidence, "nothing retrieved: no model can answer", on_token, started)
        if confidence is not None and confidence >= self.threshold:
            return self._keep(first, confidence, "confident", on_token, started)
        shown_at: list[float] = []  # when the large model's words were streamed, before it failed

        def showing(text: str) -> None:
            shown_at.append(time.perf_counter())
            on_token(text)  # type: ignore[misc]  # only passed on when there is one

        try:
            spent = time.perf_counter() - started
            second = self.large.answer(question, language, hits, spent, showing if on_token else None)
        except PetitragError as exc:
            reason = f"low confidence, but the large model failed: {exc}"
            return self._keep(first, confidence, reason, on_token, started, failed=True, replacing=shown_at)
        second.timings["retrieval_s"] = retrieval_s
        second.escalated = True
        second.confidence = self.calibration.score(second.signals) if second.signals else None
        second.extra["route"] = self._route(first, confidence, second.model, "low confidence")
        second.extra["route"]["first_answer"] = first.answer
        return second

    def _keep(
        self,
        result: AnswerResult,
        confidence: float | None,
        reason: str,
        on_token: TokenCallback | None,
        started: float,
        failed: bool = False,
        replacing: list[float] | None = None,
    ) -> AnswerResult:
        """Show the small answer: it was generated silently, so it arrives in one piece; after
        words of a large model that failed mid-answer (``replacing``), on a line of its own that
        marks it as replacing them (a client read the two answers as one)."""
        if on_token is not None:  # the checked answer, as an unrouted stream ends with (the
            # model's raw text showed invented numbers, then the abstention a second time)
            on_token(f"\n{REPLACED}{result.answer}" if replacing else result.answer)
        result.confidence = confidence
        result.escalated = False
        result.timings["ttft_s"] = result.timings["total_s"] = time.perf_counter() - started
        if replacing:  # the first words shown were the large model's
            result.timings["ttft_s"] = replacing[0] - started
        result.extra["route"] = self._route(result, confidence, result.model, reason)
        if failed:
            result.extra["route"]["escalation_failed"] = True
        return result

    def _route(
        self, first: AnswerResult, confidence: float | None, answered_by: str, reason: str
    ) -> dict[str, Any]:
        return {
            "signals": {name: first.signals.get(name) for name in SIGNAL_NAMES},  # what the score reads
            "confidence": confidence,
            "threshold": self.threshold,
            "calibrated": self.calibration.calibrated,
            "first_model": first.model,
            "answered_by": answered_by,
            "reason": reason,
        }
