"""Human-readable output of the CLI: ingest summaries, search hits, collection lists, answers."""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from petitrag.answer.streaming import REPLACED
from petitrag.config import Settings
from petitrag.index.records import as_listed
from petitrag.index.store import Store
from petitrag.ingest import IngestReport
from petitrag.retrieval.hybrid import Hit, SearchResult

if TYPE_CHECKING:
    from petitrag.answer.packing import PackedContext
    from petitrag.answer.result import AnswerResult


def counted(count: int, noun: str) -> str:
    """'1 document', '2 documents', '0 documents'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


#: control characters (C0, DEL and C1: "\x9b" opens an escape sequence on some terminals)
#: the same but line breaks and tabs: an escape sequence in a passage cleared the screen, set
#: the window title or hid text when printed
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with its control characters shown escaped ("\\x1b"), its lines and tabs kept."""
    return _escaped(_TERMINAL_CONTROL, text)


def _escaped(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda found: repr(found.group())[1:-1], text)


def print_ingest_report(console: Console, report: IngestReport, collection: str) -> None:
    """One summary line, then one line per failed/removed/missing file and per warning."""
    embedded, total = report.vectors
    console.print(
        f"[bold]{collection}[/]: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed, {len(report.removed)} removed"
        f"{f', {report.ignored} ignored (unsupported type)' if report.ignored else ''} — "
        f"{report.chunks} new chunks, {report.embedded} embedded, vectors {embedded}/{total}, "
        f"{report.seconds:.1f} s",
        highlight=False,
    )
    for path, reason in report.failed:
        console.print(f"  [red]failed[/]   {escape(display_path(path))}: {escape(reason)}", highlight=False)
    for path in report.removed:
        console.print(f"  removed  {escape(display_path(path))}", highlight=False)
    for former, path in report.moved:
        console.print(
            f"  moved    {escape(display_path(former))} → {escape(display_path(path))}", highlight=False
        )
    for path, kept in report.duplicates:
        console.print(
            f"  skipped  {escape(display_path(path))}: the same file as {escape(display_path(kept))}",
            highlight=False,
        )
    for path, warning in report.warnings:
        console.print(
            f"  [yellow]warning[/]  {escape(display_path(path))}: {escape(warning)}", highlight=False
        )
    if report.missing:
        console.print(
            f"  [yellow]{len(report.missing)} indexed file(s) no longer exist[/]; "
            "run again with --prune to remove them from the index",
            highlight=False,
        )
    if report.embed_error:
        console.print(f"  [yellow]embedding stopped:[/] {escape(report.embed_error)}", highlight=False)
    if embedded < total:
        console.print(
            f"  [yellow]dense index incomplete ({embedded}/{total});[/] lexical search works now; "
            f"finish with `petitrag embed --collection {collection}`",
            highlight=False,
        )


def print_hits(console: Console, result: SearchResult) -> None:
    if not result.hits:
        console.print("No matching passage.")
        return
    for hit in result.hits:
        console.print(
            f"[bold cyan][{hit.rank}][/] {escape(citation(hit))}  [dim]{hit.score:.4f}[/]", highlight=False
        )
        snippet = terminal_safe(_snippet(hit.text))
        console.print(textwrap.indent(textwrap.fill(escape(snippet), width=96), "    "), highlight=False)
    timings = result.timings
    console.print(
        f"[dim]{result.mode} search: {timings.get('search_s', 0) * 1000:.1f} ms"
        f" (+ query embedding {timings.get('embed_query_s', 0) * 1000:.1f} ms)[/]",
        highlight=False,
    )


def _snippet(text: str, width: int = 400) -> str:
    """The passage's start, cut at a word; a first "word" longer than the width (a URL, text
    without spaces) is cut inside it (shortening by words left only "…")."""
    flat = " ".join(text.split())
    snippet = textwrap.shorten(flat, width=width, placeholder=" …")
    return snippet if snippet.strip(" …") else flat[: width - 2] + " …"


def citation(hit: Hit) -> str:
    """'file.pdf · p. 3 · Section > Sub' — where the passage comes from."""
    parts = [display_path(hit.source)]
    if hit.page is not None:
        parts.append(f"p. {hit.page}")
    if hit.section:
        parts.append(as_listed(hit.section))  # a heading is a document's text too
    return " · ".join(parts)


def display_path(path: str) -> str:
    """Paths under the working directory are shown relative to it; a control character in a
    name (a newline) is shown escaped, so that one file stays one line."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = path
    return as_listed(path if relative.startswith("..") else relative)


def print_collections(console: Console, store: Store, settings: Settings) -> None:
    found = store.collections()
    if not found:
        console.print(f"No collection yet in {settings.home}. Create one with `petitrag ingest PATH`.")
        return
    table = Table(title=str(settings.db_path))
    for header in ("collection", "documents", "chunks", "vectors", "embedder"):  # names typed back: never "…"
        table.add_column(header, overflow="fold")
    for collection in found:
        stats = store.stats(collection.name)
        table.add_row(
            collection.name, str(stats["documents"]), str(stats["chunks"]),
            f"{stats['embedded']}/{stats['chunks']}", collection.embedder,
        )  # fmt: skip
    for_tables(console).print(table)


def for_tables(console: Console) -> Console:
    """Where a table goes: the terminal, or for a pipe a console wide enough for whole lines
    (80 columns cut a 64-character collection name to "a-very-long-collecti…")."""
    return console if console.is_terminal else Console(width=200, emoji=False)


class Stream:
    """Prints answer tokens as they come and keeps what was shown, so that ``print_answer``
    knows whether the user saw the final answer (checks may still change it)."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.shown = ""

    def __call__(self, text: str) -> None:
        self.shown += text
        self.out.print(terminal_safe(text), end="", highlight=False, markup=False)

    @contextmanager
    def ending_line_on_error(self) -> Iterator[None]:
        """An error after some words ends their line first: it was printed right after them
        ("Employeeserror: model server … stopped answering mid-answer")."""
        try:
            yield
        except BaseException:
            if self.shown and not self.shown.endswith("\n"):
                self.out.print()
            raise


def print_answer(out: Console, err: Console, result: AnswerResult, streamed: Stream | None) -> None:
    """The answer (unless it was streamed as is), its sources, and a line of timings."""
    if streamed is not None and streamed.shown.strip():
        out.print()
        if not _shown_as_is(streamed.shown, result.answer):  # invented citations removed, a loop cut…
            out.print(f"[dim]→[/] {escape(terminal_safe(result.answer))}", highlight=False)
    else:  # not streamed, or nothing was (the model was not asked)
        out.print(escape(terminal_safe(result.answer)), highlight=False)
    if result.citations:
        out.print("\n[bold]Sources[/]", highlight=False)
        for cited in result.citations:
            out.print(f"  [cyan][{cited.number}][/] {escape(citation(cited.hit))}", highlight=False)
    if result.context is not None and result.context.altered:
        err.print(f"[dim]{escape(packing_line(result.context))}[/]", highlight=False)
    route = result.extra.get("route")
    if route:
        err.print(f"[dim]{escape(route_line(route, result.escalated))}[/]", highlight=False)
    timings = result.timings
    if result.completion is None:  # nothing retrieved, or search found too little: no model call
        total = timings.get("total_s", 0)
        err.print(
            f"[dim]{escape(result.model)} not asked: search found too little · total {total:.1f} s[/]",
            highlight=False,
        )
        return
    # no token written (the model's own abstention likelihood answered): no speed to show
    speed = f"{timings.get('tokens_per_s', 0):.1f} tok/s · " if timings.get("completion_tokens") else ""
    err.print(
        f"[dim]{escape(result.model)} · first token {timings.get('ttft_s', 0):.1f} s · "
        f"{speed}total {timings.get('total_s', 0):.1f} s[/]",
        highlight=False,
    )


def _shown_as_is(shown: str, answer: str) -> bool:
    """The stream showed the final answer: the same words, or the answer on its own last line
    after "→ " (an abstention after withdrawn words). "A. A." (a loop, cut to "A.") was not."""
    words = " ".join(answer.split())
    return " ".join(shown.split()) == words or shown.strip().endswith(f"\n{REPLACED}{answer.strip()}")


def packing_line(context: PackedContext) -> str:
    """What the prompt holds less of than retrieval found, e.g. 'prompt (budget 1200 tokens):
    [2] shortened to the sentences closest to the question; 1 passage left out (guide.pdf · p. 4)'."""
    report = context.to_json()
    parts = []
    if report["shortened"]:
        numbered = ", ".join(f"[{number}]" for number in report["shortened"])
        parts.append(f"{numbered} shortened to the sentences closest to the question")
    if context.dropped:
        count = len(context.dropped)
        where = "; ".join(citation(hit) for hit in context.dropped)
        parts.append(f"{count} passage{'s' * (count > 1)} left out ({where})")
    if report["withheld"]:
        numbered = ", ".join(f"[{number}]" for number in report["withheld"])
        parts.append(f"sentences addressed to the model withheld from {numbered}")
    return f"prompt (budget {context.budget} tokens): " + "; ".join(parts)


def route_line(route: dict[str, Any], escalated: bool) -> str:
    """Which model answered and why, e.g. 'escalated from a to b: confidence 0.31 < 0.50'.
    ``escalated`` is the result's: a local model routed to the same name on a server has one
    name for both models."""
    confidence = route.get("confidence")
    score = "no confidence score" if confidence is None else f"confidence {confidence:.2f}"
    threshold = route["threshold"]
    if escalated:
        return f"escalated from {route['first_model']} to {route['answered_by']}: {score} < {threshold:.2f}"
    if route.get("escalation_failed"):
        return f"answered by {route['first_model']} ({score}, low): {route['reason']}"
    return f"answered by {route['first_model']} ({score} ≥ {threshold:.2f}, not escalated)"
