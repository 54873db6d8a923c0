"""`gitops-kit` command line: argument parsing only; every command calls the library.

Each module in this package that defines `register(subparsers)` adds a command; `register`
returns nothing and sets `func` on its parser. Exit codes (docs/exit-codes.md):
0 clean, 1 findings at or above --fail-on, 2 usage/configuration/tool error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default is exit 2 too; keep one line + hint
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog="gitops-kit",
        description="Scaffold and validate GitOps repositories for fleets of Kubernetes clusters.",
        epilog="Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage/config/tool error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"gitops-kit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ..errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.func(args))
    except UserError as err:
        print(f"gitops-kit: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("gitops-kit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # output piped into `head`: not an error of ours
        sys.stderr.close()
        return EXIT_OK
