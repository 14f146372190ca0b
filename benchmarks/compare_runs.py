"""The answers that changed between two `petitrag bench` runs of the same questions.

Pairs the two runs' predictions by model and case id (read as the bench reads them) and prints
each question whose answer or abstention differs, with its gold answers: what a change to the
answer checks did to the dev sets, answer by answer.

Run: .venv/bin/python benchmarks/compare_runs.py benchmarks/out/s27-piaf benchmarks/out/s28-piaf
"""

from __future__ import annotations

import argparse
from pathlib import Path

from petitrag.bench.rundir import load_all_predictions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    before_runs, after_runs = load_all_predictions(args.before), load_all_predictions(args.after)
    for model in [model for model in before_runs if model in after_runs]:
        before, after = before_runs[model], after_runs[model]
        shared = [case for case in before if case in after]
        changed = [
            case
            for case in shared
            if (before[case].prediction, before[case].abstained)
            != (after[case].prediction, after[case].abstained)
        ]
        print(f"{model}: {len(shared)} questions in both runs, {len(changed)} answers changed")
        for case in changed:
            print(f"\n{before[case].question}  (gold: {' | '.join(before[case].gold[:2]) or 'none'})")
            for label, row in (("before", before[case]), ("after", after[case])):
                print(f"  {label:6} {'[abstained] ' if row.abstained else ''}{row.prediction}")


if __name__ == "__main__":
    main()
