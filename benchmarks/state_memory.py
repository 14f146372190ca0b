"""Benchmark: resident memory of a warm process whose prompts keep replacing each other.

Ten PIAF paragraphs, two questions each, every answer followed by an unrelated prompt (as a
chat rewrite or a self-check would be): the second question on a paragraph then finds its
passage in the RAM cache of recent KV states, not in the context. Prints RSS, peak RSS, the
cache's entries and size, and the TTFT of the second question, after each paragraph.

    .venv/bin/python benchmarks/state_memory.py MODEL.gguf [--kv-cache-mb 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path

from petitrag.answer.prompts import build_messages
from petitrag.generation.base import GenerationParams
from petitrag.generation.llama_cpp import LlamaCppGenerator, load_model

PIAF = Path(__file__).resolve().parents[2] / "shared" / "data" / "piaf-fr-dev.json"


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--kv-cache-mb", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dataset", type=Path, default=PIAF)
    args = parser.parse_args()
    model = load_model(args.model, 4096, args.threads)
    generator = LlamaCppGenerator(args.model, args.model.stem, 4096, args.threads, model=model,
                                  kv_cache_mb=args.kv_cache_mb)  # fmt: skip
    articles = json.loads(args.dataset.read_text(encoding="utf-8"))["data"]
    paragraphs = [paragraph["context"] for article in articles for paragraph in article["paragraphs"]][:10]
    other = [{"role": "user", "content": "Dis bonjour."}]
    print(f"kv_cache_mb {args.kv_cache_mb}; RSS before any prompt {rss_mb():.0f} MB")
    for index, paragraph in enumerate(paragraphs):
        for question in ("De quoi parle ce texte ?", "Quel est le sujet ?"):
            messages = build_messages(question, "fr", [paragraph])
            completion = generator.complete(
                messages, GenerationParams(max_tokens=2, prefix_messages=len(messages) - 1)
            )
            generator.complete(other, GenerationParams(max_tokens=2))
        recent = model.recent
        cache = f"{len(recent)} entries, {recent.size_bytes / 2**20:.0f} MB" if recent else "off"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ttft = completion.ttft_s
        print(f"{index}: RSS {rss_mb():.0f} MB, peak {peak:.0f} MB, cache {cache}, TTFT {ttft:.2f} s")


if __name__ == "__main__":
    main()
