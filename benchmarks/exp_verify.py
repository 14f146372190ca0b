"""Experiment: does a yes/no self-check after a best-first answer separate answerable questions
from unanswerable ones (and right answers from wrong)? Reads a bench run directory, answers each
case from passage [1] alone, then asks the same model whether source [1] states the answer and
records P(yes) from the logits of its first reply token. The check reuses the KV of the answer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from replay import replay_answerer, replayed_cases

from petitrag.answer.prompts import YES_NO, build_messages, check_messages


def main(run_dir: str, model: str, out_path: str, threads: int, limit: int) -> None:
    answerer = replay_answerer(Path(run_dir), model, threads, reading="all")
    with Path(out_path).open("w") as sink:
        for item in replayed_cases(Path(run_dir), limit):
            started = time.perf_counter()
            result = answerer.answer(item.question, item.language, item.hits[:1])
            assert result.context is not None and result.completion is not None
            asked = build_messages(item.question, item.language, result.context.sources)
            checking = check_messages(asked, result.completion.text, item.question, item.language, 1)
            p_yes = answerer.generator.yes_probability(checking, *YES_NO[item.language])
            case = item.case
            sink.write(json.dumps({
                "case_id": case.id, "impossible": case.impossible, "gold": case.answers,
                "answer": result.answer, "abstained": result.abstained, "p_yes": p_yes,
                "confidence": result.confidence,
                "seconds": time.perf_counter() - started,
            }, ensure_ascii=False) + "\n")  # fmt: skip
            sink.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
