"""Run one model's cases in worker processes, turning hangs and crashes into recorded errors.

A case that runs past ``timeout_s`` gets its worker killed and is recorded as a timeout; a
worker that dies mid-case (segfault, out of memory) leaves that case recorded as a crash.
Either way a new worker continues with the remaining cases, so every case ends with exactly
one line in predictions.jsonl. A model that cannot be loaded at all is reported as such.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from petitrag.bench.datasets import Case
from petitrag.bench.models import ModelSpec
from petitrag.bench.rundir import (
    META_DIR,
    WORKER_LOG,
    append_prediction,
    load_all_predictions,
    meta_path,
    repair_predictions,
    write_json,
)
from petitrag.bench.runner import failed
from petitrag.config import SECRET_SETTINGS, Settings
from petitrag.generation.requantize import runnable_path

WORKER = [sys.executable, "-m", "petitrag.bench.worker"]
_SECRET_VARIABLES = {f"PETITRAG_{name.upper()}" for name in SECRET_SETTINGS}
LOAD_TIMEOUT_S = 300.0  # starting Python and loading a model; a larger per-case timeout wins


class Display(Protocol):
    def case_done(self, model: str, seconds: float | None, error_kind: str | None) -> None: ...
    def note(self, text: str) -> None: ...


@dataclass
class Job:
    """What a worker needs; written as JSON next to the run's meta files."""

    out: Path
    model: ModelSpec
    settings: Settings
    collection: str
    lock_fd: int
    timeout_s: float
    command: tuple[str, ...] = tuple(WORKER)

    def write(self, case_ids: list[str]) -> Path:
        path = self.out / META_DIR / f"{self.model.key}.job"
        data = {
            "out": str(self.out), "model": {"key": self.model.key, **self.model.to_json()},
            "settings": self.worker_settings(), "collection": self.collection, "case_ids": case_ids,
            "parent_pid": os.getpid(),
        }  # fmt: skip
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path

    def worker_settings(self) -> dict[str, Any]:
        """Every setting explicit (so env and config files cannot differ), with this model; but
        the keys, which go through the environment (``worker_env``): the file stays in --out."""
        values = self.settings.model_dump(mode="json", exclude=set(SECRET_SETTINGS))
        values.update(model=self.model.model, model_base_url=self.model.base_url)
        return values

    def worker_env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name.upper() not in _SECRET_VARIABLES}
        for name in SECRET_SETTINGS:
            value = getattr(self.settings, name)
            if value:
                env[f"PETITRAG_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
        return env


def run_model(job: Job, cases: list[Case], display: Display) -> str | None:
    """Answer every case (in order) with job.model; returns why the model could not load, if so."""
    if job.model.path is not None:  # a copy made for this CPU: before the load that is timed
        settings = job.settings
        runnable_path(job.model.path, settings.requantize, settings.cache_dir, settings.threads, display.note)
    by_id = {case.id: case for case in cases}
    pending = [case.id for case in cases]
    while pending:
        outcome = _one_worker(job, by_id, pending, display)
        if outcome is not None:
            return outcome
    return None


def _one_worker(job: Job, cases: dict[str, Case], pending: list[str], display: Display) -> str | None:
    """Start a worker on ``pending`` (shrunk in place as cases finish) and watch it until it
    ends or is killed. Returns a load error (also kept in the meta files), or None to go on."""
    repair_predictions(job.out)
    with (job.out / WORKER_LOG).open("a", encoding="utf-8") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {job.model.key}: {len(pending)} cases\n")
        log.flush()
        job_file = job.write(list(pending))
        process = subprocess.Popen(
            [*job.command, str(job_file)], env=job.worker_env(),
            stdout=subprocess.PIPE, stderr=log, text=True, encoding="utf-8", pass_fds=(job.lock_fd,),
        )  # fmt: skip
    try:
        error = _watch(job, process, cases, pending, display)
    finally:
        if process.poll() is None:  # interrupted (Ctrl-C): never leave a worker behind
            _kill(process)
        job_file.unlink(missing_ok=True)
    if error:
        path = meta_path(job.out, job.model.key, process.pid)
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        write_json(path, {**record, "model": job.model.key, "pid": process.pid, "load_error": error})
    return error


def _watch(
    job: Job, process: subprocess.Popen[str], cases: dict[str, Case], pending: list[str], display: Display
) -> str | None:
    events = _reader(process.stdout)
    watch = _Watch(time.monotonic() + max(LOAD_TIMEOUT_S, job.timeout_s))
    progressed = False
    while True:
        try:
            event = events.get(timeout=max(0.05, watch.deadline - time.monotonic()))
        except queue.Empty:
            if time.monotonic() < watch.deadline:
                continue
            _kill(process)
            if watch.case is None:
                return None if progressed else f"the model did not load within {LOAD_TIMEOUT_S:.0f} s"
            message = f"no answer within {job.timeout_s:g} s (worker killed)"
            _record(job, cases[watch.case], "timeout", message, watch.case_started, pending, display)
            return None
        if event is None:  # the worker's stdout closed: it exited
            status = process.wait()
            if watch.case is not None:
                message = f"the worker died ({_describe(status)}) while answering{_last_log_line(job)}"
                _record(job, cases[watch.case], "crash", message, watch.case_started, pending, display)
                return None
            if watch.load_error:
                return watch.load_error
            if not pending or progressed:
                return None  # finished, or stopped between cases: a new worker goes on
            left = f"{len(pending)} cases left"
            return f"the worker exited ({_describe(status)}) with {left}{_last_log_line(job)}"
        kind = event.get("event")
        if kind == "load_error":
            watch.load_error = str(event.get("error"))
        elif kind in ("loaded", "done"):
            if kind == "done" and event.get("case") in pending:
                pending.remove(event["case"])
                progressed = True
                display.case_done(job.model.key, event.get("seconds"), event.get("error_kind"))
            watch.case, watch.deadline = None, time.monotonic() + job.timeout_s
        elif kind == "start":
            watch.case, watch.case_started = str(event["case"]), time.monotonic()
            watch.deadline = watch.case_started + job.timeout_s


@dataclass
class _Watch:
    deadline: float
    case: str | None = None
    case_started: float = 0.0
    load_error: str | None = None


def _record(
    job: Job, case: Case, kind: str, message: str, since: float, pending: list[str], display: Display
) -> None:
    """Write the error line for the case in flight, unless its answer landed just before."""
    pending.remove(case.id)
    if case.id not in load_all_predictions(job.out).get(job.model.key, {}):
        append_prediction(job.out, failed(case, job.model.key, kind, message, time.monotonic() - since))
    display.case_done(job.model.key, time.monotonic() - since, kind)
    display.note(f"{job.model.key}: case {case.id}: {message}")


def _reader(stream: IO[str] | None) -> queue.Queue[dict[str, Any] | None]:
    """Events from the worker's stdout on a queue; None marks the end."""
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def pump() -> None:
        for line in stream or ():
            with contextlib.suppress(json.JSONDecodeError):
                row = json.loads(line)
                if isinstance(row, dict):
                    events.put(row)
        events.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return events


def _kill(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()


def _describe(status: int) -> str:
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-status).name}"
        return f"signal {-status}"
    return f"exit status {status}"


def _last_log_line(job: Job) -> str:
    """The worker's last words (stderr), for the error message."""
    with contextlib.suppress(OSError):
        lines = [line for line in (job.out / WORKER_LOG).read_text(encoding="utf-8").splitlines() if line]
        if lines and not lines[-1].startswith("---"):
            return f": {lines[-1][:200]}"
    return ""
