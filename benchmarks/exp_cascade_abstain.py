"""Experiment (offline): when passage [1] makes the abstention likely, is passage [2] (or [3])
read alone a better second try than all passages together?

Inputs: ``exp_abstain_prob.py`` rows for ranks 1, 2 (and 3) of the same bench run's cases (each
passage read alone, log P(abstention) and the greedy answer), and that bench run's own
predictions (best-first: passage [1], all passages when it abstained). Policies, for a
threshold T on passage [1]'s log P(abstention):

- ``run``: the bench run's predictions as they are;
- ``[2] if lower``: above T, passage [2]'s answer replaces [1]'s when its log P(abstention) is
  lower by at least the margin and it does not abstain;
- ``best of 3``: above T, the non-abstaining answer of [1]–[3] with the lowest log P(abstention);
- ``[2] unless above T``: above T, passage [2]'s answer, unless it is above T too;
- ``abstain``: above T, the abstention (what ``abstain_above`` does on the first pass alone).

Run (from benchmarks/): ../.venv/bin/python exp_cascade_abstain.py out/bench-piaf-s8b \
       out/abstain-prob/piaf.jsonl out/abstain-prob/piaf-r2.jsonl out/abstain-prob/piaf-r3.jsonl
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from petitrag.answer.prompts import is_abstention
from petitrag.bench.metrics import contains_gold, strip_markers, token_f1

Row = dict[str, Any]
KEEP: Row = {}  # a policy's choice: the run's own prediction (its grounding checks applied)


def _read(path: str | Path) -> list[Row]:
    with Path(path).open() as lines:
        return [json.loads(line) for line in lines]


def _outcome(answer: str, gold: list[str], impossible: bool) -> tuple[float | None, ...]:
    """(F1, correct & answered, false abstention, abstained) of one answer as the bench scores
    them: the first three on answerable questions, the last on unanswerable ones (else None)."""
    abstained = is_abstention(answer)
    if impossible:
        return None, None, None, float(abstained)
    text = "" if abstained else strip_markers(answer)
    f1 = token_f1(text, gold)
    right = float(bool(f1) and (f1 >= 0.5 or contains_gold(text, gold)))
    return f1, right, float(abstained), None


def main(run_dir: str, *rank_paths: str) -> None:
    ranks = [{row["case_id"]: row for row in _read(path)} for path in rank_paths]
    run = {row["case_id"]: row for row in _read(Path(run_dir) / "predictions.jsonl")}
    ids = [case for case in ranks[0] if all(case in rank for rank in ranks) and case in run]
    print(f"{len(ids)} cases with every rank read alone")
    for threshold in (-5.0, -4.5, -4.0, -3.5, -3.0, -2.5):
        for name, choose in _policies(len(ranks)):
            scored = [_score(run[case], [rank[case] for rank in ranks], threshold, choose) for case in ids]
            _print(f"T {threshold:5.1f}  {name}", scored)
    _print("run as it is", [_score(run[case], [rank[case] for rank in ranks], 99.0, None) for case in ids])


def _policies(depth: int) -> list[tuple[str, Any]]:
    """(name, choose(rows, threshold) → the chosen row, KEEP or None for the abstention)."""
    policies: list[tuple[str, Any]] = [("abstain", lambda rows, t: None)]
    for margin in (0.0, 0.5, 1.0):
        policies.append((f"[2] if lower by {margin}", lambda rows, t, m=margin: _lower(rows[:2], m)))
    policies.append(("[2] unless above T", lambda rows, t: _gated(rows[1], t)))
    if depth > 2:
        policies.append(("best of 3", lambda rows, t: _lower(rows, 0.0)))
    return policies


def _gated(row: Row, threshold: float) -> Row | None:
    """Passage [2]'s answer, unless it too is above the threshold (then the abstention)."""
    return None if row["abstain_sum"] > threshold else row


def _lower(rows: list[Row], margin: float) -> Row | None:
    """The non-abstaining row after [1] whose log P(abstention) is lowest, if below [1]'s − margin."""
    first, *others = rows
    candidates = [row for row in others if not is_abstention(row["answer"])]
    best = min(candidates, key=lambda row: row["abstain_sum"], default=None)
    if best is None or best["abstain_sum"] > first["abstain_sum"] - margin:
        return KEEP
    return best


def _score(prediction: Row, rows: list[Row], threshold: float, choose: Any) -> tuple[Any, ...]:
    """The outcome of one case under a policy, and whether it read more than passage [1]."""
    gold, impossible = prediction["gold"], prediction["impossible"]
    if choose is None or rows[0]["abstain_sum"] <= threshold:
        return (*_outcome(prediction["prediction"], gold, impossible), False)
    chosen = choose(rows, threshold)
    if chosen is KEEP:
        return (*_outcome(prediction["prediction"], gold, impossible), True)
    answer = chosen["answer"] if chosen is not None else "The documents do not contain the answer."
    return (*_outcome(answer, gold, impossible), True)


def _print(label: str, scored: list[tuple[Any, ...]]) -> None:
    names = ("F1", "correct&answered", "false abst.", "abstains (unanswerable)")
    parts = []
    for column, name in enumerate(names):
        values = [score[column] for score in scored if score[column] is not None]
        if values:
            parts.append(f"{name} {statistics.fmean(values):.3f}")
    print(f"{label:26s} " + "  ".join(parts) + f"  re-read {sum(score[-1] for score in scored)}")


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:])
