"""Recent prompts' KV states, kept in RAM: a prompt that starts like a recent one only
evaluates what differs.

A grounded prompt is the rules and worked examples (constant: ``prompt_state`` keeps them
on disk), then passage [1], then the question. llama.cpp holds the KV of one prompt at a
time, the last one read. So a chat follow-up whose top passage is the last answer's top
passage paid for that passage again, because rewriting the follow-up into a standalone
question read another prompt in between; and two people asking `serve` about the same
document overwrote each other's KV. A passage is ~200 tokens: ~2 s of prompt evaluation
for the 1.5B model on 2 cores, against milliseconds to load its saved state back (vLLM and
llama-server call this prefix caching).

Each entry is one context's KV after a generation (~28 KiB per token for the 1.5B model:
~25 MB for a best-first prompt and its answer); the least recently used go first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from petitrag.generation.prompt_state import held_length, load_state, read_state, shared_length

MIN_GAIN_TOKENS = 32  # a shorter gain than this is cheaper to evaluate than to load


@dataclass(eq=False)  # compared by identity: numpy arrays have no single truth value
class SavedState:
    tokens: np.ndarray  # int32: what the context had read
    state: np.ndarray  # uint8: llama.cpp's state data for them


class RecentStates:
    """An LRU of saved context states, bounded in bytes; not thread-safe (its model's lock
    guards it, as it guards the context)."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._entries: list[SavedState] = []  # least recently used first

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return sum(entry.state.nbytes + entry.tokens.nbytes for entry in self._entries)

    def longest_match(self, prompt: Sequence[int]) -> tuple[SavedState | None, int]:
        """The entry sharing the longest start with ``prompt``, and that length."""
        best, best_length = None, 0
        for entry in self._entries:
            length = shared_length(entry.tokens, prompt)
            if length > best_length:
                best, best_length = entry, length
        if best is not None:
            self._entries.remove(best)
            self._entries.append(best)  # used now
        return best, best_length

    def add(self, tokens: Sequence[int], state: np.ndarray) -> None:
        """Keep a state; entries whose tokens it starts with are dropped (it serves them too)."""
        saved = SavedState(np.asarray(tokens, dtype=np.int32).copy(), state)
        if saved.state.nbytes + saved.tokens.nbytes > self.capacity_bytes:
            return
        self._entries = [
            entry for entry in self._entries if shared_length(entry.tokens, saved.tokens) < len(entry.tokens)
        ]
        self._entries.append(saved)
        while self.size_bytes > self.capacity_bytes:
            self._entries.pop(0)

    def discard(self, entry: SavedState) -> None:
        if entry in self._entries:
            self._entries.remove(entry)


def reuse_recent_state(recent: RecentStates | None, llama: Any, llama_cpp: Any, prompt: list[int]) -> None:
    """Load the recent state that shares the most of ``prompt``'s start into the context, when
    it shares clearly more than the context holds now."""
    if recent is None:
        return
    held = held_length(llama, prompt)
    entry, length = recent.longest_match(prompt)
    if entry is None or length < held + MIN_GAIN_TOKENS:
        return
    try:
        load_state(llama, llama_cpp, entry.tokens, entry.state)
    except Exception:  # never an error: the prompt is then read in full
        recent.discard(entry)
        llama.reset()


def keep_recent_state(recent: RecentStates | None, llama: Any, llama_cpp: Any) -> None:
    """Save what the context has read (after a generation) for a later prompt to start from."""
    if recent is not None and llama.n_tokens >= MIN_GAIN_TOKENS:
        recent.add(llama.input_ids[: llama.n_tokens], read_state(llama, llama_cpp))
