"""K-quant models run as a Q4_1 or Q8_0 copy where llama.cpp multiplies with AMX (``requantize``).

The copies are made by llama.cpp's real quantiser. The test K-quant file is SmolLM2 converted
to Q4_K_M once per module (its Q4_1 file is not a K-quant, so it is never converted itself).
Its 576-wide rows do not fit Q4_K's 256-value blocks, so most of its tensors fall back to Q5_0
and Q8_0, like Qwen 0.5B's: its Q4_1 copy would hold fewer bits, and it runs as Q8_0.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from petitrag.config import load_settings
from petitrag.generation import create_generator, requantize
from petitrag.generation.base import GenerationParams
from petitrag.generation.catalog import pull
from petitrag.generation.requantize import copy_kind, file_type, requantized, runnable_path
from tests.test_generation import QUESTION, SMOLLM, needs_smollm

pytestmark = needs_smollm


@pytest.fixture(scope="module")
def k_quant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("llama_cpp")
    assert SMOLLM is not None
    path = tmp_path_factory.mktemp("k-quant") / "smol-q4km.gguf"
    requantize.convert(SMOLLM, path, "q4_k_m", threads=2)
    return path


def test_a_k_quant_is_converted_once_and_the_copy_reused(
    k_quant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    assert file_type(k_quant) == 15  # MOSTLY_Q4_K_M
    copy = requantized(k_quant, tmp_path, 2, told.append)
    assert copy != k_quant and copy.parent == tmp_path / "requantized"
    assert file_type(copy) == 7 and copy_kind(copy.name) == "Q8_0"  # its Q4_1 copy lost bits: not kept
    assert copy.stat().st_size >= k_quant.stat().st_size and copy_kind(k_quant.name) is None
    assert [path.name for path in copy.parent.iterdir()] == [copy.name]  # no Q4_1, no temporary file
    assert len(told) == 2 and "smol-q4km.gguf (Q4_K_M) for this CPU's AMX" in told[0]
    assert "runs as Q8_0, faster but with more memory" in told[1]
    monkeypatch.setattr(requantize, "convert", lambda *args: pytest.fail("converted twice"))
    monkeypatch.setattr(requantize, "file_type", lambda *args: pytest.fail("looked again"))
    assert requantized(k_quant, tmp_path, 2, told.append) == copy and len(told) == 2


def test_q4_1_is_kept_when_it_holds_as_many_bits(
    k_quant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that is Q4_K through and through (Qwen 1.5B's) grows a little as Q4_1: kept."""
    made: list[str] = []

    def convert(source: Path, target: Path, kind: str, threads: int) -> None:
        made.append(kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"GGUF" + bytes(int(source.stat().st_size * 1.04)))

    monkeypatch.setattr(requantize, "convert", convert)
    copy = requantized(k_quant, tmp_path, 2)
    assert made == ["q4_1"] and copy_kind(copy.name) == "Q4_1"


def test_a_6_bit_k_quant_runs_as_q8_0_made_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Q5_K / Q6_K files: Q4_1 would lose bits, so Q8_0 is the only copy made (even where an
    earlier version had decided to run the file as it is)."""
    assert SMOLLM is not None
    q6_k = tmp_path / "smol-q6k.gguf"
    requantize.convert(SMOLLM, q6_k, "q6_k", threads=2)
    q8_0 = requantize._copy_path(q6_k, "q8_0", tmp_path)
    q8_0.parent.mkdir()
    q8_0.with_name(q8_0.name.replace(".q8_0.gguf", ".as-is")).touch()  # session 22 ran Q6_K as it was
    made: list[str] = []
    real = requantize.convert
    monkeypatch.setattr(requantize, "convert", lambda *args: (made.append(args[2]), real(*args))[1])
    told: list[str] = []
    copy = requantized(q6_k, tmp_path, 2, told.append)
    assert file_type(q6_k) == 18 and made == ["q8_0"] and file_type(copy) == 7
    assert "(Q6_K) for this CPU's AMX" in told[0] and "runs as Q8_0" in told[1]
    assert sorted(path.name for path in copy.parent.iterdir()) == [copy.name]  # the old marker went


def test_a_3_bit_k_quant_runs_as_q4_1_even_where_an_earlier_version_ran_it_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Q3_K files took AMX's slow path too; their Q4_1 copy predicts text better (Session 24)."""
    assert SMOLLM is not None
    q3_k = tmp_path / "smol-q3k.gguf"
    requantize.convert(SMOLLM, q3_k, "q3_k_m", threads=2)
    (tmp_path / requantize.FOLDER).mkdir()
    old = requantize._copy_path(q3_k, "as-is", tmp_path)
    old.with_name(old.name.replace(".as-is-3", ".as-is-2")).touch()  # session 23 ran Q3_K as it was
    made: list[str] = []
    real = requantize.convert
    monkeypatch.setattr(requantize, "convert", lambda *args: (made.append(args[2]), real(*args))[1])
    copy = requantized(q3_k, tmp_path, 2)
    assert file_type(q3_k) == 12 and made == ["q4_1"] and file_type(copy) == 3
    assert sorted(path.name for path in copy.parent.iterdir()) == [copy.name]  # the old marker went


def test_a_file_that_is_no_k_quant_runs_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SMOLLM is not None
    assert requantized(SMOLLM, tmp_path, 2) == SMOLLM  # Q4_1 already
    assert [path.suffix for path in (tmp_path / "requantized").iterdir()] == [".as-is-3"]
    monkeypatch.setattr(requantize, "file_type", lambda *args: pytest.fail("looked again"))
    assert requantized(SMOLLM, tmp_path, 2) == SMOLLM  # decided once per file
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + os.urandom(4096))
    monkeypatch.undo()
    assert requantized(corrupt, tmp_path, 2) == corrupt  # loading it will say what is wrong


def test_a_replaced_model_file_gets_a_new_copy_and_the_old_one_goes(k_quant: Path, tmp_path: Path) -> None:
    source = tmp_path / "model.gguf"
    source.write_bytes(k_quant.read_bytes())
    first = requantized(source, tmp_path, 2)
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))  # a new version
    second = requantized(source, tmp_path, 2)
    assert second != first and second.is_file() and not first.exists()


def test_no_room_for_a_copy_leaves_the_original(
    k_quant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    monkeypatch.setattr(requantize.shutil, "disk_usage", lambda path: type("U", (), {"free": 1000})())
    assert requantized(k_quant, tmp_path, 2, told.append) == k_quant
    assert "not enough free disk space" in told[-1] and "running it as it is" in told[-1]
    assert not [path for path in (tmp_path / "requantized").iterdir() if path.suffix == ".gguf"]


def test_auto_converts_only_where_llama_cpp_has_amx(
    k_quant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requantize, "amx_build", lambda: False)
    assert runnable_path(k_quant, "auto", tmp_path, 2) == k_quant
    monkeypatch.setattr(requantize, "amx_build", lambda: True)
    assert runnable_path(k_quant, "off", tmp_path, 2) == k_quant
    assert copy_kind(runnable_path(k_quant, "auto", tmp_path, 2).name) == "Q8_0"


def test_an_answer_model_runs_from_its_copy(
    k_quant: Path, home: Path, monkeypatch: pytest.MonkeyPatch, petitrag: Callable[..., Result]
) -> None:
    """What a user sees: `models pull` of a K-quant file says what it runs as, `models list`
    shows it, and the generator answers from the copy."""
    monkeypatch.setattr(requantize, "amx_build", lambda: True)
    pulled = petitrag("models", "pull", str(k_quant), "--name", "smol-k")
    assert "(Q4_K_M) for this CPU's AMX" in pulled.stderr and "runs as " in pulled.stderr
    line = next(line for line in petitrag("models", "list").stdout.splitlines() if "smol-k" in line)
    assert "Q4_K_M (runs as Q8_0)" in line
    settings = load_settings()
    generator = create_generator(settings, "smol-k")
    assert copy_kind(Path(generator.model_path).name) == "Q8_0"  # type: ignore[attr-defined]
    assert generator.name == "smol-k"
    assert generator.complete(QUESTION, GenerationParams(max_tokens=8)).text.strip()
    monkeypatch.setenv("PETITRAG_REQUANTIZE", "off")
    assert create_generator(load_settings(), "smol-k").model_path == k_quant  # type: ignore[attr-defined]
    assert pull(load_settings(), str(k_quant), name="smol-k") == k_quant
