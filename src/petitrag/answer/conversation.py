"""Conversations: follow-up questions are rewritten to standalone ones before retrieval.

"Et pour les freins ?" retrieves nothing useful on its own; "Quel entretien demandent
les freins du vélo ?" does. The small model rewrites the follow-up using the last turns;
the answer then goes through the normal grounded pipeline.
"""

from __future__ import annotations

from petitrag.answer.pipeline import Answerer
from petitrag.answer.result import AnswerResult
from petitrag.answer.streaming import TokenCallback
from petitrag.generation.base import GenerationParams, Message

REWRITE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace pronouns and implicit references with what they refer to. Keep the language of the "
    "question (French stays French). Output only the rewritten question, nothing else."
)


class Conversation:
    """Keeps the last turns and answers each new question in their context."""

    def __init__(self, answerer: Answerer, max_turns: int = 4) -> None:
        self.answerer = answerer
        self.max_turns = max_turns
        self.history: list[tuple[str, str]] = []

    def standalone(self, question: str) -> str:
        """The question rewritten without references to earlier turns (unchanged on turn one)."""
        if not self.history:
            return question.strip()
        turns = "\n".join(f"Q: {q}\nA: {a}" for q, a in self.history[-self.max_turns :])
        messages: list[Message] = [
            {"role": "system", "content": REWRITE_SYSTEM},
            {"role": "user", "content": f"Conversation:\n{turns}\n\nLast question: {question.strip()}"},
        ]
        completion = self.answerer.generator.complete(messages, GenerationParams(max_tokens=64, stop=["\n"]))
        rewritten = completion.text.strip().strip('"«» ').removeprefix("Q:").strip()
        return rewritten or question.strip()

    def answer(self, question: str, standalone: str, on_token: TokenCallback | None = None) -> AnswerResult:
        result = self.answerer.ask(standalone, on_token=on_token)
        self.history.append((question.strip(), result.answer))
        return result
