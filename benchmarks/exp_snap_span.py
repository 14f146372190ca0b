"""Replay: snap a short answer to the closest span of the passage it cites.

The 1.5B model often says the right thing in other words than the document's: « Les entreprises »
where the passage (and the gold) say « l'entreprise ». Token F1 does not forgive the morphology.
This replays a bench run's predictions, replacing each short answer (at most ``--max-words``
words) by the span of its cited passage whose Snowball-stemmed words best match the answer's
(token F1 over stems ≥ ``--min-match``), and scores both, per language.

    .venv/bin/python benchmarks/exp_snap_span.py benchmarks/out/bench-piaf-s17 [--show]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections import Counter
from pathlib import Path

from petitrag.answer.citations import strip_markers
from petitrag.bench.metrics import contains_gold, token_f1
from petitrag.language import Language, _stemmer, strip_accents

_WORD = re.compile(r"\w+(?:[-‐]\w+)*")
_SKIP = frozenset("a an the le la les l des du de d un une".split())


def keyed(text: str, language: Language) -> list[tuple[int, int, str]]:
    """Each word's span and its comparable key (stem, no accent); articles keyed empty."""
    found = [(m.start(), m.end(), m.group().casefold()) for m in _WORD.finditer(text)]
    stems = _stemmer(language).stemWords([word for _, _, word in found])
    return [
        (start, end, "" if word in _SKIP else strip_accents(stem))
        for (start, end, word), stem in zip(found, stems, strict=True)
    ]


def _f1(left: list[str], right: list[str]) -> float:
    left, right = [k for k in left if k], [k for k in right if k]
    common = sum((Counter(left) & Counter(right)).values())
    if not common:
        return 0.0
    precision, recall = common / len(left), common / len(right)
    return 2 * precision * recall / (precision + recall)


def snapped(answer: str, passages: list[str], language: Language, max_words: int, min_match: float) -> str:
    core = strip_markers(answer).strip(" .;:,")
    wanted = keyed(core, language)
    keys = [key for *_, key in wanted]
    if not keys or len(wanted) > max_words or not any(keys):
        return answer
    best: tuple[float, int, str] = (0.0, 0, "")
    for passage in passages:
        words = keyed(passage, language)
        for first in range(len(words)):
            if words[first][2] not in keys:
                continue
            for last in range(first, min(len(words), first + len(wanted) + 2)):
                if words[last][2] not in keys:
                    continue
                score = _f1([key for *_, key in words[first : last + 1]], keys)
                candidate = (score, -(last - first), passage[words[first][0] : words[last][1]])
                if candidate[:2] > best[:2]:
                    best = candidate
    score, _, span = best
    if score < min_match or (score >= 1.0 and span.casefold() == core.casefold()):
        return answer
    markers = re.findall(r"\[\d+(?:\s*[,;]\s*\d+)*\]", answer)
    return " ".join([span, *markers])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--max-words", type=int, default=6)
    parser.add_argument("--min-match", type=float, default=0.5)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.run / "predictions.jsonl").open(encoding="utf-8")]
    answerable = [row for row in rows if not row["impossible"] and not row.get("error")]
    before, after, right, changed = [], [], [0, 0], 0
    for row in answerable:
        if row["abstained"]:
            before.append(0.0)
            after.append(0.0)
            continue
        language = row.get("question_language") or "en"
        passages = [citation["text"] for citation in row.get("citations") or []]
        answer = snapped(row["prediction"], passages, language, args.max_words, args.min_match)
        old, new = token_f1(row["prediction"], row["gold"]), token_f1(answer, row["gold"])
        before.append(old)
        after.append(new)
        right[0] += old >= 0.5 or bool(contains_gold(row["prediction"], row["gold"]))
        right[1] += new >= 0.5 or bool(contains_gold(answer, row["gold"]))
        if answer != row["prediction"]:
            changed += 1
            if args.show:
                print(f"{old:.2f} → {new:.2f} | {row['prediction']} → {answer} | gold {row['gold'][0]}")
    better = sum(n > o for n, o in zip(after, before, strict=True))
    worse = sum(n < o for n, o in zip(after, before, strict=True))
    print(
        f"{args.run.name}: F1 {statistics.fmean(before):.3f} → {statistics.fmean(after):.3f},"
        f" correct & answered {right[0]} → {right[1]}"
        f" ({changed} changed, {better} better, {worse} worse, n = {len(answerable)})"
    )


if __name__ == "__main__":
    main()
