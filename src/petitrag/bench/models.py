"""Which models a benchmark compares: ``--models a,b,c`` and ``--topline x``.

One spec names one model, on any backend:

- ``smollm2-135m`` — a catalog model (or one registered with ``petitrag models pull FILE``);
- ``/path/to/model.gguf`` — a local GGUF file (its key is the file name without ``.gguf``);
- ``NAME@http://host:port/v1`` — model NAME of an OpenAI-compatible server (Ollama, vLLM,
  llama-server, a hosted API); the API key comes from ``model_api_key`` / PETITRAG_MODEL_API_KEY.

Local models are resolved before any work starts, so a typo fails in a second, not after an
hour of other models.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petitrag.config import Settings
from petitrag.errors import ConfigError
from petitrag.generation.catalog import CATALOG, resolve_model

_ENDPOINT = re.compile(r"^(?P<name>[^@\s]+)@(?P<url>https?://\S+)$")
_PARAMS = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMB])$", re.IGNORECASE)
_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9}


@dataclass(frozen=True)
class ModelSpec:
    """One candidate: how to load it and what is known about its size."""

    key: str  # unique, file-name safe; the ``model`` field of predictions
    spec: str  # as the user wrote it
    model: str  # what create_generator gets: a catalog name, a .gguf path, or the API model name
    base_url: str | None = None
    path: Path | None = None
    file_bytes: int | None = None
    params: float | None = None  # parameter count, when the catalog knows it
    topline: bool = False

    @property
    def kind(self) -> str:
        return "api" if self.base_url else "local"

    def size_key(self) -> tuple[float, float]:
        """Sort key for "smallest": file size, then parameters; unknown sizes sort last."""
        return (float(self.file_bytes or "inf"), self.params or float("inf"))

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "kind": self.kind, "model": self.model, "base_url": self.base_url,
            "path": str(self.path.resolve()) if self.path else None, "file_bytes": self.file_bytes,
            "params": self.params, "topline": self.topline,
        }  # fmt: skip


def parse_models(settings: Settings, models: str, topline: str | None = None) -> list[ModelSpec]:
    """The candidates in the order given, then the topline; every local file resolved."""
    specs = [part.strip() for part in models.split(",") if part.strip()]
    if not specs:
        raise ConfigError("--models needs at least one model, e.g. --models smollm2-135m,qwen2.5-coder-0.5b")
    parsed = [parse_spec(settings, spec) for spec in specs]
    if topline:
        parsed.append(parse_spec(settings, topline.strip(), topline=True))
    seen: dict[str, str] = {}
    for spec in parsed:
        if spec.key in seen:
            raise ConfigError(f"models {seen[spec.key]!r} and {spec.spec!r} have the same name {spec.key!r}")
        seen[spec.key] = spec.spec
    return parsed


def parse_spec(settings: Settings, spec: str, topline: bool = False) -> ModelSpec:
    """``NAME@URL`` (endpoint), else a catalog/registered name or a .gguf path (must exist)."""
    endpoint = _ENDPOINT.match(spec)
    if endpoint:
        name, url = endpoint["name"], endpoint["url"]
        return ModelSpec(_safe_key(name), spec, name, base_url=url, topline=topline)
    if "@" in spec and "://" not in spec.split("@", 1)[1]:
        raise ConfigError(f"model {spec!r}: an endpoint is written NAME@http://host:port/v1")
    path = resolve_model(settings, spec)  # ModelNotFoundError: one clear line
    entry = CATALOG.get(spec)
    is_path = entry is None and (spec.lower().endswith(".gguf") or os.sep in spec)
    key = path.stem if is_path else spec
    params = parse_params(entry.params) if entry else None
    return ModelSpec(
        _safe_key(key), spec, spec, path=path, file_bytes=path.stat().st_size, params=params, topline=topline
    )


def parse_params(text: str) -> float | None:
    """'135M' → 1.35e8, '1.5B' → 1.5e9; None when unknown."""
    match = _PARAMS.match(text.strip())
    return float(match["number"]) * _UNITS[match["unit"].upper()] if match else None


def _safe_key(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    if not key:
        raise ConfigError(f"cannot name model {name!r}: use letters, digits, '.', '-' or '_'")
    return key[:80]
