"""`gitops-kit` command line: argument parsing only; every command calls the library.

Each module in this package that defines `register(subparsers)` adds a command; `register`
returns nothing and sets `func` on its parser. Exit codes (docs/exit-codes.md):
0 clean, 1 findings at or above --fail-on, 2 usage/configuration/tool error, 130 interrupted,
143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process killed by it


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a CI runner cancelling the job): unwinds like Ctrl-C, so temp files and child processes
    are cleaned up, then exits 143."""


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


def command_names() -> list[str]:
    """The command modules of this package (without importing them)."""
    from ..plugins import module_names

    return module_names(__path__)


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
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    import signal

    from ..errors import UserError

    if hasattr(signal, "SIGTERM"):
        try:
            signal.signal(signal.SIGTERM, _terminated)
        except ValueError:  # not the main thread (main() called from a library user's thread)
            pass

    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments else None
    fast = command in command_names() and not any(a in ("-h", "--help") for a in arguments)
    parser = build_parser(only=command if fast else None)
    args = parser.parse_args(arguments)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.func(args))
    except UserError as err:
        print(f"gitops-kit: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except _Terminated:
        print("gitops-kit: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("gitops-kit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # output piped into `head`: not an error of ours
        sys.stderr.close()
        return EXIT_OK
