"""Homes that cannot be written and names that are hard to type: one clear line, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN

#: what root keeps of a normal user's limits when these capabilities are dropped: its own files
#: stay its own (tmp_path is root's), but a folder or file without write permission is refused
AS_A_USER = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


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
