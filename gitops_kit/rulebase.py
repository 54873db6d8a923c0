"""The rule contract and the registry that finds every module under `gitops_kit/rules/`.

A rule module defines one module-level `RULE = Rule(...)`. Three kinds share the contract:

* document rules (`check`): one object at a time, dispatched by kind;
* scope rules (`collect` + `finish`, scope="scope"): the objects rendered together (one overlay, or
  one directory of plain files), e.g. duplicates, StorageClass → PVC → Pod;
* repository rules (`collect` + `finish`, scope="repository"): the whole tree, e.g. fleet checks.

Aggregate rules never receive the documents list: `collect` keeps a small record per document
(or None to skip it) and `finish` turns the records into violations, so memory stays flat on large
repositories. Rules are pure: no I/O, no configuration of severity or suppression.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Literal, Mapping

from .model import DOCS_RULES, Document, RuleInfo, Severity, Violation

Scope = Literal["document", "scope", "repository", "load"]
_RULE_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Context:
    """What a check may know besides the documents: target versions, repository root, options."""

    root: str = "."
    targets: Mapping[str, str] = field(default_factory=dict)
    #: rule id → options from `.gitops-kit.yaml` (`rules: {<id>: {<option>: value}}`)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: shared, lazily built services (schema engine, parsed `.sops.yaml`, fleet config…), keyed by name.
    #: The engine fills it at the edge; rules only read from it.
    services: Mapping[str, Any] = field(default_factory=dict)

    def target(self, component: str, default: str | None = None) -> str | None:
        return self.targets.get(component, default)

    def rule_options(self, rule_id: str) -> Mapping[str, Any]:
        value = self.options.get(rule_id)
        return value if isinstance(value, Mapping) else {}


CheckFn = Callable[[Document, Context], Iterable[Violation]]
CollectFn = Callable[[Document, Context], Any]
FinishFn = Callable[[list[Any], Context], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    rationale: str
    fix: str
    example: str
    #: kinds the rule looks at; None = every document that is a Kubernetes object
    kinds: frozenset[str] | None = None
    scope: Scope = "document"
    check: CheckFn | None = None
    collect: CollectFn | None = None
    finish: FinishFn | None = None
    #: an example that passes, shown after the failing one in the docs
    good_example: str = ""
    #: also see documents that are not Kubernetes objects (values files, `.sops.yaml`, configs,
    #: non-manifest files); such rules check `doc.manifest` / `doc.is_object` themselves
    any_document: bool = False
    #: on by default; opt-in rules are enabled in `.gitops-kit.yaml`
    default_enabled: bool = True
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _RULE_ID.match(self.id):
            raise ValueError(f"rule id {self.id!r} is not kebab-case")
        if self.scope == "document" and self.check is None:
            raise ValueError(f"document rule {self.id} needs check()")
        if self.scope in ("scope", "repository") and (self.collect is None or self.finish is None):
            raise ValueError(f"aggregate rule {self.id} needs collect() and finish()")

    @property
    def docs_anchor(self) -> str:
        return f"{DOCS_RULES}#{self.id}"

    def info(self) -> RuleInfo:
        return RuleInfo(self.id, self.severity, self.summary, self.rationale, self.fix, self.docs_anchor)


@lru_cache(maxsize=1)
def all_rules() -> dict[str, Rule]:
    """Every rule, found by importing each module of `gitops_kit.rules` (no list to edit)."""
    from . import rules as package

    found: dict[str, Rule] = {}
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise TypeError(f"gitops_kit.rules.{module_info.name} defines no RULE = Rule(...)")
        if rule.id in found:
            raise ValueError(f"duplicate rule id {rule.id}")
        if module_info.name != rule.id.replace("-", "_"):
            raise ValueError(f"module {module_info.name} must be named after its rule id {rule.id}")
        found[rule.id] = rule
    return dict(sorted(found.items()))


def get_rule(rule_id: str) -> Rule:
    rules = all_rules()
    try:
        return rules[rule_id]
    except KeyError:
        close = [r for r in rules if r.split("-")[0] == rule_id.split("-")[0]]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"unknown rule {rule_id!r}{hint}; `gitops-kit rules` lists them") from None
