"""Progress bars for what takes seconds: downloads, hashing, evals, training, the bench.

Drawn with rich on stderr (stdout holds a command's result, `ghostwright.streams`), and only
where stderr is a terminal: an editor's log or a CI log gets no bar, only the log lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from tqdm import tqdm

Advance = Callable[[float], None]


def _console() -> Console:
    return Console(file=sys.stderr)


def _columns(unit: str) -> list[ProgressColumn]:
    if unit == "bytes":
        return [
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        ]
    return [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeRemainingColumn(),
    ]


@contextmanager
def progress(
    description: str, total: float | None, unit: str = "bytes", initial: int = 0
) -> Iterator[Advance]:
    """A bar for `total` units of work (`unit`: "bytes", or a word such as "files"); yields the
    function that advances it."""
    console = _console()
    if not console.is_terminal:
        yield lambda amount: None
        return
    with Progress(*_columns(unit), console=console, transient=False) as bar:
        task = bar.add_task(description, total=total, completed=initial)
        yield lambda amount: bar.advance(task, amount)


class HubProgress(tqdm):  # type: ignore[type-arg]
    """The tqdm class huggingface_hub draws its download bars with, drawn with rich instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("name", None)
        total, initial = kwargs.get("total"), int(kwargs.get("initial") or 0)
        description = kwargs.get("desc") or "downloading"
        super().__init__(*args, **{**kwargs, "disable": True})
        console = _console()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            self._bar = Progress(*_columns("bytes"), console=console)
            self._task = self._bar.add_task(description, total=total, completed=initial)
            self._bar.start()

    def update(self, n: float | None = 1) -> bool | None:
        if self._bar is not None and self._task is not None and n:
            self._bar.advance(self._task, n)
        return None

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        super().close()
