"""Experiment: does the probability the model gives the abstention sentence, right after reading
passage [1] (best-first's first pass), tell unanswerable questions (or wrong answers) apart?

Greedy decoding abstains on almost none of SQuAD2's unanswerable questions, but the abstention
may still be the runner-up. For each case of a bench run, the prompt of the first pass is
evaluated once; then the abstention sentence is teacher-forced (its log-probability, token by
token) and, from the same KV, the greedy answer decoded (its log-probability too).

Run (from benchmarks/): ../.venv/bin/python exp_abstain_prob.py out/bench-squad2-s8 \
       qwen2.5-coder-1.5b out/abstain-prob/squad2.jsonl 2 100
then:  ../.venv/bin/python exp_abstain_prob.py --summary out/abstain-prob/squad2.jsonl \
       out/bench-squad2-s8/predictions.jsonl
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
from replay import replay_answerer, replayed_cases

from petitrag.answer.packing import pack
from petitrag.answer.prompts import ABSTAIN, build_messages


def main(run_dir: str, model: str, out_path: str, threads: int, limit: int, rank: int = 1) -> None:
    """``rank`` > 1 reads that passage alone instead of [1] (as a cascade would); cases already
    in ``out_path`` are kept and skipped, so a stopped run resumes."""
    answerer = replay_answerer(Path(run_dir), model, threads)
    generator = answerer.generator
    llm = generator.llama
    end = llm.token_eos()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    done = {row["case_id"] for row in _read_jsonl(out_path)} if Path(out_path).exists() else set()
    with Path(out_path).open("a") as sink:
        for item in replayed_cases(Path(run_dir), limit):
            if item.case.id in done or len(item.hits) < rank:
                continue
            started = time.perf_counter()
            budget = answerer._budget(item.question, item.language)
            passage = item.hits[rank - 1 : rank]
            context = pack(passage, item.question, item.language, budget, generator.count_tokens)
            prompt = generator.prompt_tokens(build_messages(item.question, item.language, context.sources))
            _eval_reusing(llm, prompt)
            first = _logprobs(generator)
            abstain = llm.tokenize(ABSTAIN[item.language].encode(), add_bos=False, special=False)
            forced = [float(first[abstain[0]])]
            for token, following in itertools.pairwise(abstain):  # token by token
                llm.eval([token])
                forced.append(float(_logprobs(generator)[following]))
            llm.n_tokens = len(prompt)
            greedy, logprobs = [], []
            scores = first
            for _ in range(24):
                token = int(np.argmax(scores))
                if token in (end, *_stops(llm)):
                    break
                greedy.append(token)
                logprobs.append(float(scores[token]))
                llm.eval([token])
                scores = _logprobs(generator)
            case = item.case
            sink.write(json.dumps({
                "case_id": case.id, "rank": rank, "impossible": case.impossible, "gold": case.answers,
                "language": item.language, "answer": llm.detokenize(greedy).decode(errors="replace"),
                "abstain_first": forced[0], "abstain_sum": sum(forced), "abstain_tokens": len(forced),
                "answer_first": logprobs[0] if logprobs else 0.0, "answer_sum": sum(logprobs),
                "answer_tokens": len(logprobs), "seconds": time.perf_counter() - started,
            }, ensure_ascii=False) + "\n")  # fmt: skip
            sink.flush()


def _stops(llm) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return tuple(llm.tokenize(text.encode(), add_bos=False, special=True)[0] for text in ("<|im_end|>",))


def _eval_reusing(llm, prompt: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Evaluate ``prompt``, keeping the KV of its start that is already there (the rules)."""
    cached = llm.input_ids[: llm.n_tokens].tolist()
    shared = 0
    while shared < min(len(cached), len(prompt) - 1) and cached[shared] == prompt[shared]:
        shared += 1
    llm.n_tokens = shared
    llm.eval(prompt[shared:])


def _logprobs(generator) -> np.ndarray:  # type: ignore[no-untyped-def]
    logits = np.asarray(generator._last_logits(), dtype=np.float64)
    top = logits.max()
    return logits - top - np.log(np.exp(logits - top).sum())


def summary(rows_path: str, predictions_path: str) -> None:
    """ROC AUCs of the abstention's log-probability for telling bad first answers (unanswerable
    question, or F1 < 0.5) from right ones, next to the bench run's self-check (which checked the
    run's final answer, so it is only a rough comparison), and what gating the first answer at a
    few thresholds would do."""
    from petitrag.bench.metrics import strip_markers, token_f1

    rows = _read_jsonl(rows_path)
    checks = {row["case_id"]: row["signals"].get("self_check") for row in _read_jsonl(predictions_path)}
    for row in rows:
        golds = row["gold"]
        row["right"] = not row["impossible"] and token_f1(strip_markers(row["answer"]), golds) >= 0.5
        row["check_no"] = None if checks.get(row["case_id"]) is None else -checks[row["case_id"]]
    right = [row for row in rows if row["right"]]
    bad = [row for row in rows if not row["right"]]
    unanswerable = [row for row in rows if row["impossible"]]
    counts = f"{len(right)} right first answers, {len(bad)} bad ({len(unanswerable)} unanswerable)"
    print(f"{len(rows)} cases: {counts}")
    print(f"  log P(abstention), bad > right: AUC {_auc(bad, right, 'abstain_sum'):.3f}")
    if unanswerable:
        print(
            f"  log P(abstention), unanswerable > right: AUC {_auc(unanswerable, right, 'abstain_sum'):.3f}"
        )
    print(f"  the run's self-check P(no), bad > right: AUC {_auc(bad, right, 'check_no'):.3f}")
    for threshold in (-5.0, -4.0, -3.5, -3.0, -2.0):
        gated = [row for row in rows if row["abstain_sum"] > threshold]
        kept = sum(1 for row in right if row not in gated)
        caught = sum(1 for row in gated if row["impossible"])
        print(
            f"  above {threshold}: {len(gated)} gated, right answers kept {kept}/{len(right)}, "
            f"unanswerable caught {caught}/{len(unanswerable)}"
        )


def _read_jsonl(path: str) -> list[dict]:  # type: ignore[type-arg]
    with Path(path).open() as lines:
        return [json.loads(line) for line in lines]


def _auc(positives: list[dict], negatives: list[dict], key: str) -> float:  # type: ignore[type-arg]
    """P(a positive's value > a negative's), over the rows that have one."""
    ups = [row[key] for row in positives if row[key] is not None]
    downs = [row[key] for row in negatives if row[key] is not None]
    pairs = [(up > down) + 0.5 * (up == down) for up in ups for down in downs]
    return sum(pairs) / len(pairs) if pairs else float("nan")


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2], sys.argv[3])
    else:
        main(
            sys.argv[1],
            sys.argv[2],
            sys.argv[3],
            int(sys.argv[4]),
            int(sys.argv[5]),
            *map(int, sys.argv[6:7]),
        )
