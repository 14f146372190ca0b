"""K-quant GGUF files run as a Q4_1 or Q8_0 copy where llama.cpp multiplies with AMX.

llama.cpp's AMX kernels multiply Q4_0, Q4_1 and Q8_0 weights with int8 tiles, but K-quants
(Q4_K_M: the catalog's Qwen files) through a slower path that unpacks every weight block
again for each 32 prompt tokens. A Q4_K sub-block of 32 weights is a 4-bit affine grid, which
Q4_1 (one scale and one minimum per 32 weights) holds nearly exactly, and Q4_1's activations
are quantised per 32 values instead of 256. On the Xeon, the 1.5B model (BENCHMARKS "Session
22"): a first pass of 220 tokens 1.76 → 1.41 s, decoding 11.3 → 14.4 tokens/s, and the copy
predicts French and English text no worse (mean NLL 2.839 → 2.837 and 2.071 → 2.044). A file
labelled Q4_K_M may hold mostly 5- and 8-bit tensors (Qwen 0.5B's does): its Q4_1 copy is then
smaller and predicts worse, so such a file gets a Q8_0 copy instead, which loses nothing (0.5B:
first pass 1.23 → 0.60 s, decoding 20.0 → 22.4 tokens/s, NLL equal). Q5_K and Q6_K files go
through the same slow path and would lose bits as Q4_1: they get a Q8_0 copy (the 1.5B model as
Q6_K: first pass 2.21 → 1.45 s, decoding 8.0 → 10.9 tokens/s, NLL lower; peak memory 2.8 → 3.8 GB,
BENCHMARKS "Session 23"). Q3_K files too, into Q4_1 (the 1.5B model as Q3_K_M: first pass 1.85 →
1.44 s, decoding 13.1 → 17.5 tokens/s, NLL lower, 924 → 1,163 MB; "Session 24").

So with ``requantize = "auto"`` the first load converts such a file once, with llama.cpp's own
quantiser (seconds), into the cache, and later loads use the copy. CPUs without AMX keep the
original file: there K-quants are the faster format (session 7: Q4_0 read prompts 15 % slower).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import hashlib
import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from petitrag.errors import GenerationError, MissingDependencyError
from petitrag.generation.gguf_info import LLAMA_LOGGER, file_type_names, read_info
from petitrag.logs import silenced

#: llama_ftype values (llama.h) of the K-quants converted: 3- and 4-bit ones become Q4_1 (or
#: Q8_0 where Q4_1 would hold fewer bits), 5- and 6-bit ones Q8_0, which loses nothing. Q2_K
#: stays as it is: its Q4_1 copy predicts French worse (BENCHMARKS "Session 24")
K_QUANTS = {11, 12, 13, 14, 15, 16, 17, 18}  # Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K
TO_Q4_1 = {11, 12, 13, 14, 15}
#: llama_ftype of a copy, and its size over a Q4_K_M file's
TARGETS = {
    "q4_1": (3, 1.05), "q4_0": (2, 0.96), "q8_0": (7, 1.7), "q4_k_m": (15, 1.0), "q5_k_m": (17, 1.2),
    "q6_k": (18, 1.4), "q3_k_m": (12, 0.8),
}  # fmt: skip
COPY_KINDS = ("q4_1", "q8_0")  # in order of preference (BENCHMARKS "Session 22")
FOLDER = "requantized"  # under the cache directory: a copy can always be made again

_CONVERTING = threading.Lock()  # two threads loading the same model convert it once


def runnable_path(
    path: Path, mode: str, cache_dir: Path, threads: int, notify: Callable[[str], None] | None = None
) -> Path:
    """The file to load for the model file ``path``: itself, or its copy (made now when
    missing). Never an error: a copy that cannot be made (full disk…) leaves the original."""
    if mode != "auto" or not path.is_file() or not amx_build():  # a missing file: its load says so
        return path
    return requantized(path, cache_dir, threads, notify)


def requantized(
    path: Path, cache_dir: Path, threads: int, notify: Callable[[str], None] | None = None
) -> Path:
    """``path``'s copy when it is a K-quant: Q4_1 for a 4-bit one, unless that holds fewer bits
    than the file (a "Q4_K_M" can be mostly Q5_0 and Q8_0: Qwen 0.5B's is), else Q8_0, which
    loses nothing. What was decided is kept next to the copies: later loads look at file names only."""
    copies = [_copy_path(path, kind, cache_dir) for kind in COPY_KINDS]
    as_is = _copy_path(path, "as-is", cache_dir)
    with _CONVERTING:
        made = next((copy for copy in copies if copy.is_file()), None)
        if made or as_is.is_file():
            return made or path
        _forget_stale(path, cache_dir)
        ftype = file_type(path) or -1
        if ftype not in K_QUANTS:
            _touch(as_is)
            return path
        tell = notify or (lambda message: None)
        kind = file_type_names()[ftype]
        tell(f"converting {path.name} ({kind}) for this CPU's AMX, once: {as_is.parent}")
        try:
            copy = _convert_keeping_bits(path, ftype, *copies, threads)
        except (OSError, GenerationError) as exc:  # full disk, no permission: tried again next time
            tell(f"could not convert {path.name} ({exc}); running it as it is")
            if isinstance(exc, GenerationError):  # llama.cpp refused this file: it would again
                _touch(as_is)
            return path
        if copy == copies[-1]:
            tell(
                f"{path.name} holds 5- to 8-bit tensors: it runs as Q8_0, faster but with more memory "
                '(requantize = "off" runs the file as it is)'
            )
        return copy


def _convert_keeping_bits(path: Path, ftype: int, q4_1: Path, q8_0: Path, threads: int) -> Path:
    """3- and 4-bit: Q4_1, unless it is smaller than the file (bits, so precision, lost); else Q8_0."""
    if ftype in TO_Q4_1:
        convert(path, q4_1, "q4_1", threads)
        if q4_1.stat().st_size >= path.stat().st_size:
            return q4_1
        q4_1.unlink()
    convert(path, q8_0, "q8_0", threads)
    return q8_0


@functools.cache
def amx_build() -> bool:
    """llama.cpp here multiplies with AMX tiles (the AMX build of ``scripts/setup.sh``)."""
    from petitrag.generation.llama_cpp import build_features

    try:
        return "AMX_INT8" in build_features()
    except MissingDependencyError:  # loading a model will say how to install it
        return False


def file_type(path: Path) -> int | None:
    """The GGUF's ``general.file_type`` (a llama_ftype)."""
    info = read_info(path)
    return info.file_type if info else None


def convert(source: Path, target: Path, kind: str, threads: int) -> None:
    """llama.cpp's quantiser, into a temporary file renamed at the end: a crash or a full disk
    never leaves a half-written model under the final name."""
    from petitrag.generation.llama_cpp import import_llama_cpp

    llama_cpp = import_llama_cpp()
    target.parent.mkdir(parents=True, exist_ok=True)
    ftype, ratio = TARGETS[kind]
    needed = source.stat().st_size * ratio + 2**28  # and 256 MB to spare
    if shutil.disk_usage(target.parent).free < needed:
        raise OSError(f"not enough free disk space in {target.parent} ({needed / 1e9:.1f} GB needed)")
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize, params.nthread = ftype, True, threads
    try:
        with silenced(LLAMA_LOGGER):
            failed = llama_cpp.llama_model_quantize(bytes(source), bytes(partial), ctypes.byref(params))
        if failed:
            raise GenerationError(f"llama.cpp could not convert {source}")
        os.replace(partial, target)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def existing_copy(path: Path, cache_dir: Path) -> Path | None:
    """The copy of ``path`` if one was made (nothing is converted here)."""
    return next((copy for kind in COPY_KINDS if (copy := _copy_path(path, kind, cache_dir)).is_file()), None)


def copy_kind(file_name: str) -> str | None:
    """The copy's kind ("Q4_1", "Q8_0") when ``file_name`` is a copy made here, else None."""
    match = _COPY_NAME.search(file_name)
    return match["kind"].upper() if match else None


_COPY_NAME = re.compile(r"\.[0-9a-f]{8}-[0-9a-f]{8}\.(?P<kind>q4_1|q8_0)\.gguf$")


def _copy_path(path: Path, kind: str, cache_dir: Path) -> Path:
    """A copy (or the "runs as it is" marker) of this very file: its path, size and time."""
    stat = path.stat()
    key = f"{_where(path)}-{hashlib.sha256(f'{stat.st_size}|{stat.st_mtime_ns}'.encode()).hexdigest()[:8]}"
    # "-3": Q5_K and Q6_K files are converted since session 23, Q3_K since session 24; an older
    # rule's marker is not read
    suffix = ".as-is-3" if kind == "as-is" else f".{kind}.gguf"
    return cache_dir / FOLDER / f"{path.stem}.{key}{suffix}"


def copies_of(path: Path, cache_dir: Path) -> list[Path]:
    """Every copy and marker made for the file at ``path``, of this version or earlier ones."""
    return sorted((cache_dir / FOLDER).glob(f"{glob.escape(path.stem)}.{_where(path)}-*"))  # "model[1]"


def _forget_stale(path: Path, cache_dir: Path) -> None:
    """Copies of an earlier version of this file (it was replaced): gigabytes nobody loads."""
    for stale in copies_of(path, cache_dir):
        with contextlib.suppress(OSError):
            stale.unlink()


def _where(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]


def _touch(marker: Path) -> None:
    with contextlib.suppress(OSError):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
