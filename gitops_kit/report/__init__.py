"""Output formats: one module per format, each a pure function `render(report, options) -> str`.

A format module defines `DESCRIPTION` and `render`. Adding a module here adds a `--format` choice.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from ..model import Report

    class Formatter(Protocol):
        DESCRIPTION: str

        def render(self, report: Report, options: RenderOptions) -> str: ...


class RenderOptions:
    """How to render: `color`; `tool_version` for formats that record the producer (SARIF, JUnit);
    `fail_on`, the failing severity, for formats that mark failures (JUnit)."""

    __slots__ = ("color", "tool_version", "fail_on")

    def __init__(self, color: bool = False, tool_version: str = "", fail_on: str = "error") -> None:
        self.color = color
        self.tool_version = tool_version
        self.fail_on = fail_on

    def __repr__(self) -> str:
        return f"RenderOptions(color={self.color!r}, tool_version={self.tool_version!r}, fail_on={self.fail_on!r})"


def names() -> list[str]:
    """The format modules in this package (without importing them)."""
    from ..plugins import module_names

    return module_names(__path__)


def get(name: str) -> Formatter:
    if name not in names():
        raise KeyError(f"unknown format {name!r} (choose from {', '.join(names())})")
    return importlib.import_module(f"{__name__}.{name}")  # type: ignore[return-value]
