"""Progress bars for long work (generate, replay, validate, bench).

Called by the CLI commands that process many events. One look for all of
them: a bar, done/total, the rate per second, elapsed and remaining time, and
free-form fields (e.g. sent / failed). On a non-terminal (CI, a pipe) the bar
is not drawn; the command's summary at the end still is.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["RateColumn", "progress_bar"]


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``123,456/s``, from rich's smoothed speed."""

    def __init__(self, unit: str = "ev") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text(f"- {self.unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


def progress_bar(console: Console | None = None, unit: str = "ev", extra: str = "") -> Progress:
    """A ``Progress`` showing bar, count, rate, elapsed and ETA; ``extra`` is a
    ``TextColumn`` format over the task's fields, e.g. ``"sent {task.fields[sent]}"``.
    Use as a context manager; it draws nothing when the console is not a terminal.
    """
    columns: list[ProgressColumn | str] = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    if extra:
        columns.append(TextColumn(extra))
    console = console or Console(stderr=True)
    return Progress(*columns, console=console, disable=not console.is_terminal, transient=False)
