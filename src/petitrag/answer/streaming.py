"""Streaming an answer that may still turn into an abstention.

Tokens reach the terminal or the API as they come, but an answer that the checks will
replace by the abstention sentence must not flow first: ``HeldAnswer`` holds text back
until it is sure to stand.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from petitrag.answer.prompts import could_be_abstention, opens_as_abstention, says_answer_missing
from petitrag.answer.trim import complete_words, first_repeat, template_echo, undecided_template_line
from petitrag.language import Language

TokenCallback = Callable[[str], None]
_SENTENCE_END = re.compile(r"[.!?]\s+|\n")
_NUMBER = re.compile(r"\d+")
#: what starts the line of an answer that replaces words already streamed
REPLACED = "→ "


class HeldAnswer:
    """Streams an answer, but holds back text that may not become one: the start of the
    abstention sentence, or words that would not stand (``stands``: with ``grounded_only``,
    nothing of the passages added to the question yet, or a name from the worked examples),
    since such an answer is turned into an abstention.

    Text flows live once it is neither; with best-first reading, a first pass that abstains
    is never shown, because all passages are read next and only that answer is. With
    ``settle`` (``trim.settled``), what flows is the answer as it will be shown, its
    question-restating frame cut, as far as no later token can change it.
    """

    def __init__(
        self,
        on_token: TokenCallback | None,
        language: Language,
        stands: Callable[[str], bool],
        settle: Callable[[str], tuple[str, int]] | None = None,
    ) -> None:
        self.on_token = on_token
        self.language = language
        self.stands = stands
        self.settle = settle
        self.text = ""  # everything generated so far
        self.shown = ""  # what reached ``on_token``
        self.flowing = False
        self.stopped = False  # a number that would not stand came after words that flowed
        self._numbers = 0  # numbers of the complete words judged so far
        self.first_shown: float | None = None  # when the first words reached ``on_token``

    def __call__(self, text: str) -> None:
        if self.on_token is None:
            return
        self.text += text  # kept after a stop too: ``release`` may show the rest
        if self.stopped:
            return
        words = complete_words(self.text)  # judged, and shown, on complete words only
        if not self.flowing:
            if could_be_abstention(self.text, self.language) or not self.stands(words):
                return
            self.flowing = True
        elif (numbers := len(_NUMBER.findall(words))) > self._numbers:
            self._numbers = numbers  # each new number is judged before it flows: "est le | 14 mars
            if not self.stands(words):  # 1947", a date no passage holds, was shown, then withdrawn
                self.stopped = True
                return
        self._show_settled()

    def _show_settled(self) -> None:
        if self.settle is None:  # a word still being written may be a number not judged yet
            self._show(self._showable(complete_words(self.text).lstrip()))
            return
        text, settled = self.settle(self.text)
        settled = min(settled, len(self._showable(text)))
        if settled > len(self.shown) and text.startswith(self.shown):
            self._show(text[:settled])

    def _showable(self, text: str) -> str:
        """``text`` up to what the answer will not keep: a sentence that says an earlier one again
        or a line of the prompt's template, or what may still become either (shown, they flowed
        and the checked answer then ended before them, with no "→" line), and the abstention
        sentence."""
        cuts = [
            cut
            for cut in (first_repeat(text, streaming=True), undecided_template_line(text))
            if cut is not None
        ]
        return self._before_abstention(text[: min(cuts)] if cuts else text)

    def _before_abstention(self, text: str) -> str:
        """``text`` less a last sentence that may be becoming the abstention sentence: an answer
        that ends in it ("… 500 Wh. The documents do not contain the answer.") is an abstention,
        so that sentence must not flow after the words that did."""
        starts = [match.end() for match in _SENTENCE_END.finditer(text)]
        if starts and text[starts[-1] :].strip() and could_be_abstention(text[starts[-1] :], self.language):
            return text[: starts[-1]]
        return text

    def _show(self, text: str) -> None:
        """Send what ``text`` adds to what was shown."""
        if self.on_token is not None and len(text) > len(self.shown):
            self._mark_shown()
            self.on_token(text[len(self.shown) :])
            self.shown = text

    def _mark_shown(self) -> None:
        if self.first_shown is None:
            self.first_shown = time.perf_counter()

    def release(self, answer: str | None = None) -> None:
        """The answer stands: show the rest of it — of ``answer`` (the checked one) when it
        continues what was shown, else of the generated text; when neither does (an invalid
        citation taken out of what flowed), ``answer`` on a line of its own."""
        if self.on_token is None:
            return
        self.flowing = True
        shown = self.shown.rstrip()  # "… [1]. " flowed before a loop; the answer ends at "[1]."
        final = answer if answer is not None and answer.startswith(shown) else self._generated()
        if not final.startswith(shown):  # its rest would be a garbled splice of the two
            self.replace(answer or final)
        elif final.strip():
            self._show(final)

    def _generated(self) -> str:
        """The generated text as far as the answer goes: not its loop or template echo (they
        flowed after an invalid citation, "It is one month [7]. It is 850 euros. It is 850…")."""
        text = self.text.lstrip()
        for end in (template_echo(text), first_repeat(text)):
            text = text if end is None else text[:end].rstrip()
        return text

    def replace(self, text: str) -> None:
        """The answer became ``text`` (the abstention sentence, or an answer that no longer
        continues what flowed): show that instead; after words that already flowed, on a line
        of its own that starts with "→ " (a stream cannot take them back, but it ends with what
        the answer is, marked as such: plain, it read as more of the withdrawn answer)."""
        if self.on_token is None:
            return
        self.flowing = True
        self._mark_shown()
        self.on_token(f"\n{REPLACED}{text}" if self.shown else text)
        self.shown = text


class PassSeparator:
    """Streams the passes of one answer one after the other: a pass that follows one whose
    words flowed before the checks turned it into an abstention starts on a new line instead
    of being glued to them (the final answer is printed or sent again after them)."""

    def __init__(self, on_token: TokenCallback) -> None:
        self.on_token = on_token
        self.shown = False
        self.pending = ""

    def __call__(self, text: str) -> None:
        if text:
            self.on_token(self.pending + text)
            self.pending, self.shown = "", True

    def next_pass(self) -> None:
        if self.shown:  # the next pass's answer replaces the words shown: marked so
            self.pending = f"\n{REPLACED}"


def answer_ended(text: str) -> bool:
    """The generation can stop: the answer became the abstention sentence, started looping, or
    went on with the prompt's template. Run after every token, it reads the answer's start and
    its last sentences only: read whole, an answer ending in 255 lines of spaces took seconds."""
    recent = _recent(text)
    return (
        opens_as_abstention(text, finished=False)
        or says_answer_missing(recent)
        or first_repeat(recent) is not None
        or template_echo(recent, finished=False) is not None
    )


#: how much of its end ``answer_ended`` reads: the sentences the last tokens may have completed,
#: and the ones a loop repeats (a loop of longer sentences is still cut once the answer is done)
_RECENT_CHARS = 1000


def _recent(text: str) -> str:
    """The last sentences of ``text``, whole: a sentence cut at its start could read as one said
    before ("fee is 50 euros." of "The fee is 50 euros.")."""
    if len(text) <= _RECENT_CHARS:
        return text
    tail = text[-_RECENT_CHARS:]
    boundary = _SENTENCE_END.search(tail)
    return tail[boundary.end() :] if boundary else tail
