"""Answer generation: local GGUF models (llama.cpp) and OpenAI-compatible HTTP servers."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from petitrag.config import Settings
    from petitrag.generation.base import Generator


def create_generator(settings: Settings, model: str | None = None) -> Generator:
    """The configured answer model: served over HTTP when a base URL is set, else local.

    Local models are loaded once per process (per file, context size and threads) and
    shared by the generators returned here; backends are imported only when used.
    """
    name, base_url = parse_model_spec(model or settings.model)
    base_url = base_url or settings.model_base_url
    if base_url:
        from petitrag.generation.openai_http import OpenAIChatGenerator

        return OpenAIChatGenerator(
            base_url,
            name,
            settings.model_api_key,
            timeout=settings.request_timeout_s,
            context_size=settings.context_size,
        )
    from petitrag.generation.catalog import resolve_model
    from petitrag.generation.llama_cpp import LlamaCppGenerator, shared_model
    from petitrag.generation.requantize import runnable_path

    path = resolve_model(settings, name)
    display = path.stem if name == str(path) or name.endswith(".gguf") else name
    path = runnable_path(path, settings.requantize, settings.cache_dir, settings.threads, _tell)
    loaded = shared_model(path, settings.context_size, settings.threads, settings.flash_attn)
    return LlamaCppGenerator(
        path,
        display,
        settings.context_size,
        settings.threads,
        model=loaded,
        state_dir=settings.cache_dir / "prompt-states",
        kv_cache_mb=settings.kv_cache_mb,
    )


def check_model_exists(settings: Settings, model: str) -> None:
    """Fail now on a local model name that names nothing (a typo, a model not pulled) without
    loading it: a route's large model loads only on the first escalation, and each question
    then fell back with the same error inside its answer. A served model is left to its server."""
    name, base_url = parse_model_spec(model)
    if not (base_url or settings.model_base_url):
        from petitrag.generation.catalog import resolve_model

        resolve_model(settings, name)


def _tell(message: str) -> None:
    """A one-off step worth a line (converting a model for this CPU takes seconds)."""
    print(f"petitrag: {message}", file=sys.stderr, flush=True)


def parse_model_spec(spec: str) -> tuple[str, str | None]:
    """``name@http://host:port/v1`` names a model on an OpenAI-compatible server; else local.

    This lets one command mix backends, e.g. a local small model routed to a large one
    served by Ollama: ``--route qwen2.5-coder-0.5b,mistral-small@http://localhost:11434/v1``.
    """
    name, separator, url = spec.partition("@")
    if separator and url.startswith(("http://", "https://")):
        return name, url
    return spec, None
