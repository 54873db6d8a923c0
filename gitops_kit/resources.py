"""The only code that knows where packaged data lives.

`blueprints/`, `schemas/` and `cookiecutters/` sit at the repository root and ship inside the
wheel as `gitops_kit/_bundled/<name>` (hatchling force-include). In a source checkout or an
editable install they are read from the repository root instead.

Each location comes as a string (`*_location`: what the validate path uses, so that a pre-commit
run does not import pathlib) and as a `Path` (`*_path`, `*_dir`: for everything else).
"""

from __future__ import annotations

import os
from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

_PACKAGE = os.path.dirname(os.path.realpath(__file__))
BUNDLED = ("blueprints", "schemas", "cookiecutters")


@lru_cache(maxsize=None)
def bundled_location(name: str) -> str:
    """Directory of a bundled resource folder (`blueprints`, `schemas` or `cookiecutters`)."""
    if name not in BUNDLED:
        raise ValueError(f"unknown resource folder {name!r}")
    installed = os.path.join(_PACKAGE, "_bundled", name)
    if os.path.isdir(installed):
        return installed
    checkout = os.path.join(os.path.dirname(_PACKAGE), name)
    if os.path.isdir(checkout):
        return checkout
    raise FileNotFoundError(f"gitops-kit resource folder {name!r} is missing from this installation")


def user_cache_location(name: str) -> str:
    """A folder of the user's cache (renders, resolved schemas): `$GITOPS_KIT_CACHE_DIR/<name>`,
    else `$XDG_CACHE_HOME/gitops-kit/<name>`, else `~/.cache/gitops-kit/<name>`."""
    override = os.environ.get("GITOPS_KIT_CACHE_DIR")
    if override:
        return os.path.join(override, name)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return os.path.join(xdg if xdg else os.path.join(os.path.expanduser("~"), ".cache"), "gitops-kit", name)


def data_location(*parts: str) -> str:
    """A file under `gitops_kit/data/` (small data tables that change with upstream releases)."""
    return os.path.join(_PACKAGE, "data", *parts)


def schemas_location(*parts: str) -> str:
    return os.path.join(bundled_location("schemas"), *parts)


def _path(location: str) -> Path:
    from pathlib import Path

    return Path(location)


def bundled_dir(name: str) -> Path:
    return _path(bundled_location(name))


def user_cache_dir(name: str) -> Path:
    return _path(user_cache_location(name))


def data_path(*parts: str) -> Path:
    return _path(data_location(*parts))


def schemas_path(*parts: str) -> Path:
    return _path(schemas_location(*parts))


def blueprints_path(*parts: str) -> Path:
    return _path(os.path.join(bundled_location("blueprints"), *parts))


def cookiecutters_path(*parts: str) -> Path:
    return _path(os.path.join(bundled_location("cookiecutters"), *parts))
