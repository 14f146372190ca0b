"""Offline: do a question's words missing from its own paragraph tell an unanswerable one?

SQuAD2's unanswerable questions are near misses written against the paragraph: another
entity, another date, a negation. A cheap answerability signal would be the question's
content words (stemmed, stopwords out, as BM25 reads them) that the paragraph lacks, or the
capitalised words and numbers it lacks. No model runs: each question is compared with its
gold paragraph, and the ROC AUC of each count for "unanswerable" is printed (0.5 = no signal,
below 0.5 = the signal points the other way), with the unanswerable share per count.

    .venv/bin/python benchmarks/exp_question_overlap.py ../shared/data/squad2-en-dev.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from petitrag.language import Language, analyze, words
from petitrag.routing.calibrate import auc


def question_rows(path: Path, language: Language) -> list[tuple[bool, int, float, int]]:
    """(unanswerable, terms missing, share of terms missing, names/numbers missing) per question."""
    rows = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            terms = set(analyze(paragraph["context"], language))
            raw = {word.lower() for word in words(paragraph["context"])}
            for qa in paragraph["qas"]:
                asked = list(dict.fromkeys(analyze(qa["question"], language)))
                missing = [term for term in asked if term not in terms]
                names = [w for w in words(qa["question"])[1:] if w[:1].isupper() or w[:1].isdigit()]
                missing_names = [w for w in names if w.lower() not in raw]
                share = len(missing) / max(1, len(asked))
                rows.append((bool(qa.get("is_impossible")), len(missing), share, len(missing_names)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--language", default="en", choices=["en", "fr"])
    args = parser.parse_args()
    rows = question_rows(args.dataset, args.language)
    labels = [row[0] for row in rows]
    print(f"{len(rows)} questions, {sum(labels)} unanswerable")
    for column, name in ((1, "terms missing"), (2, "share of terms missing"), (3, "names/numbers missing")):
        value = auc([float(row[column]) for row in rows], labels)
        print(f"AUC of {name} for unanswerable: {value:.3f}" if value is not None else f"{name}: n/a")
    for count in range(5):
        chosen = [row for row in rows if (row[1] == count if count < 4 else row[1] >= 4)]
        share = sum(row[0] for row in chosen) / max(1, len(chosen))
        label = "≥ 4" if count == 4 else str(count)
        print(f"{label} terms missing: {len(chosen)} questions, {share:.2f} unanswerable")


if __name__ == "__main__":
    main()
