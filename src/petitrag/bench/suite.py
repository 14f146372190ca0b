"""``petitrag bench``: one test set, several models, the same retrieval; a verdict against a bar.

Steps, each reusable on its own (``bench --route`` builds on them): ``prepare_cases`` (test
set → selected cases, corpus ingested once into a collection), ``retrieve_cases`` (passages
searched once per question), ``run_models`` (one worker process per model, resumable), and
``finish`` (results.json, report.md, pareto.png from the files of the output folder).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from petitrag.bench.abstention import GATES, report_lines, suggest_all
from petitrag.bench.cost import CostModel
from petitrag.bench.datasets import Case, Dataset, load_dataset, write_corpus
from petitrag.bench.display import bench_display
from petitrag.bench.models import ModelSpec, parse_models
from petitrag.bench.plot import write_pareto
from petitrag.bench.report import write_report
from petitrag.bench.results import build_results
from petitrag.bench.retrieval import retrieve_cases, stored_retrieval
from petitrag.bench.rundir import (
    PARETO,
    REPORT,
    RESULTS,
    append_report,
    check_same_run,
    load_all_predictions,
    locked,
    prepare,
    read_meta,
    to_ask_again,
    write_cases,
    write_json,
)
from petitrag.bench.supervisor import Job, run_model
from petitrag.bench.verdict import Bar
from petitrag.config import Settings
from petitrag.errors import ConfigError
from petitrag.index.store import Store
from petitrag.routing.bench import calibrate_route, models_with_route, route_specs


@dataclass
class BenchOptions:
    dataset: Path
    models: str
    out: Path
    topline: str | None = None
    bar: Bar = field(default_factory=Bar)
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    collection: str | None = None
    timeout_s: float = 180.0
    fresh: bool = False
    report_only: bool = False
    route: str | None = None  # 'small,large': also calibrate routing from both models' predictions
    route_margin: float = 0.03


def run_bench(settings: Settings, options: BenchOptions, console: Console) -> dict[str, Any]:
    """The whole benchmark; returns the results document (also written to ``options.out``)."""
    models = models_with_route(options.models, options.topline, options.route)
    specs = parse_models(settings, models, options.topline)  # fail fast on a bad name
    if options.route:
        route_specs(options.route, specs)
    dataset = load_dataset(options.dataset)
    cases = select(dataset, options)
    collection = options.collection or (
        default_collection(dataset) if dataset.documents else settings.collection
    )
    settings = settings.model_copy(update={"collection": collection})
    identity = run_identity(options.dataset, settings)
    cost = CostModel.from_settings(settings)
    if options.report_only:  # read-only: works on a folder whose run is still going on
        identity = check_same_run(options.out, identity)
        check_same_models(options.out, specs)
        return finish(options, identity, cases, stored_retrieval(options.out, cases), specs, cost)
    if not dataset.documents:  # asked of an existing collection: a typo must not claim --out
        with Store(settings.db_path) as store:
            store.require_collection(collection)
    with locked(options.out) as lock_fd:
        prepare(options.out, identity, options.fresh)
        check_same_models(options.out, specs)
        write_cases(options.out, cases)
        retrieval = prepare_retrieval(settings, dataset, options, cases, console)
        run_models(settings, options, specs, cases, lock_fd, console)
        return finish(options, identity, cases, retrieval, specs, cost)


def check_same_models(out: Path, specs: list[ModelSpec]) -> None:
    """A name that now means another model (a registered name pointed at another file, another
    server) cannot resume its answers: the report would mix two models under one name."""
    for spec in specs:
        now = spec.to_json()
        for record in read_meta(out, spec.key):
            before = record.get("spec")
            fields = ("file_bytes", "base_url", "model")
            if before and (
                any(before.get(field) != now[field] for field in fields)
                or _moved(before.get("path"), now["path"])
            ):
                was = before.get("path") or f"{before.get('model')}@{before.get('base_url')}"
                raise ConfigError(
                    f"{spec.key} answered in {out} as {was}, but now names {spec.path or spec.spec}: "
                    "its answers would mix two models; use another --out, or --fresh to start over"
                )


def _moved(before: str | None, now: str | None) -> bool:
    """Whether two model paths name different files: "home/models/x.gguf" given once relative
    and once absolute is the same file (the run could not resume, and suggested --fresh)."""
    if before is None or now is None:
        return before != now
    return os.path.realpath(before) != os.path.realpath(now)


def select(dataset: Dataset, options: BenchOptions) -> list[Case]:
    if options.limit and options.sample:
        raise ConfigError("give --limit N (the first N questions) or --sample N (a seeded sample), not both")
    cases = dataset.sample(options.sample, options.seed, options.limit)
    if not cases:
        raise ConfigError(f"test set {options.dataset} has no questions")
    return cases


def default_collection(dataset: Dataset) -> str:
    """``bench-<test set>``: SQuAD corpora get a collection of their own, reused by later runs."""
    return ("bench-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset.name))[:64]


def run_identity(dataset_path: Path, settings: Settings) -> dict[str, Any]:
    """What the predictions depend on; a run with another identity cannot resume this one."""
    return {
        "dataset": dataset_path.name,
        "dataset_sha256": hashlib.sha256(dataset_path.read_bytes()).hexdigest(),
        "home": str(settings.home.resolve()),
        "collection": settings.collection,
        "embedder": settings.embedder + (f":{settings.embedder_model}" if settings.embedder_model else ""),
        "search_mode": settings.search_mode,
        "search_k": settings.search_k,
        "fusion": settings.fusion,
        "rrf_k": settings.rrf_k,
        "prompt_budget": settings.prompt_budget,
        "reading": settings.reading,
        "prompt_style": settings.prompt_style,
        "self_check": settings.self_check,
        "min_score": settings.min_score,
        "abstain_below": settings.abstain_below,
        "abstain_above": settings.abstain_above,
        "reread_above": settings.reread_above,
        "reread_below": settings.reread_below,
        "grounded_only": settings.grounded_only,
        "trim_restated": settings.trim_restated,
        "max_tokens": settings.max_tokens,
        "context_size": settings.context_size,
        "flash_attn": settings.flash_attn,
        "requantize": settings.requantize,
        "threads": settings.threads,
    }


def prepare_retrieval(
    settings: Settings, dataset: Dataset, options: BenchOptions, cases: list[Case], console: Console
) -> dict[str, dict[str, Any]]:
    """Ingest a SQuAD corpus (incremental: unchanged files are skipped), then search each case once."""
    from petitrag.app import open_app
    from petitrag.progress import progress_display
    from petitrag.report import print_ingest_report

    with open_app(settings) as app, progress_display() as hook:
        if dataset.documents:
            corpora = settings.home / "corpus"
            files = write_corpus(dataset, corpora / options.dataset.stem)
            report = app.ingestor(hook).run(list(files.values()), settings.collection)
            if report.added or report.updated or report.failed:
                print_ingest_report(console, report, settings.collection)
            _leave_out_other_articles(app.store, settings.collection, corpora, set(map(str, files.values())))
        app.store.require_collection(settings.collection, app.embedder.identity)
        return retrieve_cases(
            app.retriever(), options.out, cases, lambda done, total: hook("search", done, total)
        )


def _leave_out_other_articles(store: Store, collection: str, corpora: Path, current: set[str]) -> None:
    """Questions are answered from this set's articles only: not from those an earlier version
    of it had, nor another set's that maps to the same collection. Only the articles petitrag
    wrote (under ``corpora``) are taken out; a user's own documents in the collection stay."""
    prefix = str(corpora.resolve()) + os.sep
    stale = [doc.path for doc in store.documents(collection) if doc.path.startswith(prefix)]
    store.delete_documents(collection, [path for path in stale if path not in current])


def run_models(
    settings: Settings,
    options: BenchOptions,
    specs: list[ModelSpec],
    cases: list[Case],
    lock_fd: int,
    console: Console,
) -> dict[str, str]:
    """Each model in turn over the cases it has not answered yet; returns load errors by model."""
    done = load_all_predictions(options.out)
    pending = {
        spec.key: [c for c in cases if (p := done.get(spec.key, {}).get(c.id)) is None or to_ask_again(p)]
        for spec in specs
    }
    load_errors = {}
    with bench_display(console) as display:
        for spec in specs:
            display.add(spec.key, len(cases), len(cases) - len(pending[spec.key]))
        for spec in specs:
            if not pending[spec.key]:
                continue
            display.model(spec.key)
            job = Job(options.out, spec, settings, settings.collection, lock_fd, options.timeout_s)
            error = run_model(job, pending[spec.key], display)
            if error:
                load_errors[spec.key] = error
                display.note(f"{spec.key}: model not loaded: {error}")
    return load_errors


def finish(
    options: BenchOptions,
    identity: dict[str, Any],
    cases: list[Case],
    retrieval: dict[str, dict[str, Any]],
    specs: list[ModelSpec],
    cost: CostModel,
) -> dict[str, Any]:
    """results.json, report.md and pareto.png, from what the output folder holds."""
    selection = {"limit": options.limit, "sample": options.sample, "seed": options.seed}
    results = build_results(options.out, identity, selection, cases, retrieval, specs, options.bar, cost)
    case_ids = [case.id for case in cases]
    suggestions = {gate: suggest_all(options.out, specs, case_ids, gate) for gate in GATES}
    results.update({gate.signal: found for gate, found in suggestions.items() if found})
    write_json(options.out / RESULTS, results)
    write_report(options.out / REPORT, results)
    write_pareto(options.out / PARETO, results)
    for gate, found in suggestions.items():
        if found:
            append_report(options.out, report_lines(found, gate))
    if options.route:
        results["routing"] = calibrate_route(
            options.out, Path(identity["home"]), options.route, specs, case_ids, options.route_margin,
            identity["dataset"], identity["fusion"],
        )  # fmt: skip
        write_json(options.out / RESULTS, results)
    return results
