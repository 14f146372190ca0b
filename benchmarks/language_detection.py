"""How often the question's language is detected wrongly, on SQuAD-format sets.

The answer prompt, the abstention sentence and the answer's language all follow the detected
language, so a French question taken for English gets English rules (and often an English
answer). Questions are a few words long, which is where a function-word vote fails.

Run: .venv/bin/python benchmarks/language_detection.py ../shared/data/piaf-fr-dev.json fr \
       ../shared/data/squad2-en-dev.json en
"""

from __future__ import annotations

import argparse
from pathlib import Path

from petitrag.bench.datasets import load_dataset
from petitrag.language import detect_language


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pairs", nargs="+", help="DATASET LANGUAGE, repeated")
    args = parser.parse_args()
    if len(args.pairs) % 2:
        parser.error("give each dataset with its language: DATASET fr|en ...")
    print("| set | questions | detected wrongly | share right |\n|---|---:|---:|---:|")
    wrong_questions: list[str] = []
    for path, language in zip(args.pairs[::2], args.pairs[1::2], strict=True):
        questions = [case.question for case in load_dataset(Path(path)).cases]
        wrong = [question for question in questions if detect_language(question) != language]
        wrong_questions += wrong
        print(
            f"| {Path(path).name} | {len(questions)} | {len(wrong)} | {1 - len(wrong) / len(questions):.4f} |"
        )
    for question in wrong_questions:
        print(f"  wrong: {question}")


if __name__ == "__main__":
    main()
