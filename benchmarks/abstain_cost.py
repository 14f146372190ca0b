"""What measuring the abstention's log-probability adds to TTFT: a bench run's first-pass prompts
(passage [1] and the question after the cached rules), answered with and without
``Generator.reply_logprob`` first, alternating, on the same loaded model.

Run: .venv/bin/python benchmarks/abstain_cost.py benchmarks/out/bench-piaf-s8b qwen2.5-coder-1.5b 2 8
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


def main(run_dir: str, model: str, threads: int, limit: int) -> None:
    answerer = replay_answerer(Path(run_dir), model, threads)
    generator = answerer.generator
    plain, measured = [], []
    for item in replayed_cases(Path(run_dir), limit):
        budget = answerer._budget(item.question, item.language)
        context = pack(item.hits[:1], item.question, item.language, budget, generator.count_tokens)
        messages = build_messages(item.question, item.language, context.sources)
        params = GenerationParams(max_tokens=4, prefix_messages=len(messages) - 1)
        for scored in (False, True, False, True):  # each prompt twice each way: only its end is new
            generator.complete(build_messages("?", item.language, ["."]), params)  # evict the prompt
            started = time.perf_counter()
            if scored:
                generator.reply_logprob(messages, ABSTAIN[item.language], len(messages) - 1)
            completion = generator.complete(messages, params)
            ttft = time.perf_counter() - started - (completion.total_s - completion.ttft_s)
            (measured if scored else plain).append(ttft)
    print(
        f"{run_dir}: TTFT p50 {statistics.median(plain):.3f} s without, {statistics.median(measured):.3f} s "
        f"with the measurement ({len(plain)} each); mean difference "
        f"{statistics.fmean(measured) - statistics.fmean(plain):+.3f} s"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
