"""Make a SQuAD-format test set whose unanswerable questions are about documents that are absent.

SQuAD2's unanswerable questions are written against the very paragraph retrieval returns (a
changed word, a negation). Users also ask about things their documents do not cover at all, which
a small model may answer from its own knowledge. This keeps every other article of a dev set (its
questions stay answerable) and moves the questions of the articles left out onto the kept ones,
marked impossible: `petitrag bench` then ingests only the kept articles and reports how often the
model abstains on questions whose article is missing.

Run: .venv/bin/python benchmarks/make_missing_set.py ../shared/data/piaf-fr-dev.json \
       benchmarks/out/piaf-missing.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    data = json.loads(args.dataset.read_text())
    articles = data["data"]
    kept, dropped = articles[0::2], articles[1::2]
    missing = [
        {**qa, "id": f"missing-{qa['id']}", "answers": [], "is_impossible": True}
        for article in dropped
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]
    for number, qa in enumerate(missing):  # spread over the kept articles' first paragraphs
        kept[number % len(kept)]["paragraphs"][0]["qas"].append(qa)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"version": data.get("version", ""), "data": kept}, ensure_ascii=False))
    answerable = sum(len(p["qas"]) for a in kept for p in a["paragraphs"]) - len(missing)
    print(f"{len(kept)} articles kept ({answerable} answerable questions), {len(dropped)} left out "
          f"({len(missing)} questions now unanswerable) → {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
