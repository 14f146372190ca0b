"""Which bullets a capped summary should keep: replayed on uncapped summaries, no model needed.

Input: the JSON of ``summary_quality.py --uncapped --out FILE`` (each row holds its summary's
text). For each weight a number counts for (in content words) when bullets compete, every
summary, without its repeated lines (``drop_repeats``, as the summariser does first), is cut to
``--limit`` bullets with ``keep_bullets`` and scored by summary_quality's
``measure``; also "first N", which keeps the model's first bullets. The text replayed already has
its markers (the real summariser caps before adding them), so the kept bullets may differ from a
real capped run by a tie or two.

Run: .venv/bin/python benchmarks/exp_summary_cap.py benchmarks/out/summary/s13-uncapped-texts.json \
       --home benchmarks/out/recall-home
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from types import SimpleNamespace

from summary_quality import measure

from petitrag.answer import summarize
from petitrag.answer.summarize import _bullet_groups, drop_repeats, keep_bullets
from petitrag.config import load_settings
from petitrag.index.store import Store

COLLECTIONS = ("summary-sample", "bench-piaf-fr-dev")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("uncapped", type=Path)
    parser.add_argument("--home", type=Path, default=Path("benchmarks/out/recall-home"))
    parser.add_argument("--limit", type=int, default=5)
    args = parser.parse_args()
    rows = json.loads(args.uncapped.read_text(encoding="utf-8"))
    for row in rows:  # as the summariser does before its cap
        row["text"] = drop_repeats(row["text"])
    store = Store(load_settings(home=args.home).db_path)
    documents = [(row, chunks_of(store, row["document"])) for row in rows]
    print("| kept bullets | bullets | claims | supported | invented numbers | numbers kept |")
    print("|---|---:|---:|---:|---:|---:|")
    report("uncapped", [measured(row, chunks, row["text"]) for row, chunks in documents])
    report(
        f"first {args.limit}",
        [measured(row, chunks, first(row["text"], args.limit)) for row, chunks in documents],
    )
    for weight in (1, 2, 3, 5):
        summarize.NUMBER_WEIGHT = weight
        capped = [
            measured(row, chunks, keep_bullets(row["text"], args.limit, chunks, row["language"]))
            for row, chunks in documents
        ]
        report(f"keep_bullets, a number = {weight} words", capped)


def chunks_of(store: Store, name: str) -> list:  # type: ignore[type-arg]
    for collection in COLLECTIONS:
        for document in store.documents(collection):
            if Path(document.path).name == name:
                return store.document_chunks(document.id)
    raise SystemExit(f"{name}: not in {', '.join(COLLECTIONS)} (run summary_quality.py with this --home)")


def first(text: str, limit: int) -> str:
    lines = text.splitlines()
    dropped = {i for group in _bullet_groups(lines)[limit:] for i in group}
    return "\n".join(line for i, line in enumerate(lines) if i not in dropped)


def measured(row: dict, chunks: list, text: str) -> dict:  # type: ignore[type-arg]
    summary = SimpleNamespace(
        source=row["document"], language=row["language"], text=text, map_calls=row["calls"], reduce_calls=0,
        seconds=0.0,
    )  # fmt: skip
    return measure(summary, chunks)


def report(label: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    def mean(key: str) -> float:
        return statistics.mean(float(row[key]) for row in rows if row[key] is not None)

    invented = sum(int(row["invented_numbers"]) for row in rows)
    print(
        f"| {label} | {mean('bullets'):.1f} | {mean('claims'):.1f} | {mean('supported'):.2f} | {invented} | "
        f"{mean('numbers_kept'):.2f} |"
    )


if __name__ == "__main__":
    main()
