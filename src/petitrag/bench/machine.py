"""What a benchmark ran on: the CPU, its memory, and the llama.cpp build's CPU features.

Speed and memory only compare between runs on the same machine and the same build: a Xeon
whose llama.cpp uses AMX reads prompts 1.4–1.6× faster than the same Xeon without it (BENCHMARKS
"Session 21"). The report says both, so that two reports are not compared blindly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from petitrag.errors import MissingDependencyError

# Not worth a mention: what every x86-64 CPU of the last decade has, and build options always on.
_BASELINE = {"SSE3", "SSSE3", "LLAMAFILE", "OPENMP", "REPACK"}


def machine() -> dict[str, Any]:
    """CPU model, logical CPUs usable by this process, and total memory (None where unknown)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": _cpu_name(), "cpus": cpus, "memory_gib": _memory_gib()}


def llama_cpp_engine() -> str | None:
    """The version of llama-cpp-python and the CPU features its llama.cpp was built with, e.g.
    "llama-cpp-python 0.3.36 (AVX512, AMX_INT8)"; None when it is not installed."""
    from petitrag.generation.llama_cpp import (  # numpy & co: only where a model runs
        build_features,
        import_llama_cpp,
    )

    try:
        llama_cpp = import_llama_cpp()
    except MissingDependencyError:
        return None
    features = [name for name in build_features() if name not in _BASELINE]
    return f"llama-cpp-python {llama_cpp.__version__} ({', '.join(features) or 'no SIMD'})"


def _cpu_name() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    import platform

    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None
