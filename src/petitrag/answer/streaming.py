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
    is never shown, because all passages are read next and only that answer is.
    """

    def __init__(
        self, on_token: TokenCallback | None, language: Language, stands: Callable[[str], bool]
    ) -> None:
        self.on_token = on_token
        self.language = language
        self.stands = stands
        self.held = ""
        self.flowing = False

    def __call__(self, text: str) -> None:
        if self.on_token is None:
            return
        if self.flowing:
            self.on_token(text)
            return
        self.held += text
        if not could_be_abstention(self.held, self.language) and self.stands(re.sub(r"\w+$", "", self.held)):
            self.release()  # judged on complete words only

    def release(self) -> None:
        """The answer stands: show what was held back."""
        if self.on_token is not None and not self.flowing:
            self.flowing = True
            if self.held.strip():
                self.on_token(self.held.lstrip())

    def replace(self, text: str) -> None:
        """The answer became ``text`` (the abstention sentence): show that instead, unless
        part of the answer already flowed."""
        if self.on_token is not None and not self.flowing:
            self.flowing = True
            self.on_token(text)
