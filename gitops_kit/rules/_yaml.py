"""YAML for the rules' data tables and embedded documents, through the bare `yaml_rs` extension.

The `yaml_rs` package's Python wrapper imports pathlib, typing and enum (~4 ms of a one-file run, whose
start-up is a benchmark bar), and `resources.data_path` returns a `pathlib.Path`: the rules read
their tables by string paths and parse with the extension (`_native`), as the loader does. Not a
rule module: the registry skips names starting with `_`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def loads(text: str, parse_datetime: bool = True) -> Any:
    """`yaml_rs.loads(text, parse_datetime=…)` (duplicate keys are an error, as there)."""
    from .._native import yaml_loads

    return yaml_loads(text, parse_datetime=parse_datetime)


def decode_error() -> type[Exception]:
    """`yaml_rs.YAMLDecodeError`."""
    from .._native import yaml_error

    return yaml_error()


def data_table(name: str) -> Any:
    """A packaged table of `gitops_kit/data/` (e.g. deprecations.yaml), parsed."""
    from ..resources import data_location

    with open(data_location(name), encoding="utf-8") as handle:
        return loads(handle.read())
