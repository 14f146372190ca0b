"""Offline analysis of a bench run's answers (no model needed): where the F1 is lost, and what
three cheap fixes would recover, replayed on the run's own predictions.

1. F1 by where the gold answer is: in passage [1], in a lower passage, or in none.
2. Stripping words of the question the answer repeats at its start or end ("La fumée était noire"
   → "noire"): F1 before/after.
3. Compressing passage [1] to its sentences closest to the question (answer/packing.compress), to
   cut the first pass's prompt: how often the gold answer survives, per token budget.
4. (with --all-run and --check-run) falling back to the all-passages answer when the self-check of
   the best-first answer is below a threshold: F1 per threshold.
5. (with --cascade, exp_cascade.py's output) reading passages [1], [2], [3] alone in turn until one
   answer's self-check reaches a threshold, else keeping the best-checked answer: F1 and passages
   read per threshold, against best-first on the same questions.

    python benchmarks/exp_answer_analysis.py benchmarks/out/bench-piaf-bf \
        --all-run benchmarks/out/bench-piaf --check-run benchmarks/out/bench-piaf-gate
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from statistics import fmean

from petitrag.answer.packing import compress
from petitrag.bench.metrics import contains_gold, normalize, token_f1
from petitrag.bench.rundir import read_jsonl
from petitrag.language import analyze, detect_language

MODEL = "qwen2.5-coder-1.5b"
_MARKERS = re.compile(r"(\s*\[\d+\][.\s]*)+$")


def predictions(run: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["case_id"]: r for r in read_jsonl(run / "predictions.jsonl") if r["model"] == MODEL}


def strip_restated(answer: str, question: str) -> str:
    """The answer without leading/trailing words that all occur in the question."""
    asked = set(normalize(question).split())
    marker = _MARKERS.search(answer)
    body, tail = (answer[: marker.start()], answer[marker.start() :]) if marker else (answer, "")
    words = body.split()
    start, end = 0, len(words)
    while start < end and all(t in asked for t in normalize(words[start]).split()):
        start += 1
    while end > start and all(t in asked for t in normalize(words[end - 1]).split()):
        end -= 1
    return answer if start == end else " ".join(words[start:end]).rstrip(".,;") + tail


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path)
    parser.add_argument("--all-run", type=Path, help="a run of the same sample with reading = all")
    parser.add_argument("--check-run", type=Path, help="a run of the same sample with self-checks")
    parser.add_argument("--cascade", type=Path, help="exp_cascade.py's answers for this run's cases")
    args = parser.parse_args()
    preds = predictions(args.run)
    hits = {r["case_id"]: r["hits"] for r in read_jsonl(args.run / "retrieval.jsonl")}
    answerable = [r for r in preds.values() if not r["impossible"]]

    groups: dict[str, list[float]] = {"passage [1]": [], "a lower passage": [], "no passage": []}
    for row in answerable:
        where = next(
            (i for i, h in enumerate(hits[row["case_id"]]) if contains_gold(h["text"], row["gold"])), None
        )
        key = "passage [1]" if where == 0 else "no passage" if where is None else "a lower passage"
        groups[key].append(token_f1(row["prediction"], row["gold"]))
    print(f"{args.run.name}: {len(answerable)} answerable questions, F1 by where the gold answer is")
    for key, scores in groups.items():
        print(f"  {key}: {len(scores)} questions, F1 {fmean(scores) if scores else 0:.3f}")

    before = fmean(token_f1(r["prediction"], r["gold"]) for r in answerable)
    after = fmean(token_f1(strip_restated(r["prediction"], r["question"]), r["gold"]) for r in answerable)
    print(f"stripping restated question words: F1 {before:.3f} -> {after:.3f}")

    count = lambda text: max(1, round(len(text) / 3.3))  # noqa: E731  (≈ Qwen tokens, French/English)
    tops = [
        (r, hits[r["case_id"]][0])
        for r in answerable
        if contains_gold(hits[r["case_id"]][0]["text"], r["gold"])
    ]
    for budget in (60, 90, 120, 150):
        kept, sizes = 0, []
        for row, hit in tops:
            language = detect_language(row["question"])
            text = compress(hit["text"], set(analyze(row["question"], language)), language, budget, count)
            kept += bool(contains_gold(text, row["gold"]))
            sizes.append(count(text))
        full = fmean(count(hit["text"]) for _, hit in tops)
        print(f"passage [1] compressed to {budget} tokens: gold kept {kept}/{len(tops)}, "
              f"~{fmean(sizes):.0f} tokens instead of ~{full:.0f}")  # fmt: skip

    if args.all_run and args.check_run:
        read_all, checked = predictions(args.all_run), predictions(args.check_run)
        common = [c for c in preds if c in read_all and c in checked and not preds[c]["impossible"]]
        for threshold in (0.0, 0.75, 0.8, 0.82, 0.84, 0.86, 0.9):
            scores, fallbacks = [], 0
            for case_id in common:
                check = checked[case_id]["signals"].get("self_check")
                fallback = check is not None and check < threshold
                row = read_all[case_id] if fallback else preds[case_id]
                scores.append(token_f1(row["prediction"], row["gold"]))
                fallbacks += fallback
            print(f"fall back to all passages below self-check {threshold}: F1 {fmean(scores):.3f}, "
                  f"{fallbacks}/{len(common)} fell back")  # fmt: skip

    if args.cascade:
        cascade(preds, args.cascade)


def cascade(preds: dict[str, dict], path: Path) -> None:  # type: ignore[type-arg]
    by_case: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for row in read_jsonl(path):
        by_case.setdefault(row["case_id"], []).append(row)
    cases = [c for c, rows in by_case.items() if not rows[0]["impossible"] and len(rows) >= 3]
    best_first = fmean(token_f1(preds[c]["prediction"], preds[c]["gold"]) for c in cases)
    print(f"cascade over {len(cases)} answerable questions; best-first F1 on them {best_first:.3f}")
    for threshold in (0.0, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01):
        scores, read = [], []
        for case_id in cases:
            rows = sorted(by_case[case_id], key=lambda r: r["rank"])
            chosen, tried = None, 0
            for row in rows:
                tried += 1
                if not row["abstained"] and (row["self_check"] or 0) >= threshold:
                    chosen = row
                    break
            if chosen is None:  # none passed: the best-checked answer, or abstain
                answered = [r for r in rows if not r["abstained"]]
                chosen = max(answered, key=lambda r: r["self_check"] or 0) if answered else rows[0]
            scores.append(chosen["f1"] or 0.0)
            read.append(tried)
        print(f"  threshold {threshold}: F1 {fmean(scores):.3f}, passages read {fmean(read):.2f}")


if __name__ == "__main__":
    main()
