"""Reading and editing `.sops.yaml`: first-match creation rules, round-trip edits that keep comments."""

from __future__ import annotations

import os
import re

from ..errors import UserError
from ..model import _Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

DEFAULT_ENCRYPTED_REGEX = "^(data|stringData)$"

#: Fields of which sops allows at most one per rule/file (they choose which leaves get encrypted).
SELECTION_FIELDS = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
)


class CreationRule(_Frozen):
    """One entry of `creation_rules`. A frozen slotted record, not a dataclass: `sops-rule-coverage` reads
    `.sops.yaml` during `validate`, where importing dataclasses and pathlib costs ~7 ms per process."""

    __slots__ = _fields = ("index", "path_regex", "age", "pgp", "selection", "has_key_groups")
    index: int
    path_regex: str
    age: tuple[str, ...]
    pgp: tuple[str, ...]
    selection: tuple[str, str] | None  # (field, value) e.g. ("encrypted_regex", "^(data|stringData)$")
    has_key_groups: bool

    def __init__(
        self, index: int, path_regex: str, age: tuple[str, ...], pgp: tuple[str, ...], selection: tuple[str, str] | None, has_key_groups: bool
    ) -> None:
        setter = object.__setattr__
        setter(self, "index", index)
        setter(self, "path_regex", path_regex)
        setter(self, "age", age)
        setter(self, "pgp", pgp)
        setter(self, "selection", selection)
        setter(self, "has_key_groups", has_key_groups)


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: keeps comments, order and quoting
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _csv_or_list(value: Any) -> tuple[str, ...]:
    # sops accepts "a,b" strings and lists alike (config.go); empty entries are skipped.
    if value is None:
        return ()
    if not isinstance(value, (str, list)):
        return (str(value),)  # a lone number or the like: one (bad) recipient, not a crash
    items = value.split(",") if isinstance(value, str) else [str(item) for item in value]
    return tuple(item.strip() for item in items if str(item).strip())


def load_config(config_path: Path) -> Any:
    try:
        with open(config_path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise UserError(f"{config_path}: cannot read ({error.strerror})") from None
    try:
        data = _yaml().load(text)
    except Exception as error:  # ruamel raises many error types; all mean "not YAML"
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"{config_path}{where}: not valid YAML; fix the file ({getattr(error, 'problem', error)})") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise UserError(f"{config_path}:1: .sops.yaml must be a mapping with creation_rules")
    return data


def creation_rules(config: Any) -> list[CreationRule]:
    rules: list[CreationRule] = []
    for index, raw in enumerate((config or {}).get("creation_rules") or []):
        if not isinstance(raw, dict):
            continue
        age: tuple[str, ...] = _csv_or_list(raw.get("age"))
        pgp: tuple[str, ...] = _csv_or_list(raw.get("pgp"))
        groups = raw.get("key_groups") if isinstance(raw.get("key_groups"), list) else []
        if groups:  # key_groups override the flat key lists (sops config.go)
            age = tuple(a for group in groups if isinstance(group, dict) for a in _csv_or_list(group.get("age")))
            pgp = tuple(p for group in groups if isinstance(group, dict) for p in _csv_or_list(group.get("pgp")))
        selected = [(name, str(raw[name])) for name in SELECTION_FIELDS if raw.get(name) not in (None, "")]
        rules.append(
            CreationRule(
                index=index,
                path_regex=str(raw.get("path_regex") or ""),
                age=age,
                pgp=pgp,
                selection=selected[0] if selected else None,
                has_key_groups=bool(groups),
            )
        )
    return rules


def relative_to_config(file_path: Path, config_path: Path) -> str:
    """The string sops matches path_regex against: path relative to the config's directory, else absolute."""
    absolute = os.path.abspath(file_path)
    base = os.path.dirname(os.path.abspath(config_path)) + os.sep
    return absolute[len(base):] if absolute.startswith(base) else absolute


def first_matching_rule(rules: list[CreationRule], relative_path: str) -> CreationRule | None:
    """sops' first-match semantics: empty path_regex matches all; regex search is unanchored."""
    for rule in rules:
        if not rule.path_regex:
            return rule
        search = _searches.get(rule.path_regex)
        if search is None:
            try:
                search = re.compile(rule.path_regex).search
            except re.error:
                raise UserError(f"creation_rules[{rule.index}].path_regex {rule.path_regex!r} is not a valid regex") from None
            if len(_searches) >= 256:  # a long-lived process that met many configurations: stay bounded
                _searches.clear()
            _searches[rule.path_regex] = search
        if search(relative_path):
            return rule
    return None


#: path_regex → its compiled search: sops-rule-coverage asks once per encrypted file with the same few
#: rules, at the end of a run (the parent's tail in a parallel run), and `re.search` looks its cache up each time
_searches: dict = {}


def rule_for_path(config_path: Path, file_path: Path) -> CreationRule | None:
    """The creation rule sops would use to encrypt `file_path` with `--config config_path`."""
    config = load_config(config_path)
    return first_matching_rule(creation_rules(config), relative_to_config(file_path, config_path))


def ensure_creation_rule(
    config_path: Path,
    path_regex: str,
    recipients: list[str],
    encrypted_regex: str = DEFAULT_ENCRYPTED_REGEX,
) -> bool:
    """Make `.sops.yaml` hold a rule for `path_regex` with exactly these age recipients.

    Existing rules for the same path_regex are updated in place (comments kept); a new rule goes
    before any catch-all rule so first-match selection still reaches it. Returns whether the file
    changed.
    """
    from pathlib import Path

    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    try:
        re.compile(path_regex)
    except re.error as error:
        raise UserError(f"path_regex {path_regex!r} is not a valid regex ({error})") from None
    if not recipients:
        raise UserError(f"creation rule {path_regex!r}: at least one age recipient is needed")
    config_path = Path(config_path)
    config = load_config(config_path) if config_path.exists() else None
    if config is None:
        config = CommentedMap()
    rules = config.get("creation_rules")
    if rules is None:
        rules = CommentedSeq()
        config["creation_rules"] = rules
    if not isinstance(rules, list):
        raise UserError(f"{config_path}: creation_rules must be a list")
    wanted_age = ",".join(recipients)
    for rule in rules:
        if isinstance(rule, dict) and rule.get("path_regex") == path_regex:
            changed = False
            if _csv_or_list(rule.get("age")) != tuple(recipients):
                rule["age"] = wanted_age
                changed = True
            if rule.get("encrypted_regex") != encrypted_regex:
                for name in SELECTION_FIELDS:
                    if name in rule and name != "encrypted_regex":
                        del rule[name]
                rule["encrypted_regex"] = encrypted_regex
                changed = True
            if changed:
                _write(config_path, config)
            return changed
    new_rule = CommentedMap()
    new_rule["path_regex"] = path_regex
    new_rule["encrypted_regex"] = encrypted_regex
    new_rule["age"] = wanted_age
    catch_all = next(
        (i for i, rule in enumerate(rules) if isinstance(rule, dict) and not rule.get("path_regex")), len(rules)
    )
    rules.insert(catch_all, new_rule)
    _write(config_path, config)
    return True


def _write(config_path: Path, config: Any) -> None:
    import io

    from ..fileio import atomic_write_text

    buffer = io.StringIO()
    _yaml().dump(config, buffer)
    atomic_write_text(config_path, buffer.getvalue())
