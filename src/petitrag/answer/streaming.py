"""Streaming an answer that may still turn into an abstention.

Tokens reach the terminal or the API as they come, but an answer that the checks will
replace by the abstention sentence must not flow first: ``HeldAnswer`` holds text back
until it is sure to stand.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from petitrag.answer.prompts import could_be_abstention
from petitrag.language import Language

TokenCallback = Callable[[str], None]


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

    def __call__(self, text: str) -> None:
        if self.on_token is None:
            return
        self.text += text
        if not self.flowing:
            held = self.text
            if could_be_abstention(held, self.language) or not self.stands(re.sub(r"\w+$", "", held)):
                return  # judged on complete words only
            self.flowing = True
        self._show_settled()

    def _show_settled(self) -> None:
        if self.settle is None:
            self._show(self.text.lstrip())
            return
        text, settled = self.settle(self.text)
        if settled > len(self.shown) and text.startswith(self.shown):
            self._show(text[:settled])

    def _show(self, text: str) -> None:
        """Send what ``text`` adds to what was shown."""
        if self.on_token is not None and len(text) > len(self.shown):
            self.on_token(text[len(self.shown) :])
            self.shown = text

    def release(self, answer: str | None = None) -> None:
        """The answer stands: show the rest of it — of ``answer`` (the checked one) when it
        continues what was shown, else of the generated text."""
        if self.on_token is None:
            return
        self.flowing = True
        final = answer if answer is not None and answer.startswith(self.shown) else self.text.lstrip()
        if final.strip():
            self._show(final)

    def replace(self, text: str) -> None:
        """The answer became ``text`` (the abstention sentence): show that instead, unless
        part of the answer already flowed."""
        if self.on_token is not None and not self.flowing:
            self.flowing = True
            self.on_token(text)
