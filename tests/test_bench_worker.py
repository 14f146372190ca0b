"""The supervisor turns worker crashes, hangs and load failures into recorded errors.

Fake workers (tiny scripts speaking the worker's event protocol) crash, hang or fail on
purpose; the real worker is exercised end to end in test_bench.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from petitrag.bench.datasets import Case
from petitrag.bench.models import ModelSpec
from petitrag.bench.rundir import META_DIR, load_predictions, read_meta
from petitrag.bench.supervisor import Job, run_model
from petitrag.bench.worker import Orphaned, _emit
from petitrag.config import Settings

FAKE_WORKER = r"""
import json, os, signal, sys, time
mode, job = sys.argv[1], json.load(open(sys.argv[2]))
def emit(**event):
    print(json.dumps(event), flush=True)
if mode == "unloadable":
    emit(event="load_error", error="cannot load model m: not a valid GGUF file")
    sys.exit(3)
if mode == "dies":
    print("fatal: out of cheese", file=sys.stderr)
    sys.exit(1)
emit(event="loaded", load_s=0.0)
for case in job["case_ids"]:
    emit(event="start", case=case)
    if case == "boom":
        os.kill(os.getpid(), signal.SIGKILL)
    if case == "hang":
        time.sleep(60)
    row = {"case_id": case, "model": job["model"]["key"], "question": "q", "gold": ["a"],
           "impossible": False, "prediction": "a", "timings": {"total_s": 0.1}}
    with open(os.path.join(job["out"], "predictions.jsonl"), "a") as out:
        out.write(json.dumps(row) + "\n")
    emit(event="done", case=case, seconds=0.1, error_kind=None)
"""


class Recorder:
    def __init__(self) -> None:
        self.done: list[str | None] = []
        self.notes: list[str] = []

    def case_done(self, model: str, seconds: float | None, error_kind: str | None) -> None:
        self.done.append(error_kind)

    def note(self, text: str) -> None:
        self.notes.append(text)


def run(
    tmp_path: Path, mode: str, case_ids: list[str], timeout_s: float = 5.0
) -> tuple[str | None, Recorder]:
    out = tmp_path / "out"
    (out / META_DIR).mkdir(parents=True)
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    lock_fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT)
    spec = ModelSpec("m", "m", "m", path=tmp_path / "m.gguf", file_bytes=1)
    job = Job(
        out, spec, Settings(home=tmp_path), "c", lock_fd, timeout_s, (sys.executable, str(script), mode)
    )
    recorder = Recorder()
    try:
        error = run_model(job, [Case(i, f"question {i}?", ["a"]) for i in case_ids], recorder)
    finally:
        os.close(lock_fd)
    return error, recorder


def test_crash_and_hang_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    error, recorder = run(tmp_path, "normal", ["a", "boom", "b", "hang", "c"], timeout_s=1.0)
    assert error is None
    predictions = load_predictions(tmp_path / "out", "m")
    assert [(p.case_id, p.error_kind) for p in predictions] == [
        ("a", None), ("boom", "crash"), ("b", None), ("hang", "timeout"), ("c", None)
    ]  # fmt: skip
    assert "signal SIGKILL" in str(predictions[1].error) and "1 s" in str(predictions[3].error)
    assert predictions[3].timings["total_s"] == pytest.approx(1.0, abs=0.5)
    assert recorder.done == [None, "crash", None, "timeout", None]
    assert len(recorder.notes) == 2
    assert not list((tmp_path / "out" / META_DIR).glob("*.job"))  # read by the worker, then deleted


def test_a_model_that_cannot_load_is_reported_with_its_reason(tmp_path: Path) -> None:
    error, recorder = run(tmp_path, "unloadable", ["a", "b"])
    assert error == "cannot load model m: not a valid GGUF file" and recorder.done == []
    assert read_meta(tmp_path / "out", "m")[-1]["load_error"] == error  # kept for report-only runs
    assert not (tmp_path / "out" / "predictions.jsonl").exists()


def test_a_worker_dying_before_any_answer_does_not_loop(tmp_path: Path) -> None:
    error, _ = run(tmp_path, "dies", ["a", "b"])
    assert error == "the worker exited (exit status 1) with 2 cases left: fatal: out of cheese"
    log = (tmp_path / "out" / "worker.log").read_text()
    assert log.count("--- ") == 1  # started once, not retried forever


def test_the_job_pins_every_setting_and_the_model(tmp_path: Path) -> None:
    spec = ModelSpec("api", "api@http://h/v1", "api", base_url="http://h/v1")
    job = Job(tmp_path, spec, Settings(home=tmp_path, threads=3, model="other"), "c", 0, 1.0)
    (tmp_path / META_DIR).mkdir()
    data = json.loads(job.write(["x"]).read_text())
    assert data["settings"]["threads"] == 3 and data["settings"]["model"] == "api"
    assert data["settings"]["model_base_url"] == "http://h/v1" and data["case_ids"] == ["x"]
    assert Settings(**data["settings"]).model == "api"  # what the worker rebuilds


def test_keys_reach_the_worker_through_its_environment_never_the_job_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job file is written in --out, which users share: it held the API keys in clear."""
    settings = Settings(home=tmp_path, model_api_key="sk-secret-1", serve_api_keys={"key-secret-2": ["*"]})
    job = Job(
        tmp_path, ModelSpec("api", "api@http://h/v1", "api", base_url="http://h/v1"), settings, "c", 0, 1.0
    )
    (tmp_path / META_DIR).mkdir()
    written = job.write(["x"]).read_text()
    assert "secret" not in written
    env = job.worker_env()
    assert env["PETITRAG_MODEL_API_KEY"] == "sk-secret-1" and "PETITRAG_EMBEDDER_API_KEY" not in env
    for name in [n for n in os.environ if n.startswith("PETITRAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(os, "environ", env)
    rebuilt = Settings(**json.loads(written)["settings"])
    assert rebuilt.model_api_key == "sk-secret-1" and rebuilt.serve_api_keys == {"key-secret-2": ["*"]}


def test_a_worker_whose_parent_died_stops_quietly(tmp_path: Path) -> None:
    """The events pipe closes with the parent: the worker stops with no traceback, and the
    buffered line Python flushes at exit goes nowhere instead of raising again."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    events = os.fdopen(write_end, "w", buffering=1, encoding="utf-8")
    with pytest.raises(Orphaned):
        _emit(events, "done", case="1")
    events.write("flushed at exit\n")
    events.flush()  # now writes to /dev/null
    events.close()
