"""CLI commands that generate: ``ask`` and ``chat``."""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click
from rich.markup import escape

from petitrag.cli import cli, err, out, print_json, require_utf8, settings_from, text_argument
from petitrag.config import Reading, Settings
from petitrag.errors import ConfigError, PetitragError
from petitrag.report import Stream, counted, packing_line, print_answer, route_line, terminal_safe

if TYPE_CHECKING:
    from petitrag.app import App

reading_option = click.option(
    "--reading",
    type=click.Choice(get_args(Reading)),
    help="best-first: the top passage alone, all passages only if it does not answer [default]; "
    "top: the top passage alone.",
)

reread_option = click.option(
    "--reread-below",
    type=click.FloatRange(0, 1),
    help="Best-first: read all passages when the self-check of the top passage's answer is below this "
    "(0.8 gained ~0.03 F1 on the dev sets) [default: off].",
)

min_score_option = click.option(
    "--min-score",
    type=click.FloatRange(min=0),
    help="Abstain without asking the model when the best passage's search score is below this "
    "(bench suggests one; 0: never) [default: automatic with hybrid coverage fusion].",
)

#: what every generating command takes: where the documents are, which model, on what
generation_options = [
    click.option("-c", "--collection", help="Collection to answer from [default: default]."),
    click.option("-m", "--model", help="Answer model: catalog name, .gguf path, or API model name."),
    click.option("--model-base-url", help="OpenAI-compatible /v1 server that serves --model."),
    click.option("--threads", type=int, help="CPU threads for the model."),
]
#: what only answering questions reads (summaries and extraction read whole documents)
model_options = [
    *generation_options,
    click.option("-k", "--k", "search_k", type=int, help="Passages retrieved [default: 5]."),
    click.option(
        "--abstain-below",
        type=click.FloatRange(0, 1),
        help="Abstain when the model's self-check P(yes) is below this (bench suggests one) [default: off].",
    ),
    click.option(
        "--abstain-above",
        type=click.FloatRange(max=0),
        help="Abstain when the model's log-probability of the abstention sentence is above this "
        "(nats; 0: never) [default: the model's catalog value, for qwen2.5-coder-1.5b -3.75 on English "
        "questions; else off].",
    ),
    min_score_option,
    reading_option,
    reread_option,
    click.option(
        "--reread-above",
        type=click.FloatRange(max=0),
        help="Best-first: read all passages when the log-probability of the abstention sentence after "
        "the top passage is above this (nats, e.g. -3.5; 0: never) [default: off].",
    ),
    click.option("--route", help="'small,large': the small model answers, the large one when unsure."),
    click.option("--route-threshold", type=float, help="Escalate below this confidence (0-1)."),
]


def with_model_options(command: Any) -> Any:
    for option in reversed(model_options):
        command = option(command)
    return command


def answer_settings(ctx: click.Context, flags: dict[str, Any]) -> Settings:
    """ask and chat: the settings, with the flags that only mean something together checked."""
    settings = settings_from(ctx, **flags)
    if flags.get("route_threshold") is not None and not settings.route:  # it was silently ignored
        raise ConfigError("--route-threshold needs a route: add --route SMALL,LARGE (or set route)")
    if settings.route_threshold is not None and not settings.route:  # from the file or env: kept aside
        err.print(
            "[yellow]warning:[/] route_threshold is set but no route: it applies only with --route "
            "SMALL,LARGE (or route in the configuration)",
            highlight=False,
        )
    return settings


def with_generation_options(command: Any) -> Any:
    """summarize and extract: listing -k, --route or --abstain-below there, ignored, misled."""
    for option in reversed(generation_options):
        command = option(command)
    return command


@cli.command()
@click.argument("question")
@with_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON result (no streaming).")
@click.option("--no-stream", is_flag=True, help="Print the answer at the end instead of token by token.")
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, no_stream: bool, **flags: Any) -> None:
    """Answer QUESTION from your documents, with sources ('-': read it from standard input)."""
    from petitrag.app import open_app

    settings = answer_settings(ctx, flags)
    question = text_argument(question, "question")
    stream = not as_json and not no_stream
    with open_app(settings) as app:
        app.store.require_documents(settings.collection)  # a typo fails before the model loads
        answerer = app.answerer()
        warn_if_not_embedded(app, settings)
        streamed = Stream(out) if stream else None
        with streamed.ending_line_on_error() if streamed else contextlib.nullcontext():
            result = answerer.ask(question, on_token=streamed)
    if as_json:
        route = result.extra.get("route") or {}
        if route.get("escalation_failed"):  # in the JSON too, but a script's log should show it
            err.print(f"[yellow]warning:[/] {escape(route_line(route, result.escalated))}", highlight=False)
        if result.context is not None and result.context.altered:  # the JSON contract has no key for it
            err.print(f"note: {escape(packing_line(result.context))}", highlight=False)
        print_json(result.to_json())
        return
    print_answer(out, err, result, streamed)


def warn_if_not_embedded(app: App, settings: Settings) -> None:
    """As `search` says it: an answer then comes from what BM25 alone found."""
    from petitrag.retrieval.hybrid import dense_index_incomplete

    if settings.search_mode != "bm25" and app.store.collection(settings.collection) is not None:
        incomplete = dense_index_incomplete(app.store, settings.collection)
        if incomplete:
            err.print(f"[yellow]warning:[/] {escape(incomplete)}", highlight=False)


@cli.command()
@with_model_options
@click.pass_context
def chat(ctx: click.Context, **flags: Any) -> None:
    """Interactive questions and answers; follow-up questions keep the conversation's context."""
    from petitrag.answer.conversation import Conversation
    from petitrag.app import open_app

    settings = answer_settings(ctx, flags)
    with open_app(settings) as app:
        app.store.require_documents(settings.collection)
        conversation = Conversation(app.answerer())
        warn_if_not_embedded(app, settings)
        err.print(
            "[dim]Ask a question (/help for commands; empty line, /quit or Ctrl-D to quit).[/]",
            highlight=False,
        )
        typed = sys.stdin is not None and sys.stdin.isatty()
        if typed:
            import readline  # noqa: F401  (line editing and ↑ for earlier questions: arrows typed "^[[D")
        failed = 0
        while True:
            question = read_question()
            if question is None:
                break
            if not question.strip() and not typed:  # a blank line between piped questions: the rest was lost
                continue
            command, _, rest = question.strip().partition(" ")
            if not command.startswith("/"):  # "help", "quit" alone are commands, "exit fees?" a question
                command, rest = question.strip(), ""
            if command.lower() in ("", *_QUIT):
                break
            if _chat_command(command.lower(), conversation):
                failed += command.lower() not in _KNOWN  # its error line, as a question's
                if not (rest.strip() and command.lower() in _NEW):
                    continue
                question = rest  # "/new What is…?": forgotten, then asked
            try:
                chat_turn(conversation, require_utf8(question, "question"))
            except PetitragError as exc:  # a bad question, a model server down: the conversation goes on
                err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                failed += 1
            except KeyboardInterrupt:  # Ctrl-C stops this answer; at the prompt it quits (status 130)
                err.print("\n[dim](answer interrupted)[/]", highlight=False)
    if failed and not typed:  # `chat < questions.txt` in a script: as `ask` would have, say it failed
        raise SystemExit(1)


_QUIT = ("/quit", "/exit", "/q", "quit", "exit")
_NEW = ("/new", "/reset", "/clear")
_HELP = ("/help", "help", "/?")
_KNOWN = frozenset({*_QUIT, *_NEW, *_HELP})
_CHAT_HELP = (
    "/new     forget the conversation: the next question is asked on its own (/new QUESTION asks it)\n"
    "/quit    leave (also /exit, an empty line or Ctrl-D)\n"
    "/help    this list\n"
    "Anything else is a question; follow-ups are understood in the conversation's context."
)


def _chat_command(command: str, conversation: Any) -> bool:
    """Run a chat command (the line's first word: "/help", "/new"); False when the line is a
    question ("help" and "/help" were searched for, and answered with the abstention, in
    French; "/new please" was a follow-up, "/foo bar" a question)."""
    if command in _HELP:
        err.print(escape(_CHAT_HELP), highlight=False)
    elif command in _NEW:
        conversation.history.clear()
        err.print("[dim](conversation forgotten)[/]", highlight=False)
    elif re.fullmatch(r"/\w+", command):
        err.print(
            f"[bold red]error:[/] unknown command {escape(command)} (/help lists them)", highlight=False
        )
    else:
        return False
    return True


def read_question() -> str | None:
    """The next chat question, None at Ctrl-D; Ctrl-C is left to quit as interrupted.

    click.prompt turns Ctrl-C and Ctrl-D into the same Abort, so Ctrl-C quit with status 0.
    """
    click.echo("? ", nl=False, err=True)
    if sys.stdin is None:  # started with standard input closed: nothing to read
        err.print()
        return None
    try:
        return input()
    except EOFError:
        err.print()  # Ctrl-D leaves the cursor after the prompt
        return None


def chat_turn(conversation: Any, question: str) -> None:
    """Answer one chat question, showing how a follow-up was understood."""
    standalone = conversation.standalone(question)
    if standalone != question.strip():
        err.print(f"[dim](understood as: {escape(standalone)})[/]", highlight=False)
    streamed = Stream(out)
    with streamed.ending_line_on_error():
        result = conversation.answer(question, standalone, on_token=streamed)
    print_answer(out, err, result, streamed)


@cli.command()
@click.argument("source")
@with_generation_options
@click.option(
    "--length", type=click.Choice(["short", "long"], case_sensitive=False), default="short", show_default=True
)
@click.option(
    "--language",
    type=click.Choice(["fr", "en"], case_sensitive=False),
    help="Summary language [default: the document's].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def summarize(
    ctx: click.Context, source: str, length: str, language: str | None, as_json: bool, **flags: Any
) -> None:
    """Summarise a whole indexed document (map-reduce over all its chunks)."""
    from petitrag.answer.summarize import Summarizer
    from petitrag.app import open_app
    from petitrag.progress import progress_display

    settings = settings_from(ctx, **flags)
    with open_app(settings) as app, progress_display() as hook:
        summarizer = Summarizer(settings, app.store, app.generator)
        summary = summarizer.summarize(settings.collection, source, length, language, hook)  # type: ignore[arg-type]
    for warning in summary.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if as_json:
        print_json(summary.__dict__)
        return
    out.print(escape(terminal_safe(summary.text)), highlight=False)
    where = (
        (
            f" (pages {summary.pages[0]}–{summary.pages[-1]})"
            if len(summary.pages) > 1
            else f" (page {summary.pages[0]})"
        )
        if summary.pages
        else f" ({counted(len(summary.sections), 'section')})"
        if summary.sections
        else ""
    )
    calls = (
        f"{summary.map_calls} map + {summary.reduce_calls} reduce calls"
        if summary.reduce_calls
        else "read in one call"
    ) + (
        " then translated"
        if summary.translated
        else " (its translation failed)"
        if summary.translate_calls
        else ""
    )
    err.print(
        f"[dim]{escape(f'{summary.model} · {summary.source}{where} · {calls}')} · {summary.seconds:.1f} s[/]",
        highlight=False,
    )


@cli.command()
@click.argument("source")
@click.option(
    "--schema",
    "schema_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON schema file.",
)
@with_generation_options
@click.pass_context
def extract(ctx: click.Context, source: str, schema_path: Path, **flags: Any) -> None:
    """Extract structured data from an indexed document, as JSON valid against --schema."""
    from petitrag.answer.extract import Extractor, load_schema
    from petitrag.app import open_app
    from petitrag.progress import progress_display

    schema = load_schema(schema_path)
    settings = settings_from(ctx, **flags)
    with open_app(settings) as app, progress_display() as hook:
        extraction = Extractor(settings, app.store, app.generator).extract(
            settings.collection, source, schema, hook
        )
    for warning in extraction.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    print_json(extraction.data)
    if extraction.windows > 1:
        err.print(f"[dim]{escape(parts_line(extraction))}[/]", highlight=False)
    if extraction.errors:  # some parts were retried; those given up on are said above
        given_up = " for the other parts" if extraction.failed_windows else ""
        err.print(f"[dim]valid after {extraction.attempts} model calls{given_up}[/]", highlight=False)


def parts_line(extraction: Any) -> str:
    """How a document longer than one prompt was read, e.g. 'read in 3 parts, merged'."""
    line = f"read in {extraction.windows} parts"
    if extraction.merge_problem:
        line += f"; merged, they broke the schema ({extraction.merge_problem}): the first part is kept"
    else:
        line += ", merged"
    if extraction.failed_windows:
        line += f"; no valid JSON from part(s) {', '.join(map(str, extraction.failed_windows))}, left out"
    return line
