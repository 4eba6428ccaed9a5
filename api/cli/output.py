"""Terminal output shared by the commands: consoles, a progress bar, JSON lines."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
PROGRESS_MIN_ITEMS = 4


def print_json_line(payload: Any) -> None:
    """One compact JSON document on its own line of stdout."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


class BarProgress:
    """The ingest progress protocol drawn as a rich bar on stderr, for more than a few items."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or err_console
        self.enabled = enabled and self.console.is_terminal
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> BarProgress:
        if self.enabled:
            self._bar = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def start(self, phase: str, total: int) -> None:
        if self._bar is None:
            return
        if self._task is not None:
            self._bar.remove_task(self._task)
        visible = total >= PROGRESS_MIN_ITEMS
        self._task = self._bar.add_task(phase, total=total, visible=visible)

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None and self._task is not None and amount:
            self._bar.advance(self._task, amount)
