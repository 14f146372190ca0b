"""The output folder of a benchmark: what makes it resumable and re-scorable.

``--out DIR`` holds:

- ``run.json`` — what the predictions depend on (dataset checksum, collection, retrieval and
  generation settings). A later run with the same identity resumes; another one is refused.
- ``cases.jsonl`` — the selected questions; ``retrieval.jsonl`` — the passages retrieved once
  per question and replayed to every model (so only the model differs).
- ``predictions.jsonl`` — one line per (model, case), appended as answers come: a killed run
  loses at most the answer in flight.
- ``meta/<model>-<pid>.json`` — one per worker process: load time and peak RSS.
- ``results.json``, ``report.md``, ``pareto.png`` — rebuilt from the above at the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from petitrag.bench.datasets import Case
from petitrag.bench.runner import Prediction
from petitrag.errors import ConfigError

RUN_FILE = "run.json"
PREDICTIONS = "predictions.jsonl"
CASES = "cases.jsonl"
RETRIEVAL = "retrieval.jsonl"
RESULTS = "results.json"
REPORT = "report.md"
PARETO = "pareto.png"
META_DIR = "meta"
LOCK = ".lock"
WORKER_LOG = "worker.log"  # the workers' stderr (supervisor.py)
ROUTING = ("routing.json", "routing.png")  # written by ``bench --route`` (routing/bench.py)
_OWNED = (RUN_FILE, PREDICTIONS, CASES, RETRIEVAL, RESULTS, REPORT, PARETO, META_DIR, LOCK, WORKER_LOG,
          *ROUTING)  # fmt: skip


def check_same_run(out: Path, identity: dict[str, Any]) -> dict[str, Any]:
    """For read-only use (``--report-only``, even while a run goes on): ``out`` holds a run of
    this test set; returns that run's identity, which its report describes. The answer
    settings are the run's own: repeating every one of them (or an unrelated PETITRAG_* in
    the shell) used to be required, and the error suggested --fresh, which deletes answers."""
    if not (out / RUN_FILE).is_file():
        raise ConfigError(f"{out} holds no benchmark run to report on")
    previous = _read_json(out / RUN_FILE)
    if (previous.get("dataset"), previous.get("dataset_sha256")) != (
        identity["dataset"],
        identity["dataset_sha256"],
    ):
        raise ConfigError(
            f"{out} holds a run of {previous.get('dataset')!r}, not of this {identity['dataset']!r} "
            "(or the file changed since): give the test set it ran on"
        )
    return previous


def prepare(out: Path, identity: dict[str, Any], fresh: bool) -> None:
    """Check that ``out`` (created and locked by ``locked``) is new or holds this same run.

    The same run resumes; another is refused unless ``fresh``, which deletes only the files
    a benchmark writes.
    """
    run_file = out / RUN_FILE
    if run_file.is_file():
        if not fresh:
            _refuse_other_run(out, identity)
    elif any(path.name != LOCK for path in out.iterdir()):
        raise ConfigError(f"{out} is not empty and holds no benchmark run; choose an empty or new --out")
    if fresh:
        for name in _OWNED:
            path = out / name
            if name == LOCK:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (out / META_DIR).mkdir(exist_ok=True)
    write_json(run_file, identity)


def _refuse_other_run(out: Path, identity: dict[str, Any]) -> None:
    previous = _read_json(out / RUN_FILE)
    changed = sorted(key for key in identity if previous.get(key) != identity[key])
    if changed:
        detail = ", ".join(f"{key} {previous.get(key)!r} ≠ {identity[key]!r}" for key in changed[:3])
        raise ConfigError(
            f"{out} holds another benchmark run ({detail}); choose another --out, or --fresh to start over"
        )


@contextlib.contextmanager
def locked(out: Path) -> Iterator[int]:
    """Hold the folder for one run; yields the lock's fd so workers can inherit (and keep) it.

    An orphaned worker (its parent killed) keeps the lock until it stops, so a new run never
    writes next to it.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another benchmark run is using {out}; wait for it or choose another --out"
            ) from None
        yield fd
    finally:
        os.close(fd)


# --- predictions ----------------------------------------------------------------------------


def repair_predictions(out: Path) -> None:
    """Drop a half-written last line (a process killed mid-write) so appends start clean."""
    path = out / PREDICTIONS
    if not path.is_file() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def append_prediction(out: Path, prediction: Prediction) -> None:
    """One whole line per write, flushed and synced: the file is the run's memory."""
    line = json.dumps(prediction.to_json(), ensure_ascii=False) + "\n"
    with (out / PREDICTIONS).open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def load_all_predictions(out: Path) -> dict[str, dict[str, Prediction]]:
    """model → case id → its prediction (the first one written wins, unless it failed with an
    error and was asked again; broken lines skipped)."""
    found: dict[str, dict[str, Prediction]] = {}
    for row in read_jsonl(out / PREDICTIONS):
        prediction = Prediction.from_json(row)
        answers = found.setdefault(prediction.model, {})
        earlier = answers.get(prediction.case_id)
        if earlier is None or to_ask_again(earlier):
            answers[prediction.case_id] = prediction
    return found


def to_ask_again(prediction: Prediction) -> bool:
    """A question that failed with an error (a model server down, a 500) is asked again when
    the run resumes: it tells nothing of the model, and the only way to retry was --fresh,
    which deletes every model's answers. Timeouts, crashes and invalid outputs stay."""
    return prediction.error is not None and (prediction.error_kind or "error") == "error"


def load_predictions(out: Path, model: str, case_ids: list[str] | None = None) -> list[Prediction]:
    """The predictions of one model (in ``case_ids`` order when given): re-score, re-route, plot."""
    by_case = load_all_predictions(Path(out)).get(model, {})
    if case_ids is None:
        return list(by_case.values())
    return [by_case[case_id] for case_id in case_ids if case_id in by_case]


# --- cases, meta, json helpers --------------------------------------------------------------


def write_cases(out: Path, cases: list[Case]) -> None:
    rows = [
        {"id": c.id, "question": c.question, "answers": c.answers, "impossible": c.impossible,
         "source": c.source}
        for c in cases
    ]  # fmt: skip
    write_jsonl(out / CASES, rows)


def read_cases(out: Path) -> list[Case]:
    return [
        Case(row["id"], row["question"], row["answers"], row["impossible"], row.get("source"))
        for row in read_jsonl(out / CASES)
    ]


def meta_path(out: Path, model: str, pid: int) -> Path:
    return out / META_DIR / f"{model}-{pid}.json"


def read_meta(out: Path, model: str) -> list[dict[str, Any]]:
    """The records of every worker process that ran ``model``, oldest first."""
    records = []
    for path in sorted((out / META_DIR).glob("*.json"), key=lambda p: p.stat().st_mtime):
        record = _read_json(path)
        if record.get("model") == model:
            records.append(record)
    return records


def write_json(path: Path, data: Any) -> None:
    """Write-then-rename: readers never see half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(temporary, path)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            with contextlib.suppress(json.JSONDecodeError):
                row = json.loads(line)
                if isinstance(row, dict):
                    yield row


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def append_report(out: Path, lines: list[str]) -> None:
    """Add a section at the end of report.md (routing, abstention: computed after the main report)."""
    report = out / REPORT
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    report.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
