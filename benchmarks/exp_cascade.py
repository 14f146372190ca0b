"""Experiment: answer from each of the top passages alone and self-check each answer, so that
cascade policies ("read passage [2] when the check of [1] fails", "keep the best-checked answer")
can be replayed offline against best-first reading.

    python benchmarks/exp_cascade.py RUN_DIR MODEL OUT.jsonl THREADS LIMIT RANKS
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from replay import replay_answerer, replayed_cases, scored


def main(run_dir: str, model: str, out_path: str, threads: int, limit: int, ranks: int) -> None:
    answerer = replay_answerer(Path(run_dir), model, threads, self_check=True)
    with Path(out_path).open("w") as sink:
        for item in replayed_cases(Path(run_dir), limit):
            for rank, hit in enumerate(item.hits[:ranks], start=1):
                started = time.perf_counter()
                result = answerer.answer(item.question, item.language, [hit])  # one passage: read alone
                sink.write(scored(item.case, result, started, rank=rank))
                sink.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
