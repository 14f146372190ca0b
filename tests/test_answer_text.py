"""What the answer's text checks make of a reply: where it ends, whether it abstains, how it is
trimmed and streamed. Replies are scripted (``tests.test_answer_pipeline``), the checks are real."""

from __future__ import annotations

import time

from petitrag.answer.streaming import answer_ended
from petitrag.answer.trim import template_echo


def test_an_answer_ending_in_blank_lines_is_read_in_linear_time() -> None:
    """A model that ends its answer with newline tokens until its token limit: "\\n\\s*" was tried
    at every line break, and the whole text read after every token (31 s of CPU for 255 tokens of
    8 newlines)."""
    started = time.monotonic()
    echoed = "850 euros [1]." + "\n" * 10_000 + "Question :"
    assert echoed[: template_echo(echoed)].rstrip() == "850 euros [1]."
    text = "850 euros [1]."
    for _ in range(255):
        text += "  \n \n\n\n\n\n\n\n"
        assert not answer_ended(text)
    assert answer_ended(text + "Question :")
    assert time.monotonic() - started < 1
