"""Shared output helpers: colour decisions and writing results to stdout or a file."""

from __future__ import annotations

import os
import sys


def use_color(choice: str, stream=None) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org), `always` forces it."""
    if os.environ.get("NO_COLOR"):
        return False
    if choice == "always":
        return True
    if choice == "never":
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def emit(text: str, output: str | None) -> None:
    if output:
        from pathlib import Path

        from ..fileio import atomic_write_text

        atomic_write_text(Path(output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
