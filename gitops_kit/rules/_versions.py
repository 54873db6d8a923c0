"""Target versions: parse `X.Y` strings and pick the target of a component (default: the latest known)."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping

    from ..rulebase import Context

Version = tuple[int, int]
_VERSION = r"^v?(\d+)\.(\d+)"  # compiled on first use (re's cache)


def parse_version(text: object) -> Version | None:
    """`1.33`, `v1.33.2`, `2.9.0` → (major, minor); None when it is not a version."""
    match = re.match(_VERSION, str(text).strip()) if text is not None else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def target_version(ctx: Context, component: str, latest: Mapping[str, str]) -> Version | None:
    """The version the repository targets for `component`; unset or unparsable → the latest we know."""
    return parse_version(ctx.target(component)) or parse_version(latest.get(component))


def latest_releases() -> Mapping[str, str]:
    """The newest release gitops-kit knows per component (the `latest:` block of deprecations.yaml)."""
    from .deprecated_api import table

    return table().latest
