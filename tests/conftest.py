"""Shared fixtures: an isolated PETITRAG_HOME per test and a CLI runner."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from petitrag.cli import cli
from petitrag.demo import sample_corpus

VENV_BIN = Path(sys.executable).parent

#: the stable `ask --json` contract, in order
ASK_JSON_KEYS = [
    "answer",
    "abstained",
    "language",
    "model",
    "citations",
    "confidence",
    "escalated",
    "timings",
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory; every PETITRAG_* variable of the caller is cleared."""
    for name in list(os.environ):
        if name.startswith("PETITRAG_"):
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("PETITRAG_HOME", str(path))
    monkeypatch.setenv("PETITRAG_THREADS", "2")
    return path


@contextmanager
def petitrag_env(home: Path, **settings: str) -> Iterator[None]:
    """For module-scoped fixtures: none of the caller's PETITRAG_*, this home, 2 threads, these settings."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("PETITRAG_")]:
            patch.delenv(name)
        patch.setenv("PETITRAG_HOME", str(home))
        patch.setenv("PETITRAG_THREADS", "2")
        for key, value in settings.items():
            patch.setenv(f"PETITRAG_{key.upper()}", value)
        yield


@pytest.fixture
def petitrag(home: Path) -> Callable[..., Result]:
    """Run the CLI in-process like a user would: petitrag("search", "query", "--json")."""
    runner = CliRunner()

    def run(*args: str, expect: int | None = 0, input: str | None = None) -> Result:
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, result.output + result.stderr
        return result

    return run


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(sample_corpus(), target)
    return target


def run_subprocess(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user's shell would."""
    return subprocess.run(
        [str(VENV_BIN / "petitrag"), *args], env=env, text=True, capture_output=True, **kwargs
    )


HOLD_LOCK = """
import sys
from pathlib import Path
from petitrag.index.locks import collection_lock
with collection_lock(Path(sys.argv[1]), sys.argv[2], "ingest into"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def hold_collection_lock(home: Path, collection: str) -> Iterator[int]:
    """Another process holds the collection's ingest lock until the block ends, then is killed
    (as an ingest killed mid-run would be); yields its pid."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(home), collection],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def dump_index(db_path: Path) -> list[tuple[object, ...]]:
    """Everything that defines the index content (not timestamps), for equality checks."""
    with sqlite3.connect(db_path) as db:
        documents = db.execute(
            "SELECT collection, path, sha256, format, title, pages, text FROM documents ORDER BY path"
        )
        chunks = db.execute(
            "SELECT c.chunk_id, d.path, c.ord, c.text, c.section, c.page, c.char_start, c.char_end,"
            " c.language, c.lexical, c.vector FROM chunks c JOIN documents d ON d.id = c.document_id"
            " ORDER BY c.chunk_id"
        )
        return [*documents.fetchall(), *chunks.fetchall()]
