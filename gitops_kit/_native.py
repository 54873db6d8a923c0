"""The compiled parsers (`yaml_rs`, `jsonschema_rs`), imported without their packages' Python wrappers.

A pre-commit run has about 25 ms in all (the single-file benchmark bar), and the wrappers spend a
quarter of that on names gitops-kit never uses: `yaml_rs/__init__` imports `pathlib` (which pulls
in `urllib.parse` and `ipaddress`), `typing` and `enum` for type hints and one `StrEnum`;
`jsonschema_rs/__init__` imports `typing`. The extension modules themselves need none of it, so
they are loaded from their packages' directories with a bare stand-in package in `sys.modules`
for the duration of the import. The real package is imported later if anything asks for it
(jsonschema_rs does, to build its `ValidationError`, but only when a schema error is reported).

If the layout of a future release differs, the functions fall back to the ordinary import, so
the cost is speed, never correctness; tests/unit/test_native.py checks both paths. One trace is
left: a package imported later finds its extension in `sys.modules` (it is not loaded twice) but
does not get it as an attribute (`yaml_rs._yaml_rs`); nothing in gitops-kit reads it that way.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

#: `duplicate_key_policy` values the yaml_rs extension accepts (the wrapper's StrEnum values)
DUPLICATES_LAST_WINS = "last_wins"


def yaml_rs() -> ModuleType:
    """The `yaml_rs._yaml_rs` extension: `_loads`, `_AliasLimits`, `YAMLDecodeError`."""
    module = _extension("yaml_rs", "_yaml_rs", ("_loads", "_AliasLimits", "YAMLDecodeError"))
    if module is None:
        import yaml_rs  # noqa: F401 - the ordinary import; its extension is then in sys.modules

        module = sys.modules["yaml_rs._yaml_rs"]
    return module


def yaml_loads(text: str, *, parse_datetime: bool = False) -> Any:
    """`yaml_rs.loads(text)` through the extension: one document, or a list for a multi-document
    stream; a repeated mapping key is an error (the wrapper's default policy)."""
    return yaml_rs()._loads(text, parse_datetime=parse_datetime)


def yaml_error() -> type[Exception]:
    """`yaml_rs.YAMLDecodeError`, what `yaml_loads` raises on invalid YAML."""
    return yaml_rs().YAMLDecodeError


def jsonschema_rs() -> ModuleType:
    """The `jsonschema_rs.jsonschema_rs` extension (`validator_for` …), without `email.utils` either.

    The extension imports `email.utils` at load time (socket, calendar, email.charset: ≈ 5 ms) for
    one call, `parsedate_to_datetime` of its own build date. A stand-in answers that call with a
    real `datetime` (anything unexpected goes to the real function) and is removed right after,
    so a later `import email.utils` gets the real module.
    """
    module = sys.modules.get("jsonschema_rs.jsonschema_rs")
    if module is not None:
        return module
    if "email.utils" in sys.modules:
        return _extension("jsonschema_rs", "jsonschema_rs", ("validator_for",)) or _full_jsonschema_rs()
    import email
    import types

    stand_in = types.ModuleType("email.utils")
    stand_in.parsedate_to_datetime = _parse_rfc2822_date  # type: ignore[attr-defined]
    sys.modules["email.utils"] = stand_in
    email.utils = stand_in  # type: ignore[attr-defined]
    try:
        module = _extension("jsonschema_rs", "jsonschema_rs", ("validator_for",)) or _full_jsonschema_rs()
    finally:
        if sys.modules.get("email.utils") is stand_in:
            del sys.modules["email.utils"]
        if getattr(email, "utils", None) is stand_in:
            del email.utils  # type: ignore[attr-defined]
    return module


def _full_jsonschema_rs() -> ModuleType:
    import jsonschema_rs  # noqa: F401

    return sys.modules["jsonschema_rs.jsonschema_rs"]


def _extension(package: str, name: str, needed: tuple[str, ...]) -> ModuleType | None:
    """Import `package.name` without running `package/__init__.py`; None when that is not possible."""
    full = f"{package}.{name}"
    module = sys.modules.get(full)
    if module is None and package in sys.modules:
        return None  # the real package is loaded: the ordinary import is free now
    if module is None:
        # the path finder the import system itself uses: no importlib.util import
        finder = sys.modules["_frozen_importlib_external"].PathFinder
        spec = finder.find_spec(package)
        locations = spec.submodule_search_locations if spec is not None else None
        if not locations:
            return None
        stand_in = type(sys)(package)
        stand_in.__path__ = list(locations)
        sys.modules[package] = stand_in
        try:
            __import__(full)
        except ImportError:
            return None
        finally:
            if sys.modules.get(package) is stand_in:
                del sys.modules[package]
        module = sys.modules.get(full)
    if module is None or not all(hasattr(module, attr) for attr in needed):
        return None
    return module


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _parse_rfc2822_date(text: str):
    """`email.utils.parsedate_to_datetime` for the one shape `Thu, 12 Nov 2026 07:50:16 +0000`."""
    import datetime

    try:
        _weekday, day, month, year, clock, zone = text.split()
        hour, minute, second = (int(part) for part in clock.split(":"))
        sign = -1 if zone[0] == "-" else 1
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
        return datetime.datetime(
            int(year), _MONTHS.index(month.lower()) + 1, int(day), hour, minute, second, tzinfo=datetime.timezone(offset)
        )
    except (ValueError, IndexError):
        sys.modules.pop("email.utils", None)
        import importlib

        return importlib.import_module("email.utils").parsedate_to_datetime(text)
