"""Progress of a benchmark on stderr: one rich bar per model with its ETA on a terminal,
one plain line per answer otherwise (``nohup`` logs stay readable and show the ETA too)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@dataclass
class _Model:
    total: int
    done: int
    errors: int = 0
    seconds: list[float] = field(default_factory=list)
    task: TaskID | None = None


class BenchDisplay:
    """Implements supervisor.Display; ``model`` must be called before a model's cases run."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not self.live,
            refresh_per_second=2,  # the cores belong to the model being measured
        )
        self.models: dict[str, _Model] = {}

    def add(self, model: str, total: int, done: int) -> None:
        """Show every model up front, so the queue is visible."""
        state = self.models[model] = _Model(total, done)
        state.task = self.progress.add_task(
            escape(model), total=total, completed=done, status="", start=False
        )

    def model(self, model: str) -> None:
        state = self.models[model]
        if state.task is not None:
            self.progress.start_task(state.task)
        if not self.live:
            left = state.total - state.done
            self._line(f"{model}: {left} question{'s' * (left != 1)} to answer ({state.done} already done)")

    def case_done(self, model: str, seconds: float | None, error_kind: str | None) -> None:
        state = self.models[model]
        state.done += 1
        state.errors += error_kind is not None
        if seconds is not None:
            state.seconds.append(seconds)
        status = f"last {seconds or 0:.1f} s" + (f" · [red]{state.errors} errors[/]" if state.errors else "")
        if state.task is not None:
            self.progress.update(state.task, completed=state.done, status=status)
        if not self.live:
            self._line(
                f"{model} {state.done}/{state.total} · last {seconds or 0:.1f} s"
                f"{f' ({error_kind})' if error_kind else ''} · errors {state.errors} · ETA {self._eta(state)}"
            )

    def note(self, text: str) -> None:
        self._line(text)

    def _eta(self, state: _Model) -> str:
        if not state.seconds:
            return "?"
        left = (state.total - state.done) * sum(state.seconds) / len(state.seconds)
        return time.strftime("%H:%M:%S", time.gmtime(left))

    def _line(self, text: str) -> None:
        self.console.print(escape(text), highlight=False)


@contextmanager
def bench_display(console: Console) -> Iterator[BenchDisplay]:
    display = BenchDisplay(console)
    with display.progress:
        yield display
