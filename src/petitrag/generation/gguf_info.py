"""What a GGUF file says about itself: quantisation, size label, licence (its ``general.*`` keys).

Read by loading the vocabulary only (llama.cpp maps no tensor): a quarter of a second for a
1 GB file. ``requantize`` decides from the file type; ``models list`` shows registered files'.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petitrag.logs import silenced

#: llama.cpp logs every key it reads there; a file it cannot read is reported when loaded
LLAMA_LOGGER = "llama-cpp-python"


@dataclass(frozen=True)
class GgufInfo:
    file_type: int | None  # a llama_ftype (llama.h)
    size_label: str | None  # "1.5B", as the file's maker wrote it
    licence: str | None

    @property
    def quant(self) -> str | None:
        """The file type's name: "Q4_K_M", "Q8_0", "F16"…"""
        return None if self.file_type is None else file_type_names().get(self.file_type)


def read_info(path: Path) -> GgufInfo | None:
    """None when llama.cpp cannot read the file (not a GGUF, truncated, newer than this build)."""
    from petitrag.generation.llama_cpp import import_llama_cpp

    llama_cpp = import_llama_cpp()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    with silenced(LLAMA_LOGGER):
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        return None
    try:
        value = functools.partial(_meta, llama_cpp, model)
        file_type = value("general.file_type")
        return GgufInfo(
            int(file_type) if file_type and file_type.isdigit() else None,
            value("general.size_label"),
            value("general.license"),
        )
    finally:
        llama_cpp.llama_model_free(model)


def _meta(llama_cpp: Any, model: Any, key: str) -> str | None:
    buffer = ctypes.create_string_buffer(256)
    if llama_cpp.llama_model_meta_val_str(model, key.encode(), buffer, len(buffer)) < 0:
        return None
    return buffer.value.decode(errors="replace") or None


@functools.cache
def file_type_names() -> dict[int, str]:
    """llama_ftype value → name, from the bindings' own constants (they follow llama.h)."""
    from petitrag.generation.llama_cpp import import_llama_cpp

    names = {}
    for constant, value in vars(import_llama_cpp()).items():
        if constant.startswith("LLAMA_FTYPE_") and constant != "LLAMA_FTYPE_GUESSED":
            names[value] = constant.removeprefix("LLAMA_FTYPE_").removeprefix("MOSTLY_").removeprefix("ALL_")
    return names
