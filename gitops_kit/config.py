"""`.gitops-kit.yaml` → typed, validated settings. Invalid configuration is a `ConfigError` (exit 2).

The same file is the fleet's source of truth written by `gitops-kit new cluster` (section `fleet`);
sections owned by other features (`fleet`, `secrets`, `render`, `schemas`) are kept as mappings
here and validated by their owners.
"""

from __future__ import annotations

import fnmatch
import os
from functools import lru_cache

from .errors import UserError
from .loader import Limits
from .model import Severity, _Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike

    from typing import Any, Mapping

CONFIG_NAME = ".gitops-kit.yaml"
CONFIG_NAMES = (CONFIG_NAME, ".gitops-kit.yml")
DEFAULT_EXCLUDES = (".git", ".git/**", "**/node_modules/**", "**/.terraform/**")
_TOP_LEVEL = {
    "version": "schema version of this file (1)",
    "exclude": "glob patterns of paths to skip",
    "rules": "per-rule settings: `rule-id: off|error|warning|info` or `{enabled, severity, ...options}`",
    "targets": "target versions per component, e.g. {kubernetes: '1.33', flux: '2.7'}",
    "fail-on": "lowest severity that makes `validate` exit 1 (error|warning|info)",
    "baseline": "path of a baseline file (findings recorded there do not fail the run)",
    "limits": "{max-file-bytes, max-depth}",
    "render": "rendering settings (issue: rendering)",
    "schemas": "schema settings (extra locations, strictness)",
    "fleet": "the fleet managed by `gitops-kit new cluster`",
    "secrets": "SOPS settings",
}


_NO_OPTIONS: dict = {}


class ConfigError(UserError):
    """A configuration problem the user must fix; the message names the file and the key."""


class RuleSettings(_Frozen):
    __slots__ = _fields = ("enabled", "severity", "options")

    def __init__(self, enabled: bool | None = None, severity: Severity | None = None, options: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "enabled", enabled)
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "options", options if options is not None else {})

    def __hash__(self) -> int:  # options is a mapping
        return hash((self.enabled, self.severity))


class Config(_Frozen):
    """The validated settings of one repository, read from `source` when there is one.

    `root` and `source` are path strings (any path-like given is converted): validating one file
    should not cost the import of pathlib, which pulls in urllib.parse and ipaddress.
    """

    __slots__ = _fields = ("root", "source", "exclude", "rules", "targets", "fail_on", "baseline", "limits", "sections")

    def __init__(
        self,
        root: str | PathLike[str] | None = None,
        source: str | PathLike[str] | None = None,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDES,
        rules: Mapping[str, RuleSettings] | None = None,
        targets: Mapping[str, str] | None = None,
        fail_on: Severity = Severity.ERROR,
        baseline: str | None = None,
        limits: Limits | None = None,
        sections: Mapping[str, Any] | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "root", os.fspath(root) if root is not None else os.getcwd())
        setter(self, "source", os.fspath(source) if source is not None else None)
        setter(self, "exclude", exclude)
        setter(self, "rules", rules if rules is not None else {})
        setter(self, "targets", targets if targets is not None else {})
        setter(self, "fail_on", fail_on)
        setter(self, "baseline", baseline)
        setter(self, "limits", limits if limits is not None else Limits())
        setter(self, "sections", sections if sections is not None else {})

    def __hash__(self) -> int:  # mappings inside
        return hash((self.root, self.source, self.exclude))

    def with_overrides(self, **changes: Any) -> "Config":
        return self.replace(**changes)

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.sections.get(name)
        return value if isinstance(value, dict) else {}

    def rule_enabled(self, rule_id: str, default: bool) -> bool:
        settings = self.rules.get(rule_id)
        if settings is None or settings.enabled is None:
            return default
        return settings.enabled

    def rule_options(self, rule_id: str) -> Mapping[str, Any]:
        settings = self.rules.get(rule_id)
        return settings.options if settings else _NO_OPTIONS

    def severity_override(self, rule_id: str) -> Severity | None:
        settings = self.rules.get(rule_id)
        return settings.severity if settings else None

    def is_excluded(self, relative: str) -> bool:
        """Whether a POSIX path relative to the root matches an exclude pattern (or sits under one)."""
        return _excluded(self.exclude, relative)


def _excluded(patterns: tuple[str, ...], relative: str) -> bool:
    matches = _exclude_matcher(patterns)
    if matches is None:
        return False
    parent = relative.rpartition("/")[0]
    return matches(relative) is not None or (parent != "" and _excluded_directory(patterns, parent))


@lru_cache(maxsize=4096)
def _excluded_directory(patterns: tuple[str, ...], relative: str) -> bool:
    # once per directory, not once per file: a repository has far more files than directories
    return _excluded(patterns, relative)


@lru_cache(maxsize=16)
def _exclude_matcher(patterns: tuple[str, ...]):
    """One compiled regular expression for every pattern (`**/x` also matches `x` at the root), as
    `fnmatch.fnmatchcase` reads them; None when there are no patterns."""
    alternatives = []
    for pattern in patterns:
        bare = pattern.rstrip("/")
        alternatives.append(bare)
        if bare.startswith("**/"):
            alternatives.append(bare[3:])
    if not alternatives:
        return None
    import re

    return re.compile("|".join(f"(?:{fnmatch.translate(alternative)})" for alternative in alternatives)).match


def find_root(start: str | PathLike[str]) -> str:
    """The repository root: nearest ancestor holding `.gitops-kit.yaml` or `.git`, else `start`'s folder."""
    start = os.path.realpath(start)
    here = start if os.path.isdir(start) else os.path.dirname(start)
    candidate = here
    while True:
        if any(os.path.exists(os.path.join(candidate, name)) for name in (*CONFIG_NAMES, ".git")):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return here
        candidate = parent


def load_config(root: str | PathLike[str], path: str | PathLike[str] | None = None) -> Config:
    """Read the configuration of the repository at `root` (or from an explicit `path`)."""
    root = os.fspath(root)
    if path is None:
        for name in CONFIG_NAMES:
            if os.path.isfile(os.path.join(root, name)):
                path = os.path.join(root, name)
                break
    if path is None:
        return Config(root=root)
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: configuration file not found")
    from ._native import yaml_error, yaml_loads

    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
        if "\x00" in text:  # yaml_rs stops at a NUL and would silently ignore the rest
            raise ConfigError(f"{path}: binary content (NUL bytes): not a YAML configuration file")
        data = yaml_loads(text)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    except yaml_error() as err:
        first = str(err).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML: {first}") from None
    return parse_config(data, root=root, source=path)


def _where(source: str | PathLike[str] | None, key: str) -> str:
    return f"{source or CONFIG_NAME}: {key}"


def parse_config(data: Any, root: str | PathLike[str], source: str | PathLike[str] | None = None) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source or CONFIG_NAME}: must be a mapping of settings")
    unknown = sorted(str(k) for k in data if k not in _TOP_LEVEL)
    if unknown:
        known = ", ".join(_TOP_LEVEL)
        raise ConfigError(f"{_where(source, unknown[0])}: unknown setting (known: {known})")
    version = data.get("version", 1)
    if version != 1:
        raise ConfigError(f"{_where(source, 'version')}: unsupported version {version!r} (expected 1)")

    exclude = data.get("exclude", [])
    if isinstance(exclude, str):
        exclude = [line for line in exclude.splitlines() if line.strip() and not line.startswith("#")]
    if not isinstance(exclude, list) or not all(isinstance(p, str) for p in exclude):
        raise ConfigError(f"{_where(source, 'exclude')}: must be a list of glob patterns")

    rules = _parse_rules(data.get("rules", {}), source)

    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        raise ConfigError(f"{_where(source, 'targets')}: must map components to versions, e.g. kubernetes: '1.33'")
    targets = {str(k): _version_text(v, source, f"targets.{k}") for k, v in targets.items()}

    fail_on = Severity.ERROR
    if "fail-on" in data:
        try:
            fail_on = Severity.parse(data["fail-on"])
        except ValueError as err:
            raise ConfigError(f"{_where(source, 'fail-on')}: {err}") from None

    baseline = data.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise ConfigError(f"{_where(source, 'baseline')}: must be a path")

    limits = _parse_limits(data.get("limits", {}), source)
    sections = {k: data[k] for k in ("render", "schemas", "fleet", "secrets") if k in data}
    for name, value in sections.items():
        if not isinstance(value, dict):
            raise ConfigError(f"{_where(source, name)}: must be a mapping")
    return Config(
        root=root,
        source=source,
        exclude=DEFAULT_EXCLUDES + tuple(exclude),
        rules=rules,
        targets=targets,
        fail_on=fail_on,
        baseline=baseline,
        limits=limits,
        sections=sections,
    )


def _version_text(value: Any, source: str | PathLike[str] | None, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{_where(source, key)}: must be a version such as '1.33'")
    text = str(value).lstrip("v")
    if not text or not all(part.isdigit() for part in text.split(".")):
        raise ConfigError(f"{_where(source, key)}: {value!r} is not a version such as '1.33'")
    return text


def _parse_rules(raw: Any, source: str | PathLike[str] | None) -> dict[str, RuleSettings]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(source, 'rules')}: must map rule ids to settings")
    from .rulebase import rule_entries

    known = rule_entries()
    parsed: dict[str, RuleSettings] = {}
    for rule_id, value in raw.items():
        key = f"rules.{rule_id}"
        if rule_id not in known:
            raise ConfigError(f"{_where(source, key)}: unknown rule (`gitops-kit rules` lists them)")
        if value is False or (isinstance(value, str) and value.lower() in ("off", "disable", "disabled")):
            parsed[rule_id] = RuleSettings(enabled=False)
        elif value is True or (isinstance(value, str) and value.lower() in ("on", "enable", "enabled")):
            parsed[rule_id] = RuleSettings(enabled=True)
        elif isinstance(value, str):
            try:
                parsed[rule_id] = RuleSettings(enabled=True, severity=Severity.parse(value))
            except ValueError as err:
                raise ConfigError(f"{_where(source, key)}: {err}") from None
        elif isinstance(value, dict):
            options = dict(value)
            enabled = options.pop("enabled", None)
            if enabled is not None and not isinstance(enabled, bool):
                raise ConfigError(f"{_where(source, key + '.enabled')}: must be true or false")
            severity = options.pop("severity", None)
            try:
                parsed_severity = Severity.parse(severity) if severity is not None else None
            except ValueError as err:
                raise ConfigError(f"{_where(source, key + '.severity')}: {err}") from None
            parsed[rule_id] = RuleSettings(enabled=enabled, severity=parsed_severity, options=options)
        else:
            raise ConfigError(f"{_where(source, key)}: expected off, error, warning, info or a mapping")
    return parsed


def _parse_limits(raw: Any, source: str | PathLike[str] | None) -> Limits:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(source, 'limits')}: must be a mapping")
    names = {"max-file-bytes": "max_file_bytes", "max-depth": "max_depth"}
    values: dict[str, int] = {}
    for key, value in raw.items():
        if key not in names:
            raise ConfigError(f"{_where(source, 'limits.' + str(key))}: unknown limit (known: {', '.join(names)})")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{_where(source, 'limits.' + key)}: must be a positive integer")
        values[names[key]] = value
    return Limits(**values)


def relative_posix(path: str | PathLike[str], root: str | PathLike[str]) -> str:
    """`path` relative to `root`, with forward slashes (`..` when it is outside)."""
    relative = os.path.relpath(path, root)
    return relative.replace(os.sep, "/") if os.sep != "/" else relative
