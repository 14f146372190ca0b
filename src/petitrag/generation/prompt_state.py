"""The constant prompt prefix's KV state, kept on disk so a new process does not recompute it.

Every grounded prompt starts with the same rules and worked examples (hundreds of
tokens). Within one process llama.cpp reuses their KV cache from one request to the next;
a one-shot `petitrag ask` is a new process and would pay for them every time (~8 s for
the 1.5B model on 2 cores). So the state after the prefix is saved once per (model file,
context size, prefix tokens) and loaded in milliseconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MIN_PREFIX_TOKENS = 32  # below this, recomputing is cheaper than a file read
#: saved states kept per folder, the most recently used: one per (model file, context size,
#: prompt variant) in use; others belong to replaced models, older prompts, other settings
#: (10-20 MB each for the catalog's models)
KEPT_STATES = 12


def shared_length(first: Sequence[int] | np.ndarray, second: Sequence[int] | np.ndarray) -> int:
    """How many leading tokens the two sequences have in common."""
    a, b = np.asarray(first), np.asarray(second)
    size = min(len(a), len(b))
    differ = np.flatnonzero(a[:size] != b[:size])
    return int(differ[0]) if differ.size else size


def common_prefix(first: list[int], second: list[int]) -> list[int]:
    return first[: shared_length(first, second)]


def held_length(llama: Any, prompt: Sequence[int]) -> int:
    """How much of ``prompt``'s start the context holds now (its KV can be reused)."""
    return shared_length(llama.input_ids[: llama.n_tokens], prompt)


#: a prompt's last tokens are read together every time, from a multiple of this: the same
#: request again found all but its last token held and read that one alone, whose logits then
#: differ from the same token read with its neighbours (temperature 0 answered "Smallassy",
#: then emojis); re-reading at most this many tokens makes a repeat read the same last batch
LAST_BATCH_ALIGN = 32


def last_batch_start(prompt: Sequence[int]) -> int:
    """Where the batch holding ``prompt``'s last token starts, whatever the KV holds."""
    return (len(prompt) - 1) // LAST_BATCH_ALIGN * LAST_BATCH_ALIGN


def reusable_length(llama: Any, prompt: Sequence[int]) -> int:
    """How many of ``prompt``'s first tokens a generation takes from the KV it holds: never
    its last batch (``last_batch_start``)."""
    return min(held_length(llama, prompt), last_batch_start(prompt))


def file_identity(model_path: Path) -> str:
    """The model file as it is now: its real path, size and modification time."""
    stat = model_path.stat()
    return f"{model_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def state_key(file_id: str, context_size: int, prefix: list[int], flash_attn: bool = False) -> str:
    """Changes with the model file (``file_identity`` when loaded), the context size, the KV
    layout (flash attention stores V untransposed) and the exact prefix tokens."""
    layout = "|flash" if flash_attn else ""
    digest = hashlib.sha256(f"{file_id}|{context_size}{layout}|".encode())
    digest.update(np.asarray(prefix, dtype=np.int32).tobytes())
    return digest.hexdigest()[:32]


def has_prefix(llama: Any, prefix: list[int]) -> bool:
    """The context already holds this prefix (an earlier request of this process)."""
    return held_length(llama, prefix) == len(prefix)


def restore_or_save(llama: Any, llama_cpp: Any, prefix: list[int], path: Path) -> None:
    """Load the saved prefix state, or compute and save it (the caller checked that the
    context does not already hold the prefix: ``has_prefix``).

    A missing, stale or unreadable file is never an error: the prefix is then computed,
    as it would have been without the cache.
    """
    if path.exists() and _load(llama, llama_cpp, prefix, path):
        return
    llama.reset()
    llama.eval(prefix)
    _save(llama, llama_cpp, path)


def _load(llama: Any, llama_cpp: Any, prefix: list[int], path: Path) -> bool:
    try:
        with np.load(path) as saved:
            input_ids = saved["input_ids"]
            state = saved["state"]
        if input_ids.tolist() != prefix:
            return False
        load_state(llama, llama_cpp, input_ids, state)
        os.utime(path)  # recently used: kept when the folder is pruned
        return True
    except Exception:  # corrupt or from another llama.cpp build: recompute
        with contextlib.suppress(OSError):
            path.unlink()
        llama.reset()
        return False


def load_state(llama: Any, llama_cpp: Any, tokens: np.ndarray, state: bytes | np.ndarray) -> None:
    """Put a saved KV state (of ``tokens``) back into the context, without copying it first.

    Not ``Llama.load_state``: it writes into every row of llama-cpp-python's score matrix
    (n_batch × vocabulary floats, ~300 MB for Qwen, otherwise never touched beyond a row), which
    made that memory resident: +300 MB of RSS for a one-shot ``ask``.
    """
    data = np.frombuffer(state, dtype=np.uint8) if isinstance(state, bytes) else state
    llama.reset()  # n_tokens = 0, and the next generation must decode before it samples
    pointer = data.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    if int(llama_cpp.llama_state_set_data(llama.ctx, pointer, data.nbytes)) != data.nbytes:
        raise RuntimeError("llama.cpp refused the saved state")
    llama.input_ids[: len(tokens)] = tokens
    llama.n_tokens = len(tokens)


def read_state(llama: Any, llama_cpp: Any) -> np.ndarray:
    """The context's KV state, as bytes (what ``load_state`` takes back)."""
    # llama.save_state() would also copy the logits buffer (hundreds of MB): read the KV state only.
    size = llama_cpp.llama_state_get_size(llama.ctx)
    buffer = (ctypes.c_uint8 * int(size))()
    written = int(llama_cpp.llama_state_get_data(llama.ctx, buffer, size))
    return np.frombuffer(buffer, dtype=np.uint8, count=written)


def _save(llama: Any, llama_cpp: Any, path: Path) -> None:
    """Atomic write; a failure (read-only disk, full disk) only costs the next process time."""
    state = read_state(llama, llama_cpp)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        tokens = np.asarray(llama.input_ids[: llama.n_tokens], dtype=np.int32)
        np.savez(partial, input_ids=tokens, state=state)
        partial.replace(path)
        prune(path.parent)


def prune(folder: Path, keep: int = KEPT_STATES) -> None:
    """Delete all but the ``keep`` most recently used states: the folder would otherwise grow
    by one file per model version, prompt change and context size, for ever."""
    states = []
    for candidate in folder.glob("*.npz"):
        if ".tmp." in candidate.name:  # another process is writing it
            continue
        with contextlib.suppress(OSError):
            states.append((candidate.stat().st_mtime_ns, candidate))
    for _, stale in sorted(states, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            stale.unlink()
