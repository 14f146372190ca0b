"""Conversations: follow-up questions are rewritten to standalone ones before retrieval.

"Et pour les freins ?" retrieves nothing useful on its own; "Quel entretien demandent
les freins du vélo ?" does. The small model rewrites the follow-up using the last turns;
the answer then goes through the normal grounded pipeline.
"""

from __future__ import annotations

import re

from petitrag.answer.pipeline import Answerer
from petitrag.answer.result import AnswerResult
from petitrag.answer.streaming import TokenCallback
from petitrag.generation.base import MAX_CHARS_PER_TOKEN, GenerationParams, Generator, Message
from petitrag.language import analyze, detect_language

REWRITE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace pronouns and implicit references (it, she, that, « il », « elle », « et pour… ») with "
    "the person or thing they refer to, taken from the conversation. Keep the language of the last "
    "question (French stays French). Ask only the last question, not the earlier ones; if it is "
    "already complete, repeat it unchanged. Output only the rewritten question, nothing else."
)
#: worked examples (conversation, last question, rewrite): a pronoun, two elliptic French
#: follow-ups (one adds to the question, one replaces its object), a complete question left as
#: it is, and an English pronoun. With the 1.5B model they pass 19 of the 24 cases of
#: ``benchmarks/exp_rewrite.py`` against 14 for the rules alone, which left "it" in place or asked
#: both questions at once (BENCHMARKS "Session 16")
REWRITE_EXAMPLES: tuple[tuple[str, str, str], ...] = (
    (
        "Q: Qui dirige le service informatique ?\nA: Claire Martin [2]",
        "Depuis quand occupe-t-elle ce poste ?",
        "Depuis quand Claire Martin dirige-t-elle le service informatique ?",
    ),
    (
        "Q: À quelle heure ouvre la piscine municipale ?\nA: À 9 h en semaine [1]",
        "Et le dimanche ?",
        "À quelle heure ouvre la piscine municipale le dimanche ?",
    ),
    (
        "Q: Combien coûte l'abonnement mobile ?\nA: 15 € par mois [1]",
        "Et pour la fibre ?",
        "Combien coûte l'abonnement à la fibre ?",
    ),
    (
        "Q: What is the refund policy?\nA: Refunds within 30 days of purchase [1]",
        "Which payment methods are accepted?",
        "Which payment methods are accepted?",
    ),
    (
        "Q: Who designed the lighthouse?\nA: The engineer Thomas Stevenson [1]",
        "When was it built?",
        "When was the lighthouse designed by Thomas Stevenson built?",
    ),
)


class Conversation:
    """Keeps the last turns and answers each new question in their context."""

    def __init__(self, answerer: Answerer, max_turns: int = 4) -> None:
        self.answerer = answerer
        self.max_turns = max_turns
        self.history: list[tuple[str, str]] = []

    def standalone(self, question: str) -> str:
        """The question rewritten without references to earlier turns (unchanged on turn one).

        A question too long to answer is refused before the rewrite, as on turn one (the rewrite
        prompt overflowed the context instead, an error that ended the chat); earlier turns
        that would not fit beside it are left out of the rewrite."""
        self.answerer.require_room(question)
        turns = fitting_history(self.answerer.generator, self.history[-self.max_turns :], question)
        return standalone_question(self.answerer.generator, turns, question)

    def answer(self, question: str, standalone: str, on_token: TokenCallback | None = None) -> AnswerResult:
        result = self.answerer.ask(standalone, on_token=on_token)
        self.history.append((question.strip(), result.answer))
        return result


def fitting_history(
    generator: Generator, history: list[tuple[str, str]], question: str
) -> list[tuple[str, str]]:
    """The latest turns that fit, with the question, in half the context: a client sends the
    history, of any length, and the rewrite prompt (rules, examples, turns) must fit the context.
    Older turns go first; none left means the question is answered as asked."""
    room = generator.context_size // 2 - generator.count_tokens(question)
    kept: list[tuple[str, str]] = []
    for asked, answered in reversed(history):
        if len(asked) + len(answered) > room * MAX_CHARS_PER_TOKEN:
            break  # far too long for the room left: not counted (a 15 MB turn held the model thread)
        room -= generator.count_tokens(asked) + generator.count_tokens(answered)
        if room < 0:
            break
        kept.append((asked, answered))
    return kept[::-1]


def standalone_question(generator: Generator, history: list[tuple[str, str]], question: str) -> str:
    """``question`` rewritten by ``generator`` so that it needs none of ``history`` (question,
    answer) turns; unchanged when there is no history, or the model writes nothing, or answers
    instead ("Et pour les alternants ?" → "Le jour de présence est le mardi.", then searched)."""
    if not history:
        return question.strip()
    turns = "\n".join(f"Q: {q}\nA: {a}" for q, a in history)
    messages: list[Message] = [{"role": "system", "content": REWRITE_SYSTEM}]
    for example_turns, example_question, rewrite in REWRITE_EXAMPLES:
        messages.append({"role": "user", "content": _rewrite_request(example_turns, example_question)})
        messages.append({"role": "assistant", "content": rewrite})
    messages.append({"role": "user", "content": _rewrite_request(turns, question.strip())})
    params = GenerationParams(max_tokens=64, stop=["\n"], prefix_messages=len(messages) - 1)
    completion = generator.complete(messages, params)  # the rules and examples' KV is kept
    rewritten = completion.text.strip().strip('"«» ').removeprefix("Q:").strip()
    if question.strip().endswith("?") and "?" not in rewritten:  # an answer, not a question
        return question.strip()
    if not _asks_the_same(question, rewritten, history):
        return question.strip()
    return rewritten or question.strip()


def _asks_the_same(question: str, rewritten: str, history: list[tuple[str, str]]) -> bool:
    """Whether the rewrite still asks the follow-up: not an earlier question (alone, or with
    the follow-up glued to it), and, for a follow-up long enough to stand alone, keeping half
    of its words (a short one's "ce poste" rightly becomes "le service informatique"). The
    small model sometimes returned an earlier question instead, which was then answered."""
    if rewritten.count("?") > max(1, question.count("?")):
        return False
    earlier = {_plain(asked) for asked, _ in history} - {_plain(question)}
    plain = _plain(rewritten)
    if plain in earlier or any(
        _GLUED.match(plain[len(asked) :]) for asked in earlier if plain.startswith(asked)
    ):
        return False
    language = detect_language(question)
    asked = set(analyze(question, language))
    kept = asked & set(analyze(rewritten, language))
    return len(asked) < _STANDS_ALONE or 2 * len(kept) >= len(asked)


#: a follow-up with this many words of its own asks its own question ("What does the annual
#: revision of the bike include?" became "Who decided the change of the leave entitlement?")
_STANDS_ALONE = 4


#: what joins a follow-up to an earlier question repeated whole: "What is DeskSync Pro and how
#: much does it cost?" was searched, and answered "DeskSync Pro" again
_GLUED = re.compile(r" (?:and|et|or|ou|as well as|ainsi que|plus|also|aussi)\b")


def _plain(question: str) -> str:
    return " ".join(re.findall(r"\w+", question.casefold()))


def _rewrite_request(turns: str, question: str) -> str:
    return f"Conversation:\n{turns}\n\nLast question: {question}"
