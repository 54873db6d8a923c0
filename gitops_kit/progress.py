"""A progress display on stderr for runs long enough to need one, and for people only.

Shown only when stderr is a terminal, `CI` is not set, `--quiet` was not given and TERM is not
`dumb`; even then rich is imported only once the run has lasted `delay` seconds, so a quick run
(the pre-commit hook on one file) never pays for it and never flickers. The display is transient:
it is erased when the run ends, so the report printed afterwards is all that remains.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing and contextlib stay unimported: this module is on the one-file path
if TYPE_CHECKING:
    from typing import TextIO

DELAY_SECONDS = 2.0


def wanted(quiet: bool = False, stream: TextIO | None = None, environ=os.environ) -> bool:
    stream = stream if stream is not None else sys.stderr
    if quiet or environ.get("CI") or environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Quiet:
    """The bar of a run nobody watches: costs nothing (not even importing threading)."""

    def start(self, total: int | None, description: str) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass


class Bar(Quiet):
    """What the run reports; drawn by rich once (and if) the display starts."""

    def __init__(self, description: str = "") -> None:
        import threading

        self.total: int | None = None
        self.completed = 0
        self.description = description
        self._lock = threading.Lock()
        self._live = None  # (rich Progress, task id) once started

    def start(self, total: int | None, description: str) -> None:
        with self._lock:
            self.total, self.completed, self.description = total, 0, description
            self._sync()

    def advance(self, steps: int = 1) -> None:
        with self._lock:
            self.completed += steps
            self._sync()

    def _sync(self) -> None:
        if self._live is not None:
            display, task = self._live
            display.update(task, total=self.total, completed=self.completed, description=self.description)

    def _show(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        display = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(file=stream), transient=True,
        )
        with self._lock:
            task = display.add_task(self.description, total=self.total, completed=self.completed)
            self._live = (display, task)
            display.start()

    def _stop(self) -> None:
        with self._lock:
            if self._live is not None:
                self._live[0].stop()
                self._live = None


class progress:  # noqa: N801 - used like a function: `with progress(label) as bar:`
    """A `Bar` for the block; drawn on `stream` (stderr) after `delay` seconds if `wanted`.

    `GITOPS_KIT_PROGRESS_DELAY` overrides the default delay (tests draw at once with 0)."""

    def __init__(self, label: str, quiet: bool = False, stream: TextIO | None = None, delay: float | None = None) -> None:
        if delay is None:
            try:
                delay = float(os.environ.get("GITOPS_KIT_PROGRESS_DELAY", DELAY_SECONDS))
            except ValueError:
                delay = DELAY_SECONDS
        self.label, self.quiet, self.delay = label, quiet, delay
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Quiet | None = None
        self.timer = None

    def __enter__(self) -> Quiet:
        if not wanted(self.quiet, self.stream):
            self.bar = Quiet()
            return self.bar
        import threading

        bar = self.bar = Bar(self.label)
        if self.delay <= 0:
            bar._show(self.stream)
        else:
            self.timer = threading.Timer(self.delay, bar._show, args=(self.stream,))
            self.timer.daemon = True
            self.timer.start()
        return bar

    def __exit__(self, *exc_info: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer.join()
        if isinstance(self.bar, Bar):
            self.bar._stop()
