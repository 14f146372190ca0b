"""What a `min_score` gate would abstain on, over every question of a SQuAD-format set
(retrieval only, no model): answerable questions lost, and unanswerable ones caught.

For each question the best passage's fused search score is compared with each threshold; a lost
answerable question is split by whether its best passage (or any of the top k) holds a gold
answer, since only those could have been answered right. Run it on the collection `petitrag
bench` made for the set (ingest it first with a bench run); the automatic gate of coverage
fusion is at 1.05 with the default weights.

Run: .venv/bin/python benchmarks/score_gate.py ../shared/data/piaf-fr-dev.json \
       --collection bench-piaf-fr-dev
     .venv/bin/python benchmarks/score_gate.py benchmarks/out/piaf-missing.json \
       --collection bench-piaf-missing
"""

from __future__ import annotations

import argparse
from pathlib import Path

from petitrag.app import open_app
from petitrag.bench.datasets import load_dataset
from petitrag.config import load_settings

THRESHOLDS = (1.05, 1.1, 1.15, 1.2, 1.3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    settings = load_settings(home=args.home, collection=args.collection, threads=1)
    rows = []  # (best score, unanswerable, gold in passage [1], gold in the top k)
    with open_app(settings) as app:
        retriever = app.retriever()
        for case in load_dataset(args.dataset).cases:
            hits = retriever.search(case.question, k=args.k).hits
            texts = [_plain(hit.text) for hit in hits]
            golds = [_plain(answer) for answer in case.answers]
            in_first = bool(texts) and any(gold in texts[0] for gold in golds)
            in_any = any(gold in text for text in texts for gold in golds)
            rows.append((max((hit.score for hit in hits), default=0.0), case.impossible, in_first, in_any))
    answerable = [row for row in rows if not row[1]]
    unanswerable = [row for row in rows if row[1]]
    print(f"| threshold | answerable below ({len(answerable)}) | gold in [1] | gold in top {args.k} | "
          f"unanswerable below ({len(unanswerable)}) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|")
    for threshold in THRESHOLDS:
        lost = [row for row in answerable if row[0] < threshold]
        caught = sum(row[0] < threshold for row in unanswerable)
        print(f"| {threshold} | {len(lost)} ({_share(len(lost), len(answerable))}) | "
              f"{sum(row[2] for row in lost)} | {sum(row[3] for row in lost)} | "
              f"{caught} ({_share(caught, len(unanswerable))}) |")  # fmt: skip


def _plain(text: str) -> str:
    return " ".join(text.casefold().split())


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f} %" if total else "—"


if __name__ == "__main__":
    main()
