"""Re-score a `petitrag bench` output folder from predictions.jsonl alone, independently.

Nothing here imports petitrag: the normalisation is re-implemented from its written rules
(docs/bench.md), F1/EM/containment and the aggregates (means, Wilson intervals, percentiles
through ``statistics.quantiles``) are written afresh. If this and results.json disagree,
one of them does not do what the documentation says.

Usage: python tests/rescore_bench.py OUT_DIR  (prints the recomputed numbers as JSON)
"""

from __future__ import annotations

import json
import math
import re
import statistics
import string
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

MARKER = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu)['’]")
ARTICLES = {"a", "an", "the", "le", "la", "les", "l", "des", "du", "de", "d"}
NUMBER_WORDS = dict(
    [("zero", "0"), ("un", "1"), ("une", "1"), ("one", "1"), ("deux", "2"), ("two", "2"), ("trois", "3"),
     ("three", "3"), ("quatre", "4"), ("four", "4"), ("cinq", "5"), ("five", "5"), ("six", "6"),
     ("sept", "7"), ("seven", "7"), ("huit", "8"), ("eight", "8"), ("neuf", "9"), ("nine", "9"),
     ("dix", "10"), ("ten", "10"), ("onze", "11"), ("eleven", "11"), ("douze", "12"), ("twelve", "12"),
     ("vingt", "20"), ("twenty", "20"), ("cent", "100"), ("hundred", "100"), ("mille", "1000"),
     ("thousand", "1000")]
)  # fmt: skip
PUNCTUATION = set(string.punctuation + "«»“”‘’…–—·") - {"."}


def norm(text: str) -> list[str]:
    """The documented rules, in order; returns tokens."""
    text = MARKER.sub("", text).strip().casefold().replace("\u202f", " ").replace("\xa0", " ")
    text = ELISION.sub(" ", text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if unicodedata.category(ch) != "Mn")
    text = re.sub(
        r"\b\d{1,3}(,\d{3}){2,}\b|\b\d{1,3}(,\d{3})+(?=\.\d)", lambda m: m.group().replace(",", ""), text
    )
    text = re.sub(r"(?<=\d)[ .](?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)
    text = "".join(" " if ch in PUNCTUATION else ch for ch in text)
    text = re.sub(r"\.(?!\d)|(?<!\d)\.", " ", text)
    words = [NUMBER_WORDS.get(word, word) for word in text.split() if word not in ARTICLES]
    return [w for i, w in enumerate(words) if w != "1" or i == len(words) - 1 or words[i + 1].isdigit()]


def f1(prediction: str, golds: list[str]) -> float:
    best = 0.0
    for gold in golds:
        p, g = norm(prediction), norm(gold)
        if not p or not g:
            best = max(best, float(p == g))
            continue
        overlap = sum((Counter(p) & Counter(g)).values())
        if overlap:
            best = max(best, 2 * overlap / (len(p) + len(g)))
    return best


def contains(text: str, golds: list[str]) -> float:
    haystack = " " + " ".join(norm(text)) + " "
    return float(any(norm(g) and " " + " ".join(norm(g)) + " " in haystack for g in golds))


def case_scores(row: dict[str, Any]) -> dict[str, float]:
    """Only the metrics that apply to this case."""
    answered = not row["abstained"] and row["error"] is None
    text = row["prediction"] if answered else ""
    scores = {"language_match": float(row["answer_language"] == row["question_language"])}
    if row["impossible"]:
        scores["abstain_correct"] = float(row["abstained"])
        return scores
    f = f1(text, row["gold"])
    c = contains(text, row["gold"])
    scores.update(
        exact_match=float(any(norm(text) == norm(g) for g in row["gold"])),
        f1=f,
        contains_gold=c,
        correct_answered=float(answered and (f >= 0.5 or c == 1.0)),
        false_abstention=float(row["abstained"]),
    )
    if answered and row["citations"]:
        scores["citation_correct"] = max(contains(c["text"], row["gold"]) for c in row["citations"])
    return scores


def interval(values: list[float]) -> dict[str, Any]:
    n = len(values)
    if not n:
        return {"mean": None, "n": 0}
    mean = sum(values) / n
    if set(values) <= {0.0, 1.0}:  # Wilson
        z2 = 1.96**2
        centre = (mean + z2 / (2 * n)) / (1 + z2 / n)
        half = 1.96 * math.sqrt(mean * (1 - mean) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        low, high = centre - half, centre + half
    else:
        half = 1.96 * statistics.stdev(values) / math.sqrt(n) if n > 1 else 0.0
        low, high = mean - half, mean + half
    return {"mean": mean, "n": n, "ci_low": max(0.0, low), "ci_high": min(1.0, high)}


def quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def rescore(out: Path) -> dict[str, Any]:
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    wanted = set(results["selection"]["cases"])
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    with (out / "predictions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row["case_id"] not in wanted:
                continue
            answers = rows.setdefault(row["model"], {})
            earlier = answers.get(row["case_id"])
            # the first line wins, unless it failed with an error: resumed runs ask those again
            if earlier is None or (
                earlier["error"] is not None and (earlier["error_kind"] or "error") == "error"
            ):
                answers[row["case_id"]] = row
    cost = results["cost_model"]
    per_hour = cost["hardware_eur"] / cost["hardware_hours"] + cost["watts"] / 1000 * cost["eur_per_kwh"]
    recomputed = {}
    for model in results["models"]:
        predictions = list(rows.get(model, {}).values())
        scores = [case_scores(row) for row in predictions]
        metrics = {m for s in scores for m in s}
        totals = [row["timings"].get("total_s", 0.0) for row in predictions]
        ok = [row for row in predictions if row["error"] is None and row["timings"].get("prompt_tokens")]
        recomputed[model] = {
            "quality": {m: interval([s[m] for s in scores if m in s]) for m in metrics},
            "total_s": {"n": len(totals), "p50": quantile(totals, 50), "p95": quantile(totals, 95)},
            "ttft_s_p50": quantile([row["timings"]["ttft_s"] for row in ok], 50) if ok else None,
            "errors": sum(row["error"] is not None for row in predictions),
            "eur_per_1k_time": 1000 * sum(totals) / len(totals) / 3600 * per_hour if totals else None,
        }
    return recomputed


if __name__ == "__main__":
    print(json.dumps(rescore(Path(sys.argv[1])), indent=2))
