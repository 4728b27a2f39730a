"""Progress of long command-line work on stderr: a rich bar when stderr is a terminal, a plain line
per 10 % otherwise (pipes, logs, tests read those), nothing when the command prints JSON.
stdout stays clean for the result."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class TerminalProgress:
    """`with TerminalProgress("import", enabled=not args.json) as bar: bar.update(0.4, "rows 4000")`.

    `determinate=False` shows a spinner with the elapsed time (work without a known end)."""

    def __init__(self, description: str, *, enabled: bool = True, determinate: bool = True,
                 stream: TextIO | None = None) -> None:
        self._description = description
        self._stream = stream if stream is not None else sys.stderr
        self._determinate = determinate
        tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self.mode = "off" if not enabled else ("rich" if tty else "plain")
        self._rich: Progress | None = None
        self._task: TaskID | None = None
        self._last_step = -1

    def __enter__(self) -> TerminalProgress:
        if self.mode == "rich":
            from rich import progress as rp
            from rich.console import Console

            columns = ([rp.SpinnerColumn(), rp.TextColumn("{task.description}"), rp.BarColumn(),
                        rp.TaskProgressColumn(), rp.TimeRemainingColumn(), rp.TextColumn("{task.fields[message]}")]
                       if self._determinate else
                       [rp.SpinnerColumn(), rp.TextColumn("{task.description}"), rp.TimeElapsedColumn(),
                        rp.TextColumn("{task.fields[message]}")])
            self._rich = rp.Progress(*columns, console=Console(file=self._stream), transient=False)
            self._rich.start()
            self._task = self._rich.add_task(self._description, total=1.0 if self._determinate else None,
                                             message="")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def update(self, fraction: float, message: str = "") -> None:
        """Safe to call often: the plain mode writes only when another 10 % is done."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self._rich is not None and self._task is not None:
            self._rich.update(self._task, completed=fraction if self._determinate else None, message=message)
        elif self.mode == "plain":
            step = int(fraction * 10 + 1e-9)
            if step > self._last_step:
                self._last_step = step
                print(f"  {fraction:4.0%}  {self._description}: {message}".rstrip(), file=self._stream, flush=True)

    def note(self, text: str) -> None:
        """A line above the bar (an epoch summary); plain mode and off-mode print it to stderr as is."""
        if self._rich is not None:
            self._rich.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self._stream, flush=True)
