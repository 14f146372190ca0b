"""The generator interface: chat messages in, streamed tokens (with logprobs) out.

Streaming is the primitive because the CLI and the server show tokens as they come and
because time-to-first-token is a first-class metric; token logprobs ride along because
routing (small model first, big when unsure) needs them.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


@dataclass
class GenerationParams:
    max_tokens: int = 256
    temperature: float = 0.0  # greedy by default: answers must be reproducible
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int = 0
    logprobs: bool = True
    top_logprobs: int = 5  # alternatives per token, for the entropy estimate
    json_schema: dict[str, Any] | None = None  # constrain the output (grammar) when supported
    prefix_messages: int = 0  # leading messages identical in every request: their KV state may be kept


@dataclass
class Token:
    """One generated piece of text; logprob/entropy are None when the backend gives none."""

    text: str
    logprob: float | None = None
    entropy: float | None = None  # over the top alternatives, renormalised


#: what the current thread's request says when asked whether to go on (raises to stop)
_STILL_WANTED: ContextVar[Callable[[], None] | None] = ContextVar("still_wanted", default=None)


@contextlib.contextmanager
def interruptible(check: Callable[[], None]) -> Iterator[None]:
    """Within the block, ``interruption_point`` calls ``check``, which raises to stop the work:
    a server request whose client left, or the server stopping."""
    token = _STILL_WANTED.set(check)
    try:
        yield
    finally:
        _STILL_WANTED.reset(token)


def interruption_point() -> None:
    """Where long work (reading a prompt batch by batch) may stop for its request."""
    check = _STILL_WANTED.get()
    if check is not None:
        check()


_END = object()


def watched(tokens: Iterator[Token], every_s: float = 0.2) -> Iterator[Token]:
    """``tokens`` read on a thread of their own, with an ``interruption_point`` every
    ``every_s`` while none comes, when the work is ``interruptible``: a model server that
    hangs held the server's model thread, and every request queued behind it, until its
    timeout, long after the request had been given up. The reading thread runs in this
    context (its own waits and retries stop too) and closes ``tokens`` once given up."""
    if _STILL_WANTED.get() is None:
        yield from tokens
        return
    queue: SimpleQueue[tuple[Any, BaseException | None]] = SimpleQueue()
    given_up = threading.Event()

    def read() -> None:
        try:
            for token in tokens:
                if given_up.is_set():
                    break
                queue.put((token, None))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            queue.put((None, exc))
            return
        finally:
            tokens.close()  # type: ignore[attr-defined]  # the HTTP response is closed here
        queue.put((_END, None))

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(read,), daemon=True, name="petitrag-read").start()
    try:
        while True:
            try:
                token, error = queue.get(timeout=every_s)
            except Empty:
                interruption_point()
                continue
            if error is not None:
                raise error
            if token is _END:
                return
            interruption_point()  # tokens held back send nothing: a request gone is seen here
            yield token
    finally:
        given_up.set()


#: no tokenizer packs more characters than this into one token (runs of spaces come close):
#: text longer than ``tokens * MAX_CHARS_PER_TOKEN`` is known too long without counting it
MAX_CHARS_PER_TOKEN = 32


@dataclass
class Completion:
    text: str
    tokens: list[Token]
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float = 0.0
    total_s: float = 0.0
    finish_reason: str | None = None
    cached_tokens: int = 0  # of prompt_tokens, those not evaluated (KV reused)

    @property
    def tokens_per_s(self) -> float:
        """Decode speed: tokens after the first, over the time after the first."""
        decode_time = self.total_s - self.ttft_s
        return (
            (self.completion_tokens - 1) / decode_time
            if self.completion_tokens > 1 and decode_time > 0
            else 0.0
        )


@dataclass
class Usage:
    """Filled by a backend at the end of a stream."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    cached_tokens: int = 0  # prompt tokens whose KV was reused instead of evaluated


class Generator(ABC):
    """One loaded model (in-process) or one remote model (HTTP)."""

    #: name shown to users and saved in results, e.g. "qwen2.5-coder-1.5b"
    name: str = ""
    #: context window in tokens
    context_size: int = 4096

    def __init__(self) -> None:
        self.usage = Usage()

    @abstractmethod
    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[Token]:
        """Yield tokens as they are generated; set ``self.usage`` when done."""

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` for this model; default: a 4-characters-per-token estimate."""
        return max(1, (len(text) + 3) // 4)

    def complete(
        self,
        messages: list[Message],
        params: GenerationParams,
        on_token: Callable[[str], None] | None = None,
        until: Callable[[str], bool] | None = None,
    ) -> Completion:
        """Run a whole generation (passing each token's text to ``on_token``), timing it.

        ``until`` sees the text so far after each token; True ends the generation there
        (finish reason "stop"): an answer that has become the abstention sentence need not be
        written to its end before the next pass starts."""
        started = time.perf_counter()
        ttft = 0.0
        tokens: list[Token] = []
        text, ended_early = "", False
        stream = self.stream(messages, params)
        try:
            for token in stream:
                if not tokens:
                    ttft = time.perf_counter() - started
                tokens.append(token)
                text += token.text
                if on_token is not None:
                    on_token(token.text)
                if until is not None and until(text):
                    ended_early = True
                    break
        finally:
            close = getattr(stream, "close", None)  # generators: the backend's cleanup runs now
            if close is not None:  # (KV bookkeeping, the HTTP connection), not when collected
                close()
        total = time.perf_counter() - started
        prompt_tokens = self.usage.prompt_tokens
        if ended_early and not prompt_tokens:  # a stream closed early may not report usage
            prompt_tokens = sum(self.count_tokens(message.get("content", "")) for message in messages)
        return Completion(
            text=text,
            tokens=tokens,
            model=self.name,
            prompt_tokens=prompt_tokens,
            completion_tokens=self.usage.completion_tokens or len(tokens),
            ttft_s=ttft,
            total_s=total,
            finish_reason="stop" if ended_early else self.usage.finish_reason,
            cached_tokens=self.usage.cached_tokens,
        )

    def yes_probability(self, messages: list[Message], yes: str, no: str) -> float | None:
        """P(the reply starts with ``yes``) against ``no``, from the next-token distribution after
        ``messages``; None for backends that do not expose it (the check is then skipped)."""
        return None

    def reply_logprob(
        self, messages: list[Message], reply: str, prefix_messages: int = 0, below: float | None = None
    ) -> float | None:
        """log P(the reply to ``messages`` starts with ``reply``), ``reply`` teacher-forced; None for
        backends that do not expose it. Greedy decoding hides the runner-up: a small model that
        answers a question its sources do not answer often still gives the abstention sentence a
        high probability, which is what this measures.

        ``below``: a caller that only asks whether the value is above this may get, instead, a
        partial sum already under it (an upper bound of the value: each token only lowers it)."""
        return None

    def check_json_schema(self, schema: dict[str, Any]) -> None:  # noqa: B027  (optional hook)
        """Raise GenerationError now if ``schema`` cannot constrain this backend's output, so that
        a caller can refuse it before streaming starts. Backends that hand the schema to a
        server leave the check to it."""

    def close(self) -> None:  # noqa: B027  (optional hook: most backends hold nothing to release)
        """Release the model (memory, connections)."""


def entropy_of(top_logprobs: list[float]) -> float:
    """Shannon entropy (nats) of the renormalised top-k distribution."""
    if not top_logprobs:
        return 0.0
    peak = max(top_logprobs)
    weights = [math.exp(lp - peak) for lp in top_logprobs]
    total = sum(weights)
    return -sum((w / total) * math.log(w / total) for w in weights if w > 0)
