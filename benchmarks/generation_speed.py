"""Generation speed per local model: petitrag's generator vs raw llama-cpp-python, one process.

For each model (loaded once through ``petitrag.generation.create_generator``):
- load s: create_generator wall time (resolve + llama.cpp load; weights are mmapped);
- TTFT cold: the first query, KV cache empty (includes first touch of the weights);
- TTFT warm p50/p95 over --repeats queries: same system prompt, new sources + question each time
  (5 consecutive PIAF contexts in French, SQuAD2 in English for English-only models);
- decode tok/s: tokens after the first / time after the first, pooled over the warm queries, for
  ``Generator.complete`` (logprobs on, as in ``petitrag ask``) and for raw ``Llama.create_completion
  (stream=True)`` on the SAME loaded Llama (same weights, threads, sampler: greedy) fed the same
  prompt tokens (petitrag's chat-template rendering) with max_tokens = the tokens petitrag generated,
  so both decode the same tokens; overhead % = (raw - ours) / raw * 100;
- e2e p50/p95: wall time of ``Generator.complete`` for a whole answer (<= --max-tokens tokens);
- peak RSS MB: ru_maxrss after the model (process-wide peak so far: list models small to big).
The question asks for a detailed, point-by-point answer and the prompt has the rules but not the worked
examples (which teach few-token answers), so answers are usually not cut by EOS early.

Run: .venv/bin/python benchmarks/generation_speed.py \
  --models smollm2-135m,qwen2.5-coder-0.5b,qwen2.5-coder-1.5b --threads 2 --repeats 5 --max-tokens 64 \
  --model-path qwen2.5-coder-0.5b=/tmp/models/qwen05.gguf \
  --model-path qwen2.5-coder-1.5b=/tmp/models/qwen15.gguf
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from petitrag.answer.prompts import SYSTEM, user_message
from petitrag.config import load_settings
from petitrag.generation import create_generator
from petitrag.generation.base import GenerationParams
from petitrag.generation.catalog import CATALOG, resolve_model
from petitrag.generation.llama_cpp import import_llama_cpp, release_shared_models

DATASETS = {"fr": "piaf-fr-dev.json", "en": "squad2-en-dev.json"}
DETAIL = {
    "fr": "Ensuite, énumère en détail, point par point, tout ce que disent les sources, en les citant.",
    "en": "Then list in detail, point by point, everything the sources say, citing each point.",
}


def prompts(data_dir: Path, language: str, count: int, per_prompt: int = 5) -> list[list[dict[str, str]]]:
    """``count`` RAG prompts, each with its own 5 consecutive contexts and one of their questions."""
    data = json.loads((data_dir / DATASETS[language]).read_text(encoding="utf-8"))["data"]
    paragraphs = [paragraph for article in data for paragraph in article["paragraphs"]]
    out = []
    for index in range(count):
        group = [paragraphs[(index * per_prompt + k) % len(paragraphs)] for k in range(per_prompt)]
        question = f"{group[0]['qas'][0]['question']} {DETAIL[language]}"
        sources = [p["context"] for p in group]
        # the rules without the worked examples: those teach answers of a few tokens, too few to
        # measure a decode speed on
        out.append([{"role": "system", "content": SYSTEM[language]},
                    {"role": "user", "content": user_message(question, language, sources)}])  # fmt: skip
    return out


def raw_decode(llama: Any, prompt: list[int], max_tokens: int) -> dict[str, Any]:
    """Raw llama-cpp-python streaming completion on prompt tokens: first-token time, decode speed."""
    started = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    finish = None
    stream = llama.create_completion(
        prompt, max_tokens=max_tokens, temperature=0.0, top_p=1.0, top_k=40, min_p=0.05,
        repeat_penalty=1.0, stop=[], stream=True,
    )  # fmt: skip
    for chunk in stream:
        choice = chunk["choices"][0]
        if choice["text"] and not first:
            first = time.perf_counter() - started
        pieces.append(choice["text"])
        finish = choice.get("finish_reason") or finish
    total = time.perf_counter() - started
    # stopped by length: exactly max_tokens; by EOS: every generated token was evaluated
    tokens = max_tokens if finish == "length" else llama.n_tokens - len(prompt)
    decode = total - first
    tps = (tokens - 1) / decode if tokens > 1 and decode > 0 else 0.0
    return {"ttft_s": first, "total_s": total, "tokens": tokens, "tokens_per_s": tps, "text": "".join(pieces)}


def quantiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (nearest rank), fine for a handful of repeats."""
    ordered = sorted(values)
    if not ordered:
        return 0.0, 0.0
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def pooled_tps(runs: list[dict[str, Any]]) -> float:
    tokens = sum(max(0, run["tokens"] - 1) for run in runs)
    seconds = sum(run["total_s"] - run["ttft_s"] for run in runs if run["tokens"] > 1)
    return tokens / seconds if seconds > 0 else 0.0


def bench_model(name: str, path: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    model = str(path) if path else name
    settings = load_settings(home=args.home, model=model, threads=args.threads, context_size=4096)
    gguf = resolve_model(settings, model)
    entry = CATALOG.get(name)
    language = (
        args.language
        if args.language != "auto"
        else ("en" if entry and "fr" not in entry.languages else "fr")
    )
    chats = prompts(args.data_dir, language, args.repeats + 1)
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)

    started = time.perf_counter()
    generator = create_generator(settings)
    load_s = time.perf_counter() - started
    llama = generator.llama  # the shared Llama petitrag loaded: the raw path runs on it too

    cold = generator.complete(chats[0], params)
    ours: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    for chat in chats[1:]:
        # petitrag first: its KV cache holds the previous query, so only the system prompt is reused
        done = generator.complete(chat, params)
        ours.append({
            "ttft_s": done.ttft_s, "total_s": done.total_s, "tokens": done.completion_tokens,
            "tokens_per_s": done.tokens_per_s, "prompt_tokens": done.prompt_tokens,
            "finish_reason": done.finish_reason, "text": done.text,
        })  # fmt: skip
        # raw on the same prompt tokens and token count (its TTFT is a full-prefix cache hit: not reported)
        tokens = generator.prompt_tokens(chat)
        run = raw_decode(llama, tokens, max(1, done.completion_tokens))
        run["same_text"] = run.pop("text") == done.text
        raw.append(run)

    ttft_p50, ttft_p95 = quantiles([run["ttft_s"] for run in ours])
    e2e_p50, e2e_p95 = quantiles([run["total_s"] for run in ours])
    ours_tps, raw_tps = pooled_tps(ours), pooled_tps(raw)
    result = {
        "model": name, "path": str(gguf), "language": language, "threads": args.threads,
        "loaded": str(generator.model_path),  # a copy made for this CPU (requantize) or the file itself
        "load_s": load_s, "ttft_cold_s": cold.ttft_s, "cold_prompt_tokens": cold.prompt_tokens,
        "ttft_warm_p50_s": ttft_p50, "ttft_warm_p95_s": ttft_p95,
        "decode_tps_petitrag": ours_tps, "decode_tps_raw": raw_tps,
        "raw_same_text": all(run["same_text"] for run in raw),
        "overhead_pct": (raw_tps - ours_tps) / raw_tps * 100 if raw_tps else None,
        "e2e_p50_s": e2e_p50, "e2e_p95_s": e2e_p95,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "petitrag_runs": ours, "raw_runs": raw,
    }  # fmt: skip

    generator.close()
    del generator, llama
    release_shared_models()
    gc.collect()
    return result


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| model | load s | TTFT cold s | TTFT warm p50 / p95 s | decode tok/s petitrag | decode tok/s raw "
        "| overhead % | e2e p50 / p95 s | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['model']} | error: {r['error']} |||||||| ")
            continue
        overhead = "n/a" if r["overhead_pct"] is None else f"{r['overhead_pct']:+.1f}"
        lines.append(
            f"| {r['model']} | {r['load_s']:.2f} | {r['ttft_cold_s']:.2f} "
            f"| {r['ttft_warm_p50_s']:.2f} / {r['ttft_warm_p95_s']:.2f} "
            f"| {r['decode_tps_petitrag']:.1f} | {r['decode_tps_raw']:.1f} | {overhead} "
            f"| {r['e2e_p50_s']:.2f} / {r['e2e_p95_s']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="smollm2-135m,qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="Warm queries per model (after the cold one).")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/speed-home"))
    parser.add_argument("--model-path", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--language", choices=["auto", "fr", "en"], default="auto")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/generation_speed.json"))
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    overrides = dict(item.split("=", 1) for item in args.model_path)
    llama_cpp = import_llama_cpp()  # sets GOMP_SPINCOUNT before libgomp loads, as petitrag does

    results = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        path = Path(overrides[name]).expanduser() if name in overrides else None
        print(f"# {name} ...", flush=True)
        try:
            results.append(bench_model(name, path, args))
        except Exception as exc:  # a missing model must not lose the others' numbers
            results.append({"model": name, "error": f"{type(exc).__name__}: {exc}"})
            release_shared_models()
            gc.collect()
    report = {
        "benchmark": "generation_speed",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.processor() or platform.machine(),
        "llama_cpp_python": llama_cpp.__version__,
        "args": {key: str(value) for key, value in vars(args).items()},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(table(results))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
