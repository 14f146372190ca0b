"""results.json: every metric of every model, with n and a 95 % interval (schema in docs/bench.md).

Everything here is computed from predictions.jsonl, retrieval.jsonl and the workers' meta
files, so a report can be rebuilt (or re-judged with another bar) without answering again.
Latency (``total_s``) counts every case, failures included — a timeout costs its full wait;
TTFT, decode speed and token counts describe the answers that were generated.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from petitrag import __version__
from petitrag.bench.cost import PER, CostModel
from petitrag.bench.datasets import Case
from petitrag.bench.models import ModelSpec
from petitrag.bench.retrieval import gold_retrieved
from petitrag.bench.rundir import load_all_predictions, read_meta
from petitrag.bench.runner import ERROR_KINDS, Prediction, score
from petitrag.bench.stats import distribution, mean_ci
from petitrag.bench.verdict import Bar, decide

SCHEMA_VERSION = 1
QUALITY = ("exact_match", "f1", "contains_gold", "correct_answered", "abstain_correct",
           "false_abstention", "citation_correct", "language_match")  # fmt: skip
UNBOUNDED = (0.0, math.inf)


def build_results(
    out: Path,
    identity: dict[str, Any],
    selection: dict[str, Any],
    cases: list[Case],
    retrieval: dict[str, dict[str, Any]],
    specs: list[ModelSpec],
    bar: Bar,
    cost: CostModel,
) -> dict[str, Any]:
    """The whole results document; the verdict is computed last, from the model entries."""
    predictions = load_all_predictions(out)
    models = {
        spec.key: model_results(out, spec, cases, predictions.get(spec.key, {}), cost) for spec in specs
    }
    verdict = decide(bar, specs, models)
    return {
        "schema_version": SCHEMA_VERSION,
        "petitrag_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "run": identity,
        "selection": {**selection, "cases": [case.id for case in cases], **_case_counts(cases)},
        "retrieval": retrieval_results(cases, retrieval),
        "bar": bar.to_json(),
        "cost_model": cost.to_json(),
        "models": models,
        "verdict": verdict.to_json(),
    }


def model_results(
    out: Path, spec: ModelSpec, cases: list[Case], by_case: dict[str, Prediction], cost: CostModel
) -> dict[str, Any]:
    predictions = [by_case[case.id] for case in cases if case.id in by_case]
    scores = [score(p) for p in predictions]
    # the answers the model was asked for: not failures, nor abstentions search decided alone
    ok = [p for p in predictions if p.error is None and p.timings.get("prompt_tokens")]
    meta = read_meta(out, spec.key)
    basis = cost.basis(spec)
    missing = len(cases) - len(predictions)
    return {
        **spec.to_json(),
        "cases": {**_case_counts(cases), "predicted": len(predictions), "missing": missing},
        "load_error": _load_error(meta) if missing else None,
        "quality": {m: mean_ci([s[m] for s in scores if s[m] is not None]) for m in QUALITY},  # type: ignore[misc]
        "speed": {
            "ttft_s": distribution(_timing(ok, "ttft_s")),
            "total_s": distribution([p.timings.get("total_s", 0.0) for p in predictions]),
            "tokens_per_s": mean_ci([v for v in _timing(ok, "tokens_per_s") if v > 0], UNBOUNDED),
            "prompt_tokens": mean_ci(_timing(ok, "prompt_tokens"), UNBOUNDED),
            "completion_tokens": mean_ci(_timing(ok, "completion_tokens"), UNBOUNDED),
        },
        "resources": resources(spec, meta),
        "cost": {
            "basis": basis,
            "eur_per_1k": mean_ci(
                [PER * cost.per_question(p, basis) for p in _costed(predictions, basis)], UNBOUNDED, 6
            ),
        },
        "errors": errors(predictions, scores),
    }


def _costed(predictions: list[Prediction], basis: str) -> list[Prediction]:
    """The cases whose cost is known. By time, all (a failure costs the time it took). By tokens,
    a failed call's tokens are unknown, and costing them €0 let a dead paid API meet any
    --max-cost: the mean is over the cases that did not fail (a question search abstained on
    cost nothing), and is not measured when no model call returned."""
    if basis != "tokens":
        return predictions
    returned = [p for p in predictions if p.error is None]
    return returned if any(p.timings.get("prompt_tokens") for p in returned) else []


def resources(spec: ModelSpec, meta: list[dict[str, Any]]) -> dict[str, Any]:
    """Size on disk, and per worker process: load time and peak RSS (n = worker processes)."""
    loaded = [record for record in meta if "load_s" in record]
    peaks = [record.get("peak_rss_mb", record.get("rss_after_load_mb", 0.0)) for record in loaded]
    return {
        "file_bytes": spec.file_bytes,
        "params": spec.params,
        "load_s": mean_ci([record["load_s"] for record in loaded], UNBOUNDED),
        "peak_rss_mb": {**mean_ci(peaks, UNBOUNDED), "max": max(peaks, default=None)},
        "rss_before_load_mb": mean_ci([record["rss_before_load_mb"] for record in loaded], UNBOUNDED),
        "machine": next((record["machine"] for record in loaded if record.get("machine")), None),
        "engine": next((record["engine"] for record in loaded if record.get("engine")), None),
        "model_file": next((record["model_file"] for record in loaded if record.get("model_file")), None),
    }


def errors(predictions: list[Prediction], scores: list[dict[str, float | None]]) -> dict[str, Any]:
    """Error rate with its interval, and counts by kind; truncated answers counted apart."""
    by_kind = dict.fromkeys(ERROR_KINDS, 0)
    for prediction in predictions:
        if prediction.error is not None:
            kind = prediction.error_kind or "error"
            by_kind[kind] = by_kind.get(kind, 0) + 1
    return {
        "rate": mean_ci([s["error"] for s in scores]),  # type: ignore[misc]
        "count": sum(by_kind.values()),
        "by_kind": by_kind,
        "truncated": sum(p.finish_reason == "length" for p in predictions),
    }


def retrieval_results(cases: list[Case], rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """How often the passages every model saw contain a gold answer: the ceiling of the run; and
    how often the first one does, which best-first reading answers from before any other."""
    seen = [case for case in cases if case.id in rows]
    found = [gold_retrieved(rows[case.id], case) for case in seen]
    first = [gold_retrieved(rows[case.id], case, within=1) for case in seen]
    return {
        "gold_in_passages": mean_ci([value for value in found if value is not None]),
        "gold_in_first": mean_ci([value for value in first if value is not None]),
        "latency_s": distribution([rows[case.id]["retrieval_s"] for case in cases if case.id in rows]),
    }


def _timing(predictions: list[Prediction], key: str) -> list[float]:
    return [float(p.timings[key]) for p in predictions if key in p.timings]


def _case_counts(cases: list[Case]) -> dict[str, int]:
    unanswerable = sum(case.impossible for case in cases)
    return {"selected": len(cases), "answerable": len(cases) - unanswerable, "unanswerable": unanswerable}


def _load_error(meta: list[dict[str, Any]]) -> str | None:
    """The latest worker's load failure, if the latest worker failed to load."""
    return meta[-1].get("load_error") if meta else None
