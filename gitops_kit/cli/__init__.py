"""`gitops-kit` command line: argument parsing only; every command calls the library.

Each module in this package that defines `register(subparsers)` adds a command; `register`
returns nothing and sets `func` on its parser. Exit codes (docs/exit-codes.md):
0 clean, 1 findings at or above --fail-on, 2 usage/configuration/tool error, 130 interrupted,
143 terminated (SIGTERM).
"""

from __future__ import annotations

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


def command_names() -> list[str]:
    """The command modules of this package (without importing them)."""
    from ..plugins import module_names

    return module_names(__path__)


def build_parser(only: str | None = None):  # noqa: ANN201 - argparse.ArgumentParser, imported lazily
    """The parser with every command, or only with `only` (see cli/_parser.py)."""
    from ._parser import build_parser as build

    return build(only)


def _quick_arguments(arguments: list[str]):  # noqa: ANN202
    """A pre-commit hook's `validate` arguments without argparse (cli/_quick.py), or None."""
    from ._quick import parse_validate

    args = parse_validate(arguments)
    if args is not None:
        from .validate import run

        args.func = run
    return args


_SIGINT = 2  # the same number on every platform Python runs on; `signal` costs start-up time to import
#: the interrupts received during the run, so one that a library swallowed (raised inside a finaliser,
#: a `__del__` run by the collector) still decides the exit code
_RECEIVED: list[int] = []


def _terminated(signum: int, frame: object) -> None:
    _RECEIVED.append(signum)
    raise _Terminated


def _interrupted(signum: int, frame: object) -> None:
    _RECEIVED.append(signum)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    _RECEIVED.clear()
    code = _main(argv)
    if code == EXIT_OK and _RECEIVED:  # the run ended normally, but an interrupt arrived and was swallowed
        terminated = _RECEIVED[0] != _SIGINT
        print("gitops-kit: terminated" if terminated else "gitops-kit: interrupted", file=sys.stderr)
        code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    if argv is None:
        # Called as the program (the console script and `python -m gitops_kit` pass no arguments): the
        # process ends right after this. Moving every object into the permanent generation spares the
        # interpreter's shutdown collections a walk over all of them (~3 ms of a one-file pre-commit run,
        # ~8 ms of a 6,000-document one); atexit handlers still run and the OS takes the memory back.
        import gc

        gc.freeze()
    return code


def _main(argv: Sequence[str] | None) -> int:
    try:
        import _signal as signals  # the C module: `signal` only wraps it in enums, ≈ 0.5 ms of start-up
    except ImportError:
        import signal as signals

    previous: dict[int, object] = {}
    if hasattr(signals, "SIGTERM"):
        try:
            previous[signals.SIGTERM] = signals.signal(signals.SIGTERM, _terminated)
            if signals.getsignal(signals.SIGINT) is signals.default_int_handler:  # not a caller's own handler
                previous[signals.SIGINT] = signals.signal(signals.SIGINT, _interrupted)
        except ValueError:  # not the main thread (main() called from a library user's thread)
            pass
    try:
        return _run_command(argv)
    finally:
        for signum, handler in previous.items():  # a library caller gets its own handlers back
            if handler is not None:
                signals.signal(signum, handler)


def _run_command(argv: Sequence[str] | None) -> int:
    from ..errors import UserError

    arguments = list(sys.argv[1:] if argv is None else argv)
    args = _quick_arguments(arguments)
    if args is None:
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
