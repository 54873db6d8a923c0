"""The only code that knows where packaged data lives.

`blueprints/`, `schemas/` and `cookiecutters/` sit at the repository root and ship inside the
wheel as `gitops_kit/_bundled/<name>` (hatchling force-include). In a source checkout or an
editable install they are read from the repository root instead.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
BUNDLED = ("blueprints", "schemas", "cookiecutters")


@lru_cache(maxsize=None)
def bundled_dir(name: str) -> Path:
    """Directory of a bundled resource folder (`blueprints`, `schemas` or `cookiecutters`)."""
    if name not in BUNDLED:
        raise ValueError(f"unknown resource folder {name!r}")
    installed = _PACKAGE / "_bundled" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"gitops-kit resource folder {name!r} is missing from this installation")


def user_cache_dir(name: str) -> Path:
    """A folder of the user's cache (renders, resolved schemas): `$GITOPS_KIT_CACHE_DIR/<name>`,
    else `$XDG_CACHE_HOME/gitops-kit/<name>`, else `~/.cache/gitops-kit/<name>`."""
    import os

    override = os.environ.get("GITOPS_KIT_CACHE_DIR")
    if override:
        return Path(override) / name
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gitops-kit" / name


def data_path(*parts: str) -> Path:
    """A file under `gitops_kit/data/` (small data tables that change with upstream releases)."""
    return _PACKAGE.joinpath("data", *parts)


def schemas_path(*parts: str) -> Path:
    return bundled_dir("schemas").joinpath(*parts)


def blueprints_path(*parts: str) -> Path:
    return bundled_dir("blueprints").joinpath(*parts)


def cookiecutters_path(*parts: str) -> Path:
    return bundled_dir("cookiecutters").joinpath(*parts)
