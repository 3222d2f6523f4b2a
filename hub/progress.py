"""Progress of the long ``hub`` commands, on stderr so stdout stays pure JSON.

On a terminal a ``rich`` progress bar per phase; elsewhere (a pipe, a log file, CI) one short line
when a phase starts, since a bar redrawn into a file is noise but a silent minute looks hung.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

Report = Callable[[int, int | None], None]
"""Called with how many units of the phase are done and how many there are (None: not known)."""


def _console() -> Console:
    return Console(file=sys.stderr, stderr=True)


@contextmanager
def phase(description: str) -> Iterator[Report]:
    """Show one phase of a command, ``description`` saying what is being done; yields the callback
    the work reports to (``done, total``). Until it reports a total: a spinner, then a bar."""
    console = _console()
    if not console.is_terminal:
        console.print(f"{description} …", highlight=False, markup=False, soft_wrap=True)
        yield lambda done, total: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(description, total=None)

        def report(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield report
        finished = bar.tasks[0].total
        bar.update(task, total=finished or 1, completed=finished or 1)


def reporting(items: Sequence[T], report: Report) -> Iterator[T]:
    """``items``, telling ``report`` how many were taken as a consumer goes through them."""
    total = len(items)
    for done, item in enumerate(items):
        report(done, total)
        yield item
    report(total, total)
