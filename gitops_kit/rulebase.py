"""The rule contract and the registry that finds every module under `gitops_kit/rules/`.

A rule module defines one module-level `RULE = Rule(...)`. Three kinds share the contract:

* document rules (`check`): one object at a time, dispatched by kind;
* scope rules (`collect` + `finish`, scope="scope"): the objects rendered together (one overlay, or
  one directory of plain files), e.g. duplicates, StorageClass → PVC → Pod;
* repository rules (`collect` + `finish`, scope="repository"): the whole tree, e.g. fleet checks.

Aggregate rules never receive the documents list: `collect` keeps a small record per document
(or None to skip it) and `finish` turns the records into violations, so memory stays flat on large
repositories. Rules are pure: no I/O, no configuration of severity or suppression.

The registry is the set of modules in `gitops_kit/rules/`: nothing to edit when a rule is added.
So that a run imports only the rules its documents need (start-up time is a benchmark bar),
`rules/_index.py` records each module's dispatch metadata (id, scope, selector); it is generated
(`python -m gitops_kit.rulebase --write-index`) and a test fails when it is stale. A module the
index does not know yet is imported and used all the same.
"""

from __future__ import annotations

import os

from .model import DOCS_RULES, Document, RuleInfo, Severity, Violation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Literal, Mapping

    Scope = Literal["document", "scope", "repository", "load"]
    CheckFn = Callable[[Document, "Context"], Iterable[Violation]]
    CollectFn = Callable[[Document, "Context"], Any]
    FinishFn = Callable[[list[Any], "Context"], Iterable[Violation]]

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_LOWER_OR_DIGIT = _LOWER | frozenset("0123456789")
_SCOPES = ("document", "scope", "repository", "load")
_EMPTY: dict = {}


def _is_rule_id(text: str) -> bool:
    """kebab-case: `[a-z][a-z0-9]*(-[a-z0-9]+)*`, checked without a regex (every imported rule asks)."""
    parts = text.split("-")
    return bool(text) and text[0] in _LOWER and all(part and _LOWER_OR_DIGIT.issuperset(part) for part in parts)


class Context:
    """What a check may know besides the documents: target versions, repository root, options.

    * `options`: rule id → options from `.gitops-kit.yaml` (`rules: {<id>: {<option>: value}}`);
    * `services`: shared, lazily built services (schema engine, fleet config…), keyed by name.
      The engine fills it at the edge; rules only read from it.
    """

    __slots__ = ("root", "targets", "options", "services")

    def __init__(
        self,
        root: str = ".",
        targets: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
        services: Mapping[str, Any] | None = None,
    ) -> None:
        self.root = root
        self.targets = targets if targets is not None else {}
        self.options = options if options is not None else {}
        self.services = services if services is not None else {}

    def target(self, component: str, default: str | None = None) -> str | None:
        return self.targets.get(component, default)

    def rule_options(self, rule_id: str) -> Mapping[str, Any]:
        value = self.options.get(rule_id)
        return value if isinstance(value, dict) else _EMPTY


class Selector:
    """Which documents reach a rule, declared so that the engine can decide without importing the rule.

    A document reaches the rule when any of these holds:

    * `any_document`: always;
    * it is a Kubernetes object (in a manifest file, or rendered), `kinds` is None or holds its kind, and
      `api_versions` is None or holds its apiVersion;
    * `plain_documents` and it is not an object (values files, `.sops.yaml`, kustomization files, any
      document of a non-manifest file);
    * one of `marker_keys` is a top-level key of a document loaded (one file) or rendered (one overlay)
      together with it: `("sops",)` reaches encrypted documents and the plain documents of their files;
    * its file name (the last path component) is in `file_names`; `*suffix` matches the end of the name.

    The rule still makes its own exact test: a selector only has to include every document the rule
    can report on or record (the rule fixtures prove it), and the fewer others the better.
    """

    __slots__ = ("kinds", "api_versions", "any_document", "plain_documents", "marker_keys", "file_names")

    def __init__(
        self,
        kinds: Iterable[str] | None = None,
        any_document: bool = False,
        plain_documents: bool = False,
        marker_keys: Iterable[str] = (),
        file_names: Iterable[str] = (),
        api_versions: Iterable[str] | None = None,
    ) -> None:
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.api_versions = frozenset(api_versions) if api_versions is not None else None
        self.any_document = any_document
        self.plain_documents = plain_documents
        self.marker_keys = tuple(sorted(marker_keys))
        self.file_names = tuple(sorted(file_names))

    def selects(
        self, kind: str, is_object: bool, markers: tuple[str, ...] = (), names: tuple[str, ...] = (), api_version: str = ""
    ) -> bool:
        """`markers`: the marker keys present in the document's file or render; `names`: the
        `file_names` patterns its file name matches (`name_patterns` computes them)."""
        if self.any_document:
            return True
        if is_object:
            if (self.kinds is None or kind in self.kinds) and (self.api_versions is None or api_version in self.api_versions):
                return True
        elif self.plain_documents:
            return True
        if markers and not set(markers).isdisjoint(self.marker_keys):
            return True
        return bool(names) and not set(names).isdisjoint(self.file_names)

    def describe(self) -> str:
        """What reaches the rule, in words (the "Applies to" of the rule docs)."""
        if self.any_document:
            return "any YAML document"
        parts = []
        if self.kinds is None:
            parts.append("any object")
        elif self.kinds:
            parts.append(", ".join(sorted(self.kinds)))
        if parts and self.api_versions is not None:
            parts[-1] += f" on one of {len(self.api_versions)} listed apiVersions"
        if self.plain_documents:
            parts.append("documents that are not objects (values files, configs)")
        if self.marker_keys:
            parts.append("files with a top-level " + " or ".join(f"`{key}`" for key in self.marker_keys) + " key")
        if self.file_names:
            parts.append("files named " + ", ".join(f"`{name}`" for name in self.file_names))
        return "; ".join(parts) or "no document"

    def index_fields(self) -> tuple:
        kinds = tuple(sorted(self.kinds)) if self.kinds is not None else None
        api_versions = tuple(sorted(self.api_versions)) if self.api_versions is not None else None
        return (kinds, api_versions, self.any_document, self.plain_documents, self.marker_keys, self.file_names)


def name_patterns(name: str, patterns: Iterable[str]) -> tuple[str, ...]:
    """The `file_names` patterns (exact names, `*suffix`) that the file name `name` matches."""
    return tuple(p for p in patterns if (name.endswith(p[1:]) if p.startswith("*") else name == p))


class RuleEntry(Selector):
    """What the engine needs to dispatch a rule without importing its module."""

    __slots__ = ("id", "module", "scope", "default_enabled")

    def __init__(self, id: str, module: str, scope: str, selector: Selector, default_enabled: bool) -> None:  # noqa: A002
        super().__init__(
            selector.kinds, selector.any_document, selector.plain_documents, selector.marker_keys, selector.file_names,
            selector.api_versions,
        )
        self.id = id
        self.module = module
        self.scope = scope
        self.default_enabled = default_enabled

    def as_tuple(self) -> tuple:
        return (self.module, self.scope, *self.index_fields(), self.default_enabled)

    @classmethod
    def from_tuple(cls, rule_id: str, fields: tuple) -> "RuleEntry":
        module, scope, kinds, api_versions, any_document, plain_documents, marker_keys, file_names, default_enabled = fields
        selector = Selector(kinds, any_document, plain_documents, marker_keys, file_names, api_versions)
        return cls(rule_id, module, scope, selector, default_enabled)


class Rule(Selector):
    """One rule: its documentation (what, why, how to fix, examples) and its check functions.

    * `kinds`, `api_versions`, `any_document`, `plain_documents`, `marker_keys`, `file_names`: which documents reach the
      rule (see `Selector`); by default every Kubernetes object. A rule that sees documents other than
      objects of its kinds checks `doc.manifest` / `doc.is_object` / the file name itself;
    * `good_example`: an example that passes, shown after the failing one in the docs;
    * `default_enabled`: on by default; opt-in rules are enabled in `.gitops-kit.yaml`.
    """

    __slots__ = (
        "id", "severity", "summary", "rationale", "fix", "example", "scope", "check", "collect", "finish",
        "good_example", "default_enabled", "references",
    )

    def __init__(
        self,
        id: str,  # noqa: A002
        severity: Severity,
        summary: str,
        rationale: str,
        fix: str,
        example: str,
        kinds: frozenset[str] | None = None,
        scope: Scope = "document",
        check: CheckFn | None = None,
        collect: CollectFn | None = None,
        finish: FinishFn | None = None,
        good_example: str = "",
        any_document: bool = False,
        default_enabled: bool = True,
        references: tuple[str, ...] = (),
        plain_documents: bool = False,
        marker_keys: tuple[str, ...] = (),
        file_names: tuple[str, ...] = (),
        api_versions: Iterable[str] | None = None,
    ) -> None:
        if not _is_rule_id(id):
            raise ValueError(f"rule id {id!r} is not kebab-case")
        if scope not in _SCOPES:
            raise ValueError(f"rule {id}: unknown scope {scope!r}")
        if scope == "document" and check is None:
            raise ValueError(f"document rule {id} needs check()")
        if scope in ("scope", "repository") and (collect is None or finish is None):
            raise ValueError(f"aggregate rule {id} needs collect() and finish()")
        super().__init__(kinds, any_document, plain_documents, marker_keys, file_names, api_versions)
        self.id = id
        self.severity = severity
        self.summary = summary
        self.rationale = rationale
        self.fix = fix
        self.example = example
        self.scope = scope
        self.check = check
        self.collect = collect
        self.finish = finish
        self.good_example = good_example
        self.default_enabled = default_enabled
        self.references = tuple(references)

    def __repr__(self) -> str:
        return f"Rule({self.id!r}, {self.severity.label}, scope={self.scope})"

    @property
    def docs_anchor(self) -> str:
        return f"{DOCS_RULES}#{self.id}"

    def info(self) -> RuleInfo:
        return RuleInfo(self.id, self.severity, self.summary, self.rationale, self.fix, self.docs_anchor)

    def entry(self, module: str) -> RuleEntry:
        return RuleEntry(self.id, module, self.scope, self, self.default_enabled)


class Record(tuple):
    """A small immutable record an aggregate rule keeps per document, declared like a NamedTuple
    (annotated fields, trailing defaults) without importing `typing` or generating code at import
    time (start-up is a benchmark bar). A tuple underneath: value equality and hash, compact in
    memory, pickled as its values (records cross process boundaries in parallel runs).

        class Missing(Record):
            __slots__ = ()  # no per-record __dict__
            key: tuple[str, str]
            strict: bool = False
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _defaults: tuple = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from operator import itemgetter

        names = tuple(cls.__dict__.get("__annotations__", ()))
        defaults = []
        for index, name in enumerate(names):
            if name in cls.__dict__:
                defaults.append(cls.__dict__[name])
            elif defaults:
                raise TypeError(f"{cls.__name__}.{name}: a field without a default follows one with a default")
            setattr(cls, name, property(itemgetter(index)))
        cls._fields = names
        cls._defaults = tuple(defaults)

    def __new__(cls, *values: Any, **named: Any) -> "Record":
        if named or len(values) != len(cls._fields):
            values = cls._complete(values, named)
        return tuple.__new__(cls, values)

    @classmethod
    def _complete(cls, values: tuple, named: dict[str, Any]) -> tuple:
        fields = cls._fields
        if len(values) > len(fields):
            raise TypeError(f"{cls.__name__} takes {len(fields)} fields, got {len(values)}")
        first_default = len(fields) - len(cls._defaults)
        complete = list(values)
        for index in range(len(values), len(fields)):
            name = fields[index]
            if name in named:
                complete.append(named.pop(name))
            elif index >= first_default:
                complete.append(cls._defaults[index - first_default])
            else:
                raise TypeError(f"{cls.__name__} is missing field {name!r}")
        if named:
            raise TypeError(f"{cls.__name__} has no field {sorted(named)[0]!r}")
        return tuple(complete)

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={v!r}' for n, v in zip(self._fields, self))})"


# -- the registry ------------------------------------------------------------------------------
_PACKAGE = "gitops_kit.rules"
_entries: dict[str, RuleEntry] | None = None
_loaded: dict[str, Rule] = {}


def _rules_dir() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules")


def _module_names() -> list[str]:
    from .plugins import module_names

    return module_names([_rules_dir()])


def _import(module_name: str) -> Rule:
    import sys  # __import__ + sys.modules: importlib's package is not needed (start-up)

    try:
        __import__(f"{_PACKAGE}.{module_name}")
        module = sys.modules[f"{_PACKAGE}.{module_name}"]
    except Exception as err:  # noqa: BLE001 - a broken installation: one clear line (exit 2), not a traceback
        from .errors import UserError

        reason = str(err).splitlines()[0] if str(err) else ""
        raise UserError(
            f"internal error: rule module {_PACKAGE}.{module_name} cannot be loaded ({type(err).__name__}: {reason}); "
            "reinstall gitops-kit or report this bug"
        ) from None
    rule = getattr(module, "RULE", None)
    if not isinstance(rule, Rule):
        raise TypeError(f"{_PACKAGE}.{module_name} defines no RULE = Rule(...)")
    if module_name != rule.id.replace("-", "_"):
        raise ValueError(f"module {module_name} must be named after its rule id {rule.id}")
    return rule


def rule_entries() -> dict[str, RuleEntry]:
    """Every rule's dispatch metadata, by id, sorted; imports only modules the index does not know."""
    global _entries
    if _entries is None:
        try:
            from .rules._index import INDEX
        except ImportError:  # no index (a partial copy of the package): import every rule
            INDEX = {}

        by_module = {fields[0]: (rule_id, fields) for rule_id, fields in INDEX.items()}
        found: dict[str, RuleEntry] = {}
        for module_name in _module_names():
            known = by_module.get(module_name)
            if known is not None:
                entry = RuleEntry.from_tuple(*known)
            else:  # a rule added since the index was generated: import it now
                rule = _import(module_name)
                _loaded[rule.id] = rule
                entry = rule.entry(module_name)
            if entry.id in found:
                raise ValueError(f"duplicate rule id {entry.id}")
            found[entry.id] = entry
        _entries = dict(sorted(found.items()))
    return _entries


def rule_ids() -> tuple[str, ...]:
    return tuple(rule_entries())


def load_rule(rule_id: str) -> Rule:
    """The rule with this id, importing its module on first use."""
    rule = _loaded.get(rule_id)
    if rule is None:
        entries = rule_entries()
        if rule_id not in entries:
            raise KeyError(_unknown(rule_id, entries))
        rule = _import(entries[rule_id].module)
        if rule.id != rule_id:
            raise ValueError(f"rules/_index.py is stale: {entries[rule_id].module} defines {rule.id}, not {rule_id}")
        _loaded[rule_id] = rule
    return rule


def all_rules() -> dict[str, Rule]:
    """Every rule, imported (for `gitops-kit rules`, docs and reports that describe every rule)."""
    return {rule_id: load_rule(rule_id) for rule_id in rule_entries()}


def get_rule(rule_id: str) -> Rule:
    return load_rule(rule_id)


def _unknown(rule_id: str, known: Iterable[str]) -> str:
    close = [r for r in known if r.split("-")[0] == rule_id.split("-")[0]]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown rule {rule_id!r}{hint}; `gitops-kit rules` lists them"


def index_source() -> str:
    """The text of `rules/_index.py` for the rules as they are now (imports every rule)."""
    lines = [
        '"""Dispatch metadata of every rule, so a run imports only the rule modules its documents need.',
        "",
        "Generated by `python -m gitops_kit.rulebase --write-index`; do not edit. tests/unit/test_rule_index.py",
        "fails when it is stale. Fields: module, scope, then the selector (rulebase.Selector: kinds (None = every",
        "object), api_versions (None = any), any_document, plain_documents, marker_keys, file_names), default_enabled.",
        '"""',
        "",
        "INDEX = {",
    ]
    for module_name in _module_names():
        rule = _import(module_name)
        lines.append(f"    {rule.id!r}: {rule.entry(module_name).as_tuple()!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _main(argv: list[str]) -> int:
    target = os.path.join(_rules_dir(), "_index.py")
    if argv == ["--write-index"]:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(index_source())
        print(f"wrote {target}")
        return 0
    if argv == ["--check-index"]:
        with open(target, encoding="utf-8") as handle:
            current = handle.read() == index_source()
        print("rules/_index.py is current" if current else "rules/_index.py is stale: run python -m gitops_kit.rulebase --write-index")
        return 0 if current else 1
    print("usage: python -m gitops_kit.rulebase --write-index | --check-index")
    return 2


if __name__ == "__main__":
    import sys

    from gitops_kit import rulebase  # the package's module, not this `__main__` copy with its own Rule class

    sys.exit(rulebase._main(sys.argv[1:]))
