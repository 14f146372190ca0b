"""Progress bars on stderr for long work (ingest, model downloads, summaries).

Hidden when stderr is not a terminal, so logs and pipes stay clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

stderr_console = Console(stderr=True, soft_wrap=True, emoji=False)


@contextmanager
def byte_progress(label: str, console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """A download-style bar; yields a ``(done_bytes, total_bytes)`` hook."""
    console = console or stderr_console
    progress = Progress(
        TextColumn(escape(label)),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


_LABELS = {
    "parse": "Parsing", "embed": "Embedding", "extract": "Extracting", "translate": "Translating",
    "map": "Reading", "reduce": "Merging",
}  # fmt: skip


def stage_label(stage: str) -> str:
    """What a progress bar is called: "reduce 2" (the second level of merging a summary's notes)
    is "Merging 2"."""
    name, _, level = stage.partition(" ")
    return f"{_LABELS.get(name, name)} {level}".strip()


def stage_bars(enabled: bool = True, get_time: Callable[[], float] | None = None) -> Progress:
    """The bars of ``progress_display``, one per stage, with the time remaining."""
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=False,
        disable=not enabled or not stderr_console.is_terminal,
        get_time=get_time,
        # the speed is averaged over this window: at rich's 30 s, steps slower than that (a
        # summary's model calls take 15-40 s) left one sample, and no time remaining ever showed
        speed_estimate_period=3600,
    )


@contextmanager
def progress_display(enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields an ingest ProgressHook."""
    progress = stage_bars(enabled)
    tasks: dict[str, Any] = {}

    def hook(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage_label(stage), total=total)
        progress.update(tasks[stage], completed=done, total=total)

    with progress:
        yield hook
