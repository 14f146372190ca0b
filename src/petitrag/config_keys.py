"""The keys of a config.toml checked against the settings' names, before their values are.

pydantic says "Extra inputs are not permitted" with no line and no hint; and TOML puts every
``key = value`` written after a ``[table]`` header inside that table, so a setting written after
``[serve_api_keys]`` silently became an API key named after it.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection
from pathlib import Path

from petitrag.errors import ConfigError

#: the settings that are TOML tables: a setting's name inside one is a misplaced setting
TABLE_SETTINGS = ("serve_api_keys",)


def check_file_keys(path: Path, names: Collection[str]) -> None:
    """Refuse a key of ``path`` that is no setting, with its line and the setting it may mean.
    A file TOML cannot read is left to the settings loader, which says why."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, ValueError):
        return
    for key in data:
        if key not in names:
            raise ConfigError(unknown_key_message(key, path, text, names))
    for table in TABLE_SETTINGS:
        inner = data.get(table)
        misplaced = [key for key in inner if key in names] if isinstance(inner, dict) else []
        if misplaced:
            raise ConfigError(
                f"`{misplaced[0]}` is inside the [{table}] table in {path}{_line(text, misplaced[0])}: "
                "move it above the table (TOML puts every line after a [table] header in it)"
            )


def unknown_key_message(key: str, path: Path, text: str, names: Collection[str]) -> str:
    """ "unknown setting 'theads' in FILE (line 4); did you mean 'threads'?"."""
    message = f"unknown setting '{key}' in {path}{_line(text, key)}"
    meant = suggestion(key, names)
    return message + (f"; did you mean '{meant}'?" if meant else "; `petitrag config` lists the settings")


def suggestion(key: str, names: Collection[str]) -> str | None:
    """The setting a mistyped key most likely means: a flag's spelling (search-k) or an
    environment variable's (PETITRAG_THREADS) is the setting itself, else the closest name."""
    plain = key.strip().lower().replace("-", "_").removeprefix("petitrag_").lstrip("_")
    if plain in names:
        return plain
    close = difflib.get_close_matches(plain, list(names), n=1)
    return close[0] if close else None


def _line(text: str, key: str) -> str:
    """ " (line 4)": where ``key`` is written (as a key or a [table] header), if found."""
    pattern = re.compile(rf"""^\s*\[?\s*["']?{re.escape(key)}["']?\s*[=\]]""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return f" (line {number})"
    return ""
