"""`gitops-kit version`."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("version", help="print the version")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import __version__

    print(f"gitops-kit {__version__}")
    return 0
