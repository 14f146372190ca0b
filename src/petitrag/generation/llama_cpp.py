"""In-process GGUF models through llama-cpp-python, with per-token logprobs at no real cost.

Why not ``create_chat_completion(stream=True, logprobs=True)``: in llama-cpp-python 0.3.x
it needs ``logits_all=True`` (a context-size × vocabulary float matrix, 2.5 GB for Qwen at
4096 tokens, and logits computed for every prompt token) and it sorts the whole vocabulary
in Python for every generated token (tens of ms with a 150k vocabulary). Instead we drive
``Llama.generate`` (same sampler chain, same automatic prompt-prefix KV reuse) and read the
logits of the step that produced each token straight from the context, with numpy.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import itertools
import json
import math
import re
import sys
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from petitrag.errors import GenerationError, MissingDependencyError, ModelNotFoundError
from petitrag.generation.base import (
    GenerationParams,
    Generator,
    Message,
    Token,
    Usage,
    entropy_of,
    interruption_point,
)
from petitrag.generation.catalog import is_gguf
from petitrag.generation.grammar_schema import json_grammar, unenforced
from petitrag.generation.prompt_state import (
    MIN_PREFIX_TOKENS,
    common_prefix,
    file_identity,
    has_prefix,
    last_batch_start,
    restore_or_save,
    reusable_length,
    state_key,
)
from petitrag.generation.recent_states import RecentStates, keep_recent_state, reuse_recent_state
from petitrag.generation.text_stream import TextStream
from petitrag.threads import set_openmp_waiting

INSTALL_HINT = "bash scripts/setup.sh (it builds llama-cpp-python for this CPU)"
MAX_GRAMMARS = 16  # compiled JSON-schema grammars kept per generator
#: llama-cpp-python's converter advises a flag petitrag does not have (and never fetches)
_REMOTE_REF_HINT = re.compile(r"\(use --allow-fetch for force\)")


def import_llama_cpp() -> Any:
    set_openmp_waiting()  # a short spin: fast alone, no collapse beside another process
    try:
        import llama_cpp
    except ImportError:
        raise MissingDependencyError("llama-cpp-python (local GGUF models)", INSTALL_HINT) from None
    return llama_cpp


@functools.cache
def build_features() -> tuple[str, ...]:
    """The CPU features this llama.cpp build uses, as it reports them ("AVX512", "AMX_INT8", …)."""
    info = import_llama_cpp().llama_print_system_info().decode(errors="replace")
    return tuple(
        name.strip()
        for entry in info.split("|")
        if "=" in entry
        for name, value in [entry.split(":")[-1].split("=", 1)]
        if value.strip() == "1"
    )


@dataclass
class LoadedModel:
    """A llama.cpp model + context; one generation at a time (the context is not thread-safe)."""

    llama: Any
    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    owner: int | None = None  # thread generating now: lets a same-thread re-entry fail, not hang
    recent: RecentStates | None = None  # recent prompts' KV states (kv_cache_mb), None: not kept
    flash_attn: bool = False  # the KV layout differs with it: saved states are kept apart
    #: the file as loaded (path, size, mtime): names its saved prefix states, and stays valid
    #: when the file is removed or replaced while this process still holds its weights
    file_id: str = ""

    def keep_recent_states(self, megabytes: int) -> None:
        """Give this context a RAM cache of recent KV states of that size (0: none)."""
        if megabytes <= 0:
            self.recent = None
        elif self.recent is None:
            self.recent = RecentStates(megabytes * 2**20)
        else:
            self.recent.capacity_bytes = megabytes * 2**20


_SHARED: dict[tuple[str, int, int, bool], LoadedModel] = {}
_SHARED_LOCK = threading.Lock()
_LOADED: weakref.WeakSet[Any] = weakref.WeakSet()  # every Llama made here, to close at exit


@atexit.register
def _close_at_exit() -> None:
    """Free models while llama_cpp is intact: at interpreter teardown, Llama.__del__ finds
    its module globals gone and prints a TypeError traceback on every exit."""
    for llama in list(_LOADED):
        with contextlib.suppress(Exception):
            llama.close()


def load_model(path: Path, context_size: int, threads: int, flash_attn: bool = False) -> LoadedModel:
    """Load a GGUF file; every failure becomes one GenerationError line, never a crash. Flash
    attention: faster, less reproducible (``Settings.flash_attn``, BENCHMARKS "Session 21")."""
    llama_cpp = import_llama_cpp()
    if not path.is_file():
        raise ModelNotFoundError(f"no model file at {path}")
    if not is_gguf(path):
        raise GenerationError(f"cannot load model {path}: not a valid GGUF file (wrong magic bytes)")
    llama = _new_llama(llama_cpp, path, context_size, threads, flash_attn)
    trained = llama_cpp.llama_model_n_ctx_train(llama.model)
    if 0 < trained < context_size:  # beyond it answers degrade, and its KV cache costs GBs for nothing
        llama.close()
        print(
            f"petitrag: context_size {context_size} is more than {path.name} was trained for: "
            f"using {trained}",
            file=sys.stderr,
            flush=True,
        )
        llama = _new_llama(llama_cpp, path, trained, threads, flash_attn)
    _LOADED.add(llama)
    return LoadedModel(llama, path, flash_attn=flash_attn, file_id=file_identity(path))


def _new_llama(llama_cpp: Any, path: Path, context_size: int, threads: int, flash_attn: bool) -> Any:
    try:
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=context_size,
            n_threads=threads,
            n_threads_batch=threads,
            flash_attn=flash_attn,
            verbose=False,  # llama.cpp's load chatter goes to /dev/null
            seed=0,
        )
    except Exception as exc:  # llama-cpp-python raises ValueError/RuntimeError with a vague text
        if "llama_context" in str(exc):
            raise GenerationError(
                f"cannot make a {context_size}-token context for model {path} (not enough memory?): "
                "lower context_size"
            ) from None
        detail = "" if "Failed to load model" in str(exc) else f": {exc}"
        raise GenerationError(
            f"cannot load model {path}: not a valid GGUF file (corrupt, truncated, "
            f"or an unsupported architecture{detail})"
        ) from None


def shared_model(path: Path, context_size: int, threads: int, flash_attn: bool = False) -> LoadedModel:
    """Load each (file, context, threads, attention) once per process: it costs seconds and RAM."""
    key = (str(path.resolve()), context_size, threads, flash_attn)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = load_model(path, context_size, threads, flash_attn)
        return _SHARED[key]


def release_shared_models() -> None:
    """Forget the loaded models (their memory is freed once no generator uses them)."""
    with _SHARED_LOCK:
        _SHARED.clear()


class LlamaCppGenerator(Generator):
    """A local GGUF chat model; greedy by default, so answers are reproducible."""

    def __init__(
        self,
        model_path: Path | str,
        name: str | None = None,
        context_size: int = 4096,
        threads: int = 2,
        *,
        repeat_penalty: float = 1.0,
        model: LoadedModel | None = None,
        state_dir: Path | None = None,
        kv_cache_mb: int | None = None,
    ) -> None:
        super().__init__()
        self.model_path = Path(model_path)
        self.name = name or self.model_path.stem
        self._model: LoadedModel | None = model or load_model(self.model_path, context_size, threads)
        self.context_size = min(context_size, self._model.llama.n_ctx())  # the model's, when less
        self.threads = threads
        self.repeat_penalty = repeat_penalty
        self.state_dir = state_dir  # where constant-prefix KV states are kept (None: not kept)
        if kv_cache_mb is not None:  # None: as the (shared) model already is
            self._model.keep_recent_states(kv_cache_mb)
        self._llama_cpp = import_llama_cpp()
        self._formatter = _chat_formatter(self._llama_cpp, self._model.llama)
        self._vocab = self._llama_cpp.llama_model_get_vocab(self._model.llama.model)
        self._grammars: dict[str, Any] = {}
        self._grammars_lock = threading.Lock()  # the server checks schemas on other threads

    @property
    def llama(self) -> Any:
        if self._model is None:
            raise GenerationError(f"model {self.name} was closed")
        return self._model.llama

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The chat rendered with the model's own template, as tokens."""
        try:
            rendered = self._formatter(messages=messages)
        except Exception as exc:  # jinja errors, e.g. a template refusing a role order
            raise GenerationError(f"cannot format the chat for {self.name}: {exc}") from None
        text = rendered.prompt.encode("utf-8")
        return self.llama.tokenize(text, add_bos=not rendered.added_special, special=True)

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[Token]:
        self.usage = Usage()
        model = self._model
        if model is None:
            raise GenerationError(f"model {self.name} was closed")
        prompt = self.prompt_tokens(messages)
        room = self.context_size - len(prompt)
        if room <= 0:
            raise GenerationError(
                f"the prompt has {len(prompt)} tokens, more than the {self.context_size}-token context"
            )
        grammar = self._grammar(params.json_schema)
        with self._exclusive(model):
            reuse_recent_state(model.recent, model.llama, self._llama_cpp, prompt)
            self._restore_prefix(messages, prompt, params.prefix_messages)
            model.llama.set_seed(params.seed)  # after: a loaded state brings its own seed
            cached = reusable_length(model.llama, prompt)
            try:
                yield from self._decode(prompt, params, min(params.max_tokens, room), grammar, cached)
            except GeneratorExit:  # the reader stopped early: what was read is still good
                keep_recent_state(model.recent, model.llama, self._llama_cpp)
                raise
            keep_recent_state(model.recent, model.llama, self._llama_cpp)

    def yes_probability(self, messages: list[Message], yes: str, no: str) -> float | None:
        """One prompt evaluation, no decoding: a follow-up to the last answer reuses its KV, so
        only the new turn is processed (~40 tokens)."""
        model = self._model
        if model is None:
            raise GenerationError(f"model {self.name} was closed")
        prompt = self.prompt_tokens(messages)
        if len(prompt) >= self.context_size:
            return None
        yes_id, no_id = (
            self.llama.tokenize(word.encode(), add_bos=False, special=False)[0] for word in (yes, no)
        )
        with self._exclusive(model):
            # another request may have come between the answer and this check (serve)
            reuse_recent_state(model.recent, model.llama, self._llama_cpp, prompt)
            self._read_prompt(prompt)
            logits = self._last_logits()
            margin = float(logits[no_id]) - float(logits[yes_id])
        return 1.0 / (1.0 + math.exp(min(margin, 700.0)))

    def reply_logprob(
        self, messages: list[Message], reply: str, prefix_messages: int = 0, below: float | None = None
    ) -> float | None:
        """The prompt is evaluated as a generation would (reusing the KV of its start), then the
        reply's tokens in one batch with logits at every position: a 12-token sentence costs about
        as much as 12 prompt tokens. The reply's KV is dropped again, so a generation from the same
        prompt next re-reads only the prompt's last token. With ``below``, a first token already
        under it skips that batch: an answer rarely starts like the abstention sentence."""
        model = self._model
        if model is None:
            raise GenerationError(f"model {self.name} was closed")
        llama = self.llama
        prompt = self.prompt_tokens(messages)
        forced = llama.tokenize(reply.encode("utf-8"), add_bos=False, special=False)
        if not forced or len(forced) > llama.n_batch or len(prompt) + len(forced) >= self.context_size:
            return None
        with self._exclusive(model):
            reuse_recent_state(model.recent, model.llama, self._llama_cpp, prompt)
            self._restore_prefix(messages, prompt, prefix_messages)
            try:
                self._read_prompt(prompt)
                total = _token_logprob(self._last_logits(), forced[0])
                if below is not None and total < below:
                    forced = forced[:1]  # the bound is enough; the KV holds only the prompt
                if len(forced) > 1:
                    rows = self._evaluate_all(forced[:-1])
                    total += sum(
                        _token_logprob(row, token) for row, token in zip(rows, forced[1:], strict=True)
                    )
            except (RuntimeError, ValueError) as exc:  # llama_decode failed (e.g. out of memory)
                llama.n_tokens = 0  # the KV may be half-written: the next prompt is read afresh
                raise GenerationError(f"{self.name} failed while scoring a reply: {exc}") from None
            if len(forced) > 1:
                # the context's logits are now the reply's: a generation from this very prompt
                # would sample from them (llama-cpp-python's exact-cache shortcut), so make it
                # re-read the prompt's last token
                llama.n_tokens = len(prompt) - 1
        self.usage = Usage(prompt_tokens=len(prompt), finish_reason="stop")
        return float(total)

    def _read_prompt(self, prompt: list[int]) -> None:
        """Evaluate ``prompt`` as a generation does (reusing the KV of its start, batch by batch:
        read whole, it held the server's model 35 s past a timeout), without decoding."""
        self._prefill(prompt)
        steps = self.llama.generate(prompt, temp=0.0)
        try:
            next(steps)  # the prompt is evaluated before the first token is sampled and yielded
        finally:
            steps.close()

    def _evaluate_all(self, tokens: list[int]) -> list[np.ndarray]:
        """Logits at every position of ``tokens``, evaluated after the current KV without being
        recorded in it (``n_tokens`` stays, so the next evaluation overwrites them)."""
        llama, lib = self.llama, self._llama_cpp
        llama._ctx.kv_cache_seq_rm(-1, llama.n_tokens, -1)
        llama._batch.set_batch(batch=tokens, n_past=llama.n_tokens, logits_all=True)
        llama._ctx.decode(llama._batch)
        n_vocab = llama.n_vocab()
        return [
            np.ctypeslib.as_array(lib.llama_get_logits_ith(llama.ctx, index), shape=(n_vocab,)).copy()
            for index in range(len(tokens))
        ]

    @contextlib.contextmanager
    def _exclusive(self, model: LoadedModel) -> Iterator[None]:
        """One evaluation at a time per loaded model: other threads wait their turn; the same
        thread re-entering (a generation it has not finished) would deadlock, so it is an error."""
        if model.owner == threading.get_ident():
            raise GenerationError(f"{self.name} is still busy with an unfinished generation in this thread")
        with model.lock:
            model.owner = threading.get_ident()
            try:
                yield
            finally:
                model.owner = None

    def _restore_prefix(self, messages: list[Message], prompt: list[int], constant: int) -> None:
        """Start from the saved KV state of the constant messages when this process lacks it."""
        if not constant or self.state_dir is None:
            return
        prefix = common_prefix(prompt, self.prompt_tokens(messages[:constant]))[:-1]
        if len(prefix) < MIN_PREFIX_TOKENS or has_prefix(self.llama, prefix):
            return
        key = state_key(self._model.file_id, self.context_size, prefix, self._model.flash_attn)
        path = self.state_dir / f"{key}.npz"
        restore_or_save(self.llama, self._llama_cpp, prefix, path)

    def _decode(
        self, prompt: list[int], params: GenerationParams, budget: int, grammar: Any, cached: int = 0
    ) -> Iterator[Token]:
        """Sample token by token; text pieces go through stop-string and UTF-8 holdback."""
        llama = self.llama
        text_out = TextStream(params.stop)
        self.usage = Usage(prompt_tokens=len(prompt), finish_reason="length", cached_tokens=cached)
        if budget <= 0:
            return
        self._prefill(prompt)
        tokens = llama.generate(
            prompt,
            temp=params.temperature,
            top_p=params.top_p,
            top_k=40,
            min_p=0.05,
            repeat_penalty=self.repeat_penalty,
            grammar=grammar,
        )
        try:
            for token_id in tokens:
                interruption_point()  # held-back answers send nothing: a request gone is seen here
                if self._llama_cpp.llama_vocab_is_eog(self._vocab, token_id):
                    self.usage.finish_reason = "stop"
                    break
                self.usage.completion_tokens += 1
                logprob, entropy = self._logprob(token_id, params) if params.logprobs else (None, None)
                yield from text_out.push(llama.detokenize([token_id]), logprob, entropy)
                if text_out.stopped:
                    self.usage.finish_reason = "stop"
                    break
                if self.usage.completion_tokens >= budget:
                    break
        except ValueError as exc:  # e.g. the context filled up mid-answer
            raise GenerationError(f"{self.name} failed while generating: {exc}") from None
        finally:
            tokens.close()
        yield from text_out.flush()

    def _prefill(self, prompt: list[int]) -> None:
        """Read the prompt's new tokens batch by batch, at an ``interruption_point`` before each
        (read whole, a long prompt held the model for its whole length after its client left or
        Stop was pressed, and past the server's stop signal), all but the last batch, which
        ``generate`` reads, finding the rest held: it starts at ``last_batch_start`` whatever
        was held, so the same prompt gives the same logits, to the bit."""
        llama = self.llama
        cached, last = reusable_length(llama, prompt), last_batch_start(prompt)
        llama.n_tokens = cached
        starts = [*range(cached, last, llama.n_batch), last]
        for start, end in itertools.pairwise(starts):
            interruption_point()
            llama.eval(prompt[start:end])

    def _logprob(self, token_id: int, params: GenerationParams) -> tuple[float, float | None]:
        """Log-probability of the sampled token and entropy of the top-k, from the raw logits."""
        logits = self._last_logits()
        n_vocab = logits.shape[0]
        log_norm = _log_norm(logits)
        logprob = float(logits[token_id]) - log_norm
        k = min(params.top_logprobs, n_vocab)
        if k <= 0:
            return logprob, None
        top = logits[np.argpartition(logits, -k)[-k:]].astype(np.float64) - log_norm
        return logprob, entropy_of(top.tolist())

    def _last_logits(self) -> np.ndarray:
        """The logits of the last evaluated position, read in place from the llama.cpp context."""
        pointer = self._llama_cpp.llama_get_logits_ith(self.llama.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.llama.n_vocab(),))

    def check_json_schema(self, schema: dict[str, Any]) -> None:
        """Compiled, and every keyword enforced: the grammar ignores numeric bounds and a few
        more, so the output could break the schema (extraction validates after, and retries)."""
        self._grammar(schema)
        left_out = unenforced(schema)
        if left_out:
            raise GenerationError(
                f"the JSON schema has keywords constrained generation cannot enforce: {'; '.join(left_out)}; "
                "remove them and check those values yourself"
            )

    def _grammar(self, schema: dict[str, Any] | None) -> Any:
        """The compiled grammar for ``schema``, kept for the next request with the same schema
        (extraction retries, a client repeating its ``response_format``); only the last few are
        kept, since each client may send its own."""
        if schema is None:
            return None
        key = json.dumps(schema, sort_keys=True)
        with self._grammars_lock:
            if key in self._grammars:
                self._grammars[key] = self._grammars.pop(key)  # most recently used last
                return self._grammars[key]
        try:
            grammar = self._llama_cpp.LlamaGrammar.from_string(json_grammar(schema), verbose=False)
        except Exception as exc:
            reason = _REMOTE_REF_HINT.sub(
                "(remote $ref is not supported: put the schema it names inline)", str(exc)
            )
            raise GenerationError(f"unsupported JSON schema for constrained generation: {reason}") from None
        with self._grammars_lock:
            self._grammars[key] = grammar
            while len(self._grammars) > MAX_GRAMMARS:
                del self._grammars[next(iter(self._grammars))]
        return grammar

    def close(self) -> None:
        """Drop this generator's reference; a shared model stays loaded for the process."""
        self._model = None


def _chat_formatter(llama_cpp: Any, llama: Any) -> Any:
    """The model's own chat template (GGUF metadata), ChatML when it has none."""
    chat_format = llama_cpp.llama_chat_format
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return chat_format.format_chatml

    def token_text(token_id: int) -> str:
        return llama.detokenize([token_id], special=True).decode("utf-8", "replace") if token_id >= 0 else ""

    return chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
    )


def _log_norm(logits: np.ndarray) -> float:
    """log Σ exp(logits), computed stably: a logit minus it is that token's log-probability."""
    peak = float(logits.max())
    return peak + float(np.log(np.exp(logits - peak).sum(dtype=np.float64)))


def _token_logprob(logits: np.ndarray, token_id: int) -> float:
    return float(logits[token_id]) - _log_norm(logits)
