"""Output formats: one module per format, each a pure function `render(report, options) -> str`.

A format module defines `DESCRIPTION` and `render`. Adding a module here adds a `--format` choice.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Protocol

from ..model import Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    #: tool name and version, for formats that record the producer (SARIF, JUnit)
    tool_version: str = ""
    #: the failing severity, for formats that mark failures (JUnit)
    fail_on: str = "error"


class Formatter(Protocol):
    DESCRIPTION: str

    def render(self, report: Report, options: RenderOptions) -> str: ...


def names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get(name: str) -> Formatter:
    if name not in names():
        raise KeyError(f"unknown format {name!r} (choose from {', '.join(names())})")
    return importlib.import_module(f"{__name__}.{name}")  # type: ignore[return-value]
