"""What measuring the abstention's log-probability adds to TTFT: a bench run's first-pass prompts
(passage [1] and the question after the cached rules), answered without ``Generator.reply_logprob``
first, with it, and with it bounded at ``--below`` (as the gate measures it: a first token already
under the threshold ends the measurement), in turn, on the same loaded model.

Run: .venv/bin/python benchmarks/abstain_cost.py benchmarks/out/bench-piaf-s8b qwen2.5-coder-1.5b 2 8 [-3.5]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from replay import replay_answerer, replayed_cases

from petitrag.answer.packing import pack
from petitrag.answer.prompts import ABSTAIN, build_messages
from petitrag.generation.base import GenerationParams


def main(run_dir: str, model: str, threads: int, limit: int, below: float = -3.5) -> None:
    answerer = replay_answerer(Path(run_dir), model, threads)
    generator = answerer.generator
    ttfts: dict[str, list[float]] = {"none": [], "exact": [], "bounded": []}
    for item in replayed_cases(Path(run_dir), limit):
        budget = answerer._budget(item.question, item.language)
        context = pack(item.hits[:1], item.question, item.language, budget, generator.count_tokens)
        messages = build_messages(item.question, item.language, context.sources)
        params = GenerationParams(max_tokens=4, prefix_messages=len(messages) - 1)
        for way in ("none", "exact", "bounded") * 2:  # each prompt twice each way: only its end is new
            generator.complete(build_messages("?", item.language, ["."]), params)  # evict the prompt
            started = time.perf_counter()
            if way != "none":
                generator.reply_logprob(
                    messages, ABSTAIN[item.language], len(messages) - 1, below if way == "bounded" else None
                )
            completion = generator.complete(messages, params)
            ttfts[way].append(time.perf_counter() - started - (completion.total_s - completion.ttft_s))
    plain = ttfts["none"]
    print(f"{run_dir}: TTFT p50 without the measurement {statistics.median(plain):.3f} s ({len(plain)} runs)")
    for way in ("exact", "bounded"):
        print(f"  {way}: p50 {statistics.median(ttfts[way]):.3f} s, mean difference "
              f"{statistics.fmean(ttfts[way]) - statistics.fmean(plain):+.3f} s")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *map(float, sys.argv[5:6]))
