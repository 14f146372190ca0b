"""Homes that cannot be written and names that are hard to type: one clear line, never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import VENV_BIN, run_subprocess

#: what root keeps of a normal user's limits when these capabilities are dropped: its own files
#: stay its own (tmp_path is root's), but a folder or file without write permission is refused
AS_A_USER = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]

NOT_UTF8 = "file name is not valid UTF-8 (rename it, e.g. `convmv -f latin1 -t utf8`)"


def as_a_user(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI, run so that file permissions apply to it (as root: without the
    capabilities that override them)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None or subprocess.run([*AS_A_USER, "true"]).returncode:
            pytest.skip("running as root without a setpriv that can drop capabilities")
        prefix = AS_A_USER
    command = [*prefix, str(VENV_BIN / "petitrag"), "--threads", "1", *args]
    return subprocess.run(command, env=dict(os.environ), text=True, capture_output=True, timeout=300)


def read_only(folder: Path) -> None:
    """`chmod -R a-w folder`."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "lemurs.txt").write_text("Lemurs live on Madagascar.\n")
    return folder


def test_a_home_that_cannot_be_created_is_one_line(home: Path, tmp_path: Path, docs: Path) -> None:
    """`--home rohome/h` under a folder without write permission printed mkdir's traceback."""
    locked = tmp_path / "rohome"
    locked.mkdir(mode=0o555)
    result = as_a_user("--home", str(locked / "h"), "ingest", str(docs), "--no-embed")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: cannot create home {locked / 'h'}: permission denied\n"
    served = as_a_user("--home", str(locked / "h"), "serve", "--no-auth", "--port", "9")  # before binding
    assert (served.returncode, served.stderr) == (
        1,
        f"error: cannot create home {locked / 'h'}: permission denied\n",
    )


def test_a_read_only_home_is_read(home: Path, docs: Path, petitrag: Callable[..., Result]) -> None:
    """A home copied read-only (a backup, a volume mounted :ro) could not even be listed:
    "attempt to write a readonly database", as WAL wanted to write its -shm file."""
    petitrag("ingest", str(docs), "--no-embed")
    read_only(home)
    listed = as_a_user("collections")
    assert listed.returncode == 0, listed.stderr
    assert "│ default    │ 1         │ 1      │ 0/1     │" in listed.stdout
    found = as_a_user("search", "lemurs", "--mode", "bm25")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[1] == "    Lemurs live on Madagascar."
    assert as_a_user("documents").stdout == f"{docs / 'lemurs.txt'}  27 bytes\n"


def test_writing_to_a_read_only_home_is_one_line(
    home: Path, docs: Path, petitrag: Callable[..., Result]
) -> None:
    petitrag("ingest", str(docs), "--no-embed")
    read_only(home)
    removed = as_a_user("documents", "remove", "lemurs.txt")
    assert removed.returncode == 1
    assert removed.stderr == (
        f"error: cannot write to index {home / 'petitrag.sqlite3'}: {home} is read-only\n"
    )
    ingested = as_a_user("ingest", str(docs), "--no-embed")
    assert ingested.returncode == 1
    assert ingested.stderr == (
        f"error: cannot write the lock file {home / 'locks' / 'default.lock'}: permission denied\n"
    )


def latin1(folder: Path, name: bytes) -> str:
    """A path whose name was written by a latin-1 system, as Python receives it from argv."""
    return os.path.join(folder, os.fsdecode(name))


def test_a_latin1_name_given_on_the_command_line(home: Path, tmp_path: Path) -> None:
    """`ingest café.txt` (latin-1) ended in a UnicodeEncodeError traceback from the index;
    the same file met inside a folder was one failed line."""
    cafe = latin1(tmp_path, b"caf\xe9.txt")
    Path(cafe).write_text("okapi\n")
    result = run_subprocess("ingest", cafe, "--no-embed", env=dict(os.environ))
    assert result.returncode == 3
    assert result.stderr.splitlines()[1] == f"  failed   {tmp_path}/caf\\udce9.txt: {NOT_UTF8}"
    missing = run_subprocess("ingest", latin1(tmp_path, b"gone\xe9"), "--no-embed", env=dict(os.environ))
    assert missing.returncode == 3
    assert missing.stderr.splitlines()[1] == f"  failed   {tmp_path}/gone\\udce9: no such file or directory"


def test_removing_a_latin1_name_is_one_line(home: Path, docs: Path, petitrag: Callable[..., Result]) -> None:
    petitrag("ingest", str(docs), "--no-embed")
    result = run_subprocess("documents", "remove", os.fsdecode(b"caf\xe9.txt"), env=dict(os.environ))
    assert result.returncode == 1
    assert result.stderr == (
        "error: no document matching 'caf\\udce9.txt' in collection 'default'; "
        "see `petitrag documents -c default`\n"
    )


def test_a_name_with_a_newline_is_removed_as_listed(
    home: Path, tmp_path: Path, petitrag: Callable[..., Result]
) -> None:
    """`documents` lists "new\\nline.txt" escaped, one file to a line; `documents remove` given
    what it showed found no document."""
    folder = tmp_path / "nl"
    folder.mkdir()
    (folder / "new\nline.txt").write_text("axolotl\n")
    (folder / "bell\x07.txt").write_text("okapi\n")
    petitrag("ingest", str(folder), "--no-embed")
    assert (
        petitrag("documents").stdout == f"{folder}/bell\\x07.txt  6 bytes\n{folder}/new\\nline.txt  8 bytes\n"
    )
    removed = petitrag("documents", "remove", "new\\nline.txt", f"{folder}/bell\\x07.txt")
    assert removed.stderr.splitlines() == [
        f"removed {folder}/new\\nline.txt",
        f"removed {folder}/bell\\x07.txt",
        "ok: 2 documents removed from default",
        "note: ingesting their folder again adds them back (move the files out of it to keep them out)",
    ]


def test_a_name_as_it_is_wins_over_one_that_only_shows_as_it(
    home: Path, tmp_path: Path, petitrag: Callable[..., Result]
) -> None:
    """A file named with a backslash and an n, beside one with a newline: both list alike, and
    typing the backslash names the first."""
    folder = tmp_path / "nl"
    folder.mkdir()
    (folder / "new\nline.txt").write_text("axolotl\n")
    (folder / "new\\nline.txt").write_text("okapi\n")
    petitrag("ingest", str(folder), "--no-embed")
    petitrag("documents", "remove", "new\\nline.txt")
    left = petitrag("documents", "remove", "new\nline.txt")
    assert left.stderr.splitlines()[0] == f"removed {folder}/new\\nline.txt"
    assert petitrag("documents", expect=None).stdout == ""


def test_a_new_collection_cannot_start_with_a_dash(
    home: Path, docs: Path, petitrag: Callable[..., Result]
) -> None:
    """`-c -x` made a collection that `collections delete -x` could not name ("No such option")."""
    result = petitrag("ingest", str(docs), "-c", "-x", "--no-embed", expect=1)
    assert (
        result.stderr
        == "error: collection names cannot start with '-' ('-x' would read as an option); choose another\n"
    )


def test_a_collection_made_with_a_dash_before_keeps_working(
    home: Path, docs: Path, petitrag: Callable[..., Result]
) -> None:
    petitrag("ingest", str(docs), "-c", "old", "--no-embed")
    with sqlite3.connect(home / "petitrag.sqlite3") as db:  # as an earlier version named it
        db.execute("UPDATE collections SET name='-x' WHERE name='old'")
        db.execute("UPDATE documents SET collection='-x'")
        db.execute("UPDATE chunks SET collection='-x'")
    petitrag("ingest", str(docs), "-c", "-x", "--no-embed")
    assert petitrag("collections", "delete", "-y", "--", "-x").stderr.splitlines()[-1] == (
        "ok: deleted collection -x"
    )


def test_a_name_read_as_an_option_says_how_to_give_it(home: Path, docs: Path) -> None:
    result = run_subprocess("collections", "delete", "-x", env=dict(os.environ))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: No such option '-x'. If it is a name, put -- before it: `petitrag collections delete -- -x`"
    )
    removed = run_subprocess("documents", "remove", "notes.md", "-q.txt", env=dict(os.environ))
    assert removed.stderr.splitlines()[-1] == (
        "Error: No such option '-q'. If it is a name, put -- before it: `petitrag documents remove -- -q.txt`"
    )
