"""Token bytes to text for streaming: split UTF-8 characters completed, stop strings hidden."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass

from petitrag.generation.base import Token


@dataclass
class HeldPiece:
    text: str
    logprob: float | None
    entropy: float | None


class TextStream:
    """Turns token bytes into Tokens: completes split UTF-8 characters, hides stop strings.

    Text that could be the start of a stop string is held back until it is known not to be;
    a token whose bytes end mid-character is merged with the next (logprobs add up).
    """

    def __init__(self, stops: list[str]) -> None:
        self.stops = [stop for stop in stops if stop]
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.held: list[HeldPiece] = []
        self.carry: tuple[float, float] | None = None  # logprob/entropy of an incomplete character
        self.stopped = False

    def push(self, piece: bytes, logprob: float | None, entropy: float | None) -> Iterator[Token]:
        text = self.decoder.decode(piece)
        if self.carry is not None and logprob is not None:
            logprob += self.carry[0]
            entropy = max(entropy or 0.0, self.carry[1])
            self.carry = None
        if not text:
            if logprob is not None:
                self.carry = (logprob, entropy or 0.0)
            return
        self.held.append(HeldPiece(text, logprob, entropy))
        yield from self._release()

    def _release(self) -> Iterator[Token]:
        joined = "".join(held.text for held in self.held)
        cut = min((index for stop in self.stops if (index := joined.find(stop)) >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            yield from self._emit_up_to(cut)
            return
        overlap = max((_suffix_prefix(joined, stop) for stop in self.stops), default=0)
        safe = len(joined) - overlap
        done = 0
        while self.held and done + len(self.held[0].text) <= safe:
            held = self.held.pop(0)
            done += len(held.text)
            yield Token(held.text, held.logprob, held.entropy)

    def _emit_up_to(self, cut: int) -> Iterator[Token]:
        start = 0
        for held in self.held:
            part = held.text[: max(0, cut - start)]
            if part:
                yield Token(part, held.logprob, held.entropy)
            start += len(held.text)
        self.held = []

    def flush(self) -> Iterator[Token]:
        """At the end: what was held back is answer text after all. The bytes of a character
        cut by the token limit are dropped (decoded, they were a "�" ending the answer)."""
        self.decoder.reset()
        if not self.stopped:
            for held in self.held:
                yield Token(held.text, held.logprob, held.entropy)
        self.held = []


def _suffix_prefix(text: str, stop: str) -> int:
    """Length of the longest end of ``text`` that is a beginning of ``stop``."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0
