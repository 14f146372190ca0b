"""Replay: drop the question's words that an answer repeats around what it adds.

"Quel animal a offert le père à son fils aîné ?" → "Le père a offert un chevreau à son fils aîné
[1]" scores F1 0.29 against « un chevreau »; trimmed, "Un chevreau [1]" scores 1. Reads a bench
run's predictions and scores the answers as run and trimmed with ``petitrag.answer.trim.trimmed``, for
questions in French, in English, or both.

    .venv/bin/python benchmarks/exp_answer_trim.py benchmarks/out/bench-piaf-s14 [--show]

With ``--golds DATASET LANG``, it trims each question's first gold answer instead: what a model
answering exactly the gold would lose (a bound on the harm the trim can do).

    .venv/bin/python benchmarks/exp_answer_trim.py --golds ../shared/data/piaf-fr-dev.json fr
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from petitrag.answer.trim import trimmed
from petitrag.bench.metrics import contains_gold, token_f1
from petitrag.language import Language, detect_language


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path, nargs="?")
    parser.add_argument("--show", action="store_true", help="print every answer the trim changes")
    parser.add_argument("--golds", nargs=2, metavar=("DATASET", "LANG"), help="trim gold answers instead")
    args = parser.parse_args()
    if args.golds:
        golds(Path(args.golds[0]), args.golds[1], args.show)
        return
    rows = [json.loads(line) for line in (args.run / "predictions.jsonl").open(encoding="utf-8")]
    answerable = [row for row in rows if not row["impossible"] and not row.get("error")]
    for languages in (("fr",), ("en",), ("fr", "en")):
        changed, scores, before, right = 0, [], [], [0, 0]
        for row in answerable:
            language = row.get("question_language") or detect_language(row["question"])
            old = 0.0 if row["abstained"] else token_f1(row["prediction"], row["gold"])
            kept = row["abstained"] or language not in languages
            answer = row["prediction"] if kept else trimmed(row["prediction"], row["question"], language)
            new = 0.0 if row["abstained"] else token_f1(answer, row["gold"])
            right[0] += _correct(row["prediction"], row["gold"], row["abstained"])
            right[1] += _correct(answer, row["gold"], row["abstained"])
            before.append(old)
            scores.append(new)
            if answer != row["prediction"]:
                changed += 1
                if args.show and len(languages) == 2:
                    print(f"{old:.2f} → {new:.2f} | {row['question']} | {row['prediction']} → {answer}")
        better = sum(n > o for n, o in zip(scores, before, strict=True))
        worse = sum(n < o for n, o in zip(scores, before, strict=True))
        print(
            f"trimmed in {'+'.join(languages)}: F1 {statistics.fmean(before):.3f}"
            f" → {statistics.fmean(scores):.3f}"
            f", correct & answered {right[0]} → {right[1]}"
            f" ({changed} changed, {better} better, {worse} worse, n = {len(answerable)})"
        )


def golds(dataset: Path, language: Language, show: bool) -> None:
    data = json.loads(dataset.read_text(encoding="utf-8"))
    changed, loss, total = 0, 0.0, 0
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [answer["text"] for answer in qa["answers"]]
                if not answers:
                    continue
                total += 1
                answer = trimmed(answers[0], qa["question"], language)
                if answer != answers[0].strip():
                    changed += 1
                    loss += 1 - token_f1(answer, answers)
                    if show:
                        print(f"{qa['question']} | {answers[0]} → {answer}")
    print(
        f"{dataset.name}: {changed} of {total} gold answers changed, F1 lost {loss / total:.4f} per question"
    )


def _correct(answer: str, gold: list[str], abstained: bool) -> bool:
    """The bench's "correct & answered": F1 ≥ 0.5 or the gold answer in it."""
    return not abstained and (token_f1(answer, gold) >= 0.5 or bool(contains_gold(answer, gold)))


if __name__ == "__main__":
    main()
