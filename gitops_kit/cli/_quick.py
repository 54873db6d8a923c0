"""The arguments of the pre-commit hooks' `validate` calls, read without argparse.

A hook runs `gitops-kit validate --quiet [--rule ID…] FILE…` once per batch of staged files, and
importing argparse (with gettext and locale) and building the validate parser is ≈ 3 ms of a run
whose benchmark bar is ≈ 25 ms. This reader accepts only that simple shape — options without
choices to check, paths that cannot be mistaken for options — and answers None for anything else,
which then goes through argparse as before (help, errors and every other option included).
tests/cli/test_quick_args.py checks that whatever it accepts, argparse reads the same way.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

#: the validate parser's defaults (cli/validate.py `register`); the test compares them with argparse's
VALIDATE_DEFAULTS: dict[str, Any] = {
    "command": "validate",
    "paths": [],
    "format": None,
    "changed_since": None,
    "output": None,
    "fail_on": None,
    "quiet": False,
    "color": "auto",
    "config": None,
    "baseline": None,
    "write_baseline": None,
    "rule": None,
    "disable": [],
    "kubernetes_version": None,
    "flux_version": None,
    "argocd_version": None,
    "cilium_version": None,
    "target": [],
    "schema_engine": None,
    "strict_schemas": False,
    "schema_location": [],
}
_FLAGS = {"-q": "quiet", "--quiet": "quiet", "--strict-schemas": "strict_schemas"}
_REPEATED = {"--rule": "rule", "--disable": "disable", "--target": "target", "--schema-location": "schema_location"}
_CHOICES = {"--fail-on": ("fail_on", ("error", "warning", "info")), "--color": ("color", ("auto", "always", "never"))}


class Arguments:
    """What argparse's Namespace would hold for the same command line."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def parse_validate(arguments: Sequence[str]) -> Arguments | None:
    """The parsed `validate …` command line, or None when argparse must read it."""
    if not arguments or arguments[0] != "validate":
        return None
    values = {key: (list(value) if isinstance(value, list) else value) for key, value in VALIDATE_DEFAULTS.items()}
    rest = list(arguments[1:])
    options_after_paths = False
    while rest:
        word = rest.pop(0)
        if not word.startswith("-"):
            if options_after_paths:
                return None  # argparse reads one run of positionals: let it accept or reject this
            values["paths"].append(word)
            continue
        options_after_paths = bool(values["paths"])
        name, has_value, inline = word.partition("=")
        if name in _FLAGS and not has_value:
            values[_FLAGS[name]] = True
            continue
        if name in _REPEATED or name in _CHOICES:
            if has_value:
                value = inline
            elif rest and not rest[0].startswith("-"):
                value = rest.pop(0)
            else:
                return None
            if not value or value.startswith("-"):
                return None
            if name in _REPEATED:
                key = _REPEATED[name]
                values[key] = (values[key] or []) + [value]
            else:
                key, allowed = _CHOICES[name]
                if value not in allowed:
                    return None  # argparse words the error
                values[key] = value
            continue
        return None  # help, `--`, a short option cluster, anything else: argparse
    return Arguments(values)
