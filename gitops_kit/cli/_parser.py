"""The argparse side of the command line: the parser classes and `build_parser`.

Kept apart from `cli/__init__` so that a pre-commit `validate` call that `_quick` can read never
imports argparse at all.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import EXIT_ERROR, command_names


def _terminal_width() -> int:
    # argparse's HelpFormatter imports shutil (and with it bz2, lzma…) to ask this, even while only
    # *building* the parser; asking os directly keeps `validate one-file.yaml` start-up small.
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(columns - 2, 20)


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, width if width is not None else _terminal_width())


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - argparse's own signature
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse's default is exit 2 too; keep one line + hint
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or only with `only` (the command being run: the others'
    modules need not be imported; help and errors use the full parser)."""
    from .. import __version__

    parser = _Parser(
        prog="gitops-kit",
        description="Scaffold and validate GitOps repositories for fleets of Kubernetes clusters.",
        epilog="Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage/config/tool error, 130 interrupted, 143 terminated.",
    )
    parser.add_argument("--version", action="version", version=f"gitops-kit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in command_names():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"{__package__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser
