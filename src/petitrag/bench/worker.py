"""One model over the pending cases, in its own process: ``python -m petitrag.bench.worker JOB``.

Why a process per model: its peak RSS and load time are the model's alone; a crash in
native code (llama.cpp) or a hung generation kills one worker, not the run (the parent
records the case in flight as a crash or timeout and starts a new worker for the rest);
and memory is returned between models.

Protocol: JSON lines on the original stdout — ``loaded``, then ``start``/``done`` per case
(or ``load_error``); anything else the libraries print goes to stderr. Each prediction is
appended to predictions.jsonl before its ``done`` event; the per-process meta file
(load time, RSS) is rewritten after each case.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from petitrag.bench.datasets import Case
from petitrag.bench.machine import llama_cpp_engine, machine
from petitrag.bench.rundir import (
    RETRIEVAL,
    append_prediction,
    meta_path,
    read_cases,
    read_jsonl,
    write_json,
)
from petitrag.bench.runner import Prediction, failed, predict
from petitrag.config import Settings
from petitrag.errors import PetitragError

LOAD_FAILED = 3  # exit status when the model cannot be loaded


class Orphaned(Exception):
    """The parent is gone (killed, or its terminal closed): nobody reads the events any more."""


def main(argv: list[str]) -> int:
    events = _claim_stdout()
    try:
        return _run(argv, events)
    except Orphaned:
        return 0  # what it answered is saved; a new run resumes the rest


def _run(argv: list[str], events: TextIO) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out, model = Path(job["out"]), job["model"]["key"]
    settings = Settings(**job["settings"])
    cases = {case.id: case for case in read_cases(out)}
    pending = [cases[case_id] for case_id in job["case_ids"]]
    meta: dict[str, Any] = {"model": model, "pid": os.getpid(), "started": time.time(), "machine": machine(),
                            "rss_before_load_mb": _peak_rss_mb(), "cases": 0,
                            "spec": job["model"]}  # fmt: skip
    save_meta = lambda: write_json(meta_path(out, model, os.getpid()), meta)  # noqa: E731
    started = time.perf_counter()
    try:
        answerer, replay = _answerer(settings, out, job["collection"], pending)
    except PetitragError as exc:
        meta["load_error"] = str(exc)
        save_meta()
        _emit(events, "load_error", error=str(exc))
        return LOAD_FAILED
    meta.update(load_s=round(time.perf_counter() - started, 4), rss_after_load_mb=_peak_rss_mb())
    if job["model"]["kind"] == "local":  # speeds compare only between the same builds
        meta["engine"] = llama_cpp_engine()
        meta["model_file"] = Path(answerer.generator.model_path).name  # a copy made for this CPU?
    save_meta()
    _emit(events, "loaded", load_s=meta["load_s"])
    for case in pending:
        if os.getppid() != job["parent_pid"]:
            break  # orphaned: the parent was killed; a new run will resume these cases
        _emit(events, "start", case=case.id)
        prediction = _answer(answerer, case, model)
        _replay_time(prediction, replay.retrieval_s(case.question))
        append_prediction(out, prediction)
        meta.update(cases=meta["cases"] + 1, peak_rss_mb=_peak_rss_mb())
        save_meta()
        _emit(events, "done", case=case.id, seconds=prediction.timings.get("total_s"),
              error_kind=prediction.error_kind)  # fmt: skip
    return 0


def _answerer(settings: Settings, out: Path, collection: str, cases: list[Case]) -> tuple[Any, Any]:
    """Load the model (timed by the caller) and wire it to the replayed passages."""
    from petitrag.answer.pipeline import Answerer
    from petitrag.bench.retrieval import ReplayRetriever
    from petitrag.generation import create_generator
    from petitrag.index.store import Store

    wanted = {case.id for case in cases}
    rows = [row for row in read_jsonl(out / RETRIEVAL) if row["case_id"] in wanted]
    generator = create_generator(settings)
    replay = ReplayRetriever(settings, Store(settings.db_path), collection, rows)
    return Answerer(settings, replay, generator, for_report=True), replay


def _answer(answerer: Any, case: Case, model: str) -> Prediction:
    """predict() records known errors; anything else is a crash of this case, not of the run."""
    started = time.perf_counter()
    try:
        prediction = predict(answerer, case)
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        message = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        prediction = failed(case, model, "crash", message, time.perf_counter() - started)
    prediction.model = model
    return prediction


def _replay_time(prediction: Prediction, retrieval_s: float) -> None:
    """Put the real search time (measured once, in the parent) into the timings, so latency
    is that of a real question and not of a replayed one."""
    timings = prediction.timings
    delta = retrieval_s - timings.get("retrieval_s", 0.0)
    timings["retrieval_s"] = round(retrieval_s, 4)
    for key in ("ttft_s", "total_s"):
        if key in timings:
            timings[key] = round(timings[key] + delta, 4)


def _peak_rss_mb() -> float:
    """High-water resident memory of this process (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _claim_stdout() -> TextIO:
    """Keep the real stdout for events; send stray library prints to stderr instead."""
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    return events


def _emit(events: TextIO, event: str, **data: Any) -> None:
    """One event line; a closed pipe means the parent died: stop quietly, not with a traceback
    in worker.log (and none at exit either, when Python flushes the buffer once more)."""
    try:
        events.write(json.dumps({"event": event, **data}) + "\n")
        events.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, events.fileno())
        os.close(devnull)
        raise Orphaned from None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
