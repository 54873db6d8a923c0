"""The types every stage shares: severities, documents, what rules yield, findings and the report.

On the hot path of `gitops-kit validate one-file.yaml`, whose start-up time is a benchmark bar:
plain classes with `__slots__` instead of dataclasses (importing `dataclasses` pulls in `inspect`),
no `typing` or `hashlib` at import time.
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping

DOCS_RULES = "docs/rules.md"
object_setattr = object.__setattr__


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that `ERROR > WARNING > INFO`."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected error, warning or info)") from None


class _Record:
    """Value semantics (repr, ==, hash for frozen records) from `__slots__`, without dataclasses."""

    __slots__ = ()
    _frozen = False
    #: the public fields, in constructor order (private slots are caches)
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        if not self._frozen:
            raise TypeError(f"unhashable type: {type(self).__name__!r}")
        return hash(self._values())

    def __reduce__(self):  # pickling (process pool): rebuild through the constructor
        return (type(self), self._values())

    def replace(self, **changes: Any):
        """A copy with some fields changed (what `dataclasses.replace` did)."""
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)


class _Frozen(_Record):
    """A record that cannot change after construction (hashable)."""

    __slots__ = ()
    _frozen = True

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot assign {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")


#: the distinct bases of `split_path` (a repository has one or a few): one string each, shared by
#: every file's path and `DocRef`
_bases: dict[str, str] = {}
_MAX_BASES = 256


def split_path(path: str, file: str) -> str | tuple[str]:
    """What `joined_path` rebuilds `path` from with `file`: the shared part before `file` (the
    repository root with a separator, usually), or `(path,)` when `path` does not end with `file`.

    A large repository's files and the records that outlive them keep one root string instead of an
    absolute path each (the memory bar: ≈ 100 bytes per file)."""
    if not path.endswith(file):
        return (path,)
    base = path[: len(path) - len(file)]
    return _bases.get(base) or _shared(base)  # the usual case without a call: one per document


def _shared(base: str | tuple[str]) -> str | tuple[str]:
    """The one string kept for a base (a `(path,)` tuple is kept as it is)."""
    if base.__class__ is not str:
        return base
    shared = _bases.get(base)  # type: ignore[call-overload]
    if shared is None:
        if len(_bases) >= _MAX_BASES:  # a long-lived process validating many trees: stay bounded
            _bases.clear()
        shared = _bases[base] = base  # type: ignore[index,assignment]
    return shared


def joined_path(base: str | tuple[str], file: str) -> str:
    return base + file if base.__class__ is str else base[0]  # type: ignore[operator,index]


class DocRef(_Frozen):
    """Where a document came from: enough to locate a finding later without keeping the text.

    `path` is absolute (to re-read the file for positions); `file` is what reports show
    (POSIX, relative to the repository root). `index` counts the `---` chunks of the file from 0,
    `line` is the 1-based line where that chunk starts (first content line, after `---` and leading
    comments). `ignored`: rule ids suppressed for the whole object (`ignore-check.gitops-kit.io/<id>`
    annotations or a `# gitops-kit: ignore <id>` comment at the top of the document; `*` = every rule).

    Repository rules keep DocRefs until the end of a run, so `path` is not stored: it is rebuilt
    from `file` and a base shared by the whole repository (`split_path`).
    """

    _fields = ("path", "file", "index", "line", "ignored")
    __slots__ = ("_base", "file", "index", "line", "ignored")

    def __init__(self, path: str, file: str, index: int = 0, line: int = 1, ignored: frozenset[str] = frozenset()) -> None:
        # the attributes are set here, not through a helper shared with _doc_ref: one DocRef per document
        setter = object_setattr
        setter(self, "_base", split_path(path, file))
        setter(self, "file", file)
        setter(self, "index", index)
        setter(self, "line", line)
        setter(self, "ignored", ignored)

    @property
    def path(self) -> str:
        return joined_path(self._base, self.file)

    @property
    def base(self) -> str | tuple[str]:
        """What `path` is rebuilt from with `file` (`split_path`), shared by a repository's DocRefs: a
        record can keep it with file, index, line and ignored instead of the DocRef (`from_base`)."""
        return self._base

    @staticmethod
    def from_base(
        base: str | tuple[str], file: str, index: int = 0, line: int = 1, ignored: frozenset[str] = frozenset()
    ) -> DocRef:
        return _doc_ref(base, file, index, line, ignored)

    def __reduce__(self):  # pickled as its base, so one worker's records share one root string
        return (_doc_ref, (self._base, self.file, self.index, self.line, self.ignored))


def _doc_ref(base: str | tuple[str], file: str, index: int, line: int, ignored: frozenset[str]) -> DocRef:
    ref = object.__new__(DocRef)
    setter = object_setattr
    setter(ref, "_base", _shared(base))
    setter(ref, "file", file)
    setter(ref, "index", index)
    setter(ref, "line", line)
    setter(ref, "ignored", ignored)
    return ref


class Document(_Record):
    """One parsed YAML document: the data, where it came from and what it opted out of.

    * `overlay`: the kustomization root (relative path) this object was rendered from, if any;
    * `manifest`: True when the document sits in a manifest file (one that holds Kubernetes objects);
      False for values files, `.sops.yaml`, kustomization files and other YAML not applied as objects;
    * `source_object`: for a rendered object, `object_id` of the source document as written (before
      kustomize's name and namespace transformers), so one base line gives one finding across overlays;
    * `patches`: for a rendered object, the strategic-merge patches applied to it, as (where, patch
      data); a finding whose path a patch sets points at the patch (render/mapping.py decides).
    """

    _fields = ("data", "ref", "overlay", "manifest", "source_object", "patches")
    #: `kind` and `api_version` (the strings, "" when missing or not strings) are plain attributes, set
    #: with `data`: every dispatch and most rules read them, and an attribute read costs no call
    __slots__ = _fields + ("kind", "api_version", "_object_id")

    def __init__(
        self,
        data: Any,
        ref: DocRef,
        overlay: str | None = None,
        manifest: bool = True,
        source_object: str = "",
        patches: tuple[tuple[DocRef, Any], ...] = (),
    ) -> None:
        setter = object_setattr  # one Document per YAML document: skip the cache-invalidating __setattr__
        setter(self, "data", data)
        setter(self, "ref", ref)
        setter(self, "overlay", overlay)
        setter(self, "manifest", manifest)
        setter(self, "source_object", source_object)
        setter(self, "patches", patches)
        if isinstance(data, dict):
            kind = data.get("kind")
            api_version = data.get("apiVersion")
            setter(self, "kind", kind if isinstance(kind, str) else "")
            setter(self, "api_version", api_version if isinstance(api_version, str) else "")
        else:
            setter(self, "kind", "")
            setter(self, "api_version", "")
        setter(self, "_object_id", None)

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name == "data":
            data = value if isinstance(value, dict) else {}
            kind, api_version = data.get("kind"), data.get("apiVersion")
            object.__setattr__(self, "kind", kind if isinstance(kind, str) else "")
            object.__setattr__(self, "api_version", api_version if isinstance(api_version, str) else "")
            object.__setattr__(self, "_object_id", None)

    @property
    def is_object(self) -> bool:
        data = self.data
        return isinstance(data, dict) and ("kind" in data or "apiVersion" in data)

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def metadata(self) -> Mapping[str, Any]:
        data = self.data
        meta = data.get("metadata") if isinstance(data, dict) else None
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        name = self.metadata.get("name")
        return name if isinstance(name, str) else ""

    @property
    def namespace(self) -> str:
        ns = self.metadata.get("namespace")
        return ns if isinstance(ns, str) else ""

    @property
    def annotations(self) -> Mapping[str, Any]:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, dict) else {}

    @property
    def labels(self) -> Mapping[str, Any]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def object_id(self) -> str:
        """`kind/namespace/name` (namespace omitted when unset), as reports show it.

        Computed once: several aggregate rules keep it in their records, and one shared string per
        document (not one per rule) is part of what keeps memory flat on large repositories."""
        found = self._object_id
        if found is None:
            found = object_label(self.kind, self.namespace, self.name) if self.is_object else ""
            object_setattr(self, "_object_id", found)
        return found


PathPart = str | int


def object_label(kind: str, namespace: str, name: str) -> str:
    """`kind/namespace/name` as reports show an object (namespace omitted when unset, `?` for a
    missing kind or name); for records that keep the parts, not the Document."""
    return f"{kind or '?'}/{namespace}/{name or '?'}" if namespace else f"{kind or '?'}/{name or '?'}"


class Violation(_Record):
    """What a rule yields: a message about one document, optionally at a path inside it.

    The engine turns it into a `Finding` by adding the rule's id, severity, fix hint and docs
    anchor and by resolving `path` to a line and column (lazily, only for reported violations).
    `line`/`column` are set when the rule knows the exact position (parse errors); `ref`/`object`
    serve aggregate rules whose record does not keep the Document; `line_offset` counts lines
    below the position located from `path`, so a problem inside a block scalar (`key: |` → its
    first content line is offset 1) is reported at its own line.
    """

    __slots__ = _fields = ("message", "path", "doc", "fix", "severity", "line", "column", "ref", "object", "line_offset")

    def __init__(
        self,
        message: str,
        path: tuple[PathPart, ...] = (),
        doc: Document | None = None,
        fix: str | None = None,
        severity: Severity | None = None,
        line: int | None = None,
        column: int | None = None,
        ref: DocRef | None = None,
        object: str | None = None,  # noqa: A002 - the reported object's id
        line_offset: int = 0,
    ) -> None:
        self.message = message
        self.path = path
        self.doc = doc
        self.fix = fix
        self.severity = severity
        self.line = line
        self.column = column
        self.ref = ref
        self.object = object
        self.line_offset = line_offset


class Finding(_Frozen):
    """One reported problem. Frozen, hashable and ordered by location.

    `overlays`: the overlays (kustomization roots) in which the object was rendered, when it came
    from a render.
    """

    __slots__ = _fields = ("rule_id", "severity", "message", "file", "line", "column", "object", "fix", "docs", "overlays")

    def __init__(
        self,
        rule_id: str,
        severity: Severity,
        message: str,
        file: str,
        line: int = 0,
        column: int = 0,
        object: str = "",  # noqa: A002
        fix: str = "",
        docs: str = "",
        overlays: tuple[str, ...] = (),
    ) -> None:
        setter = object_setattr
        setter(self, "rule_id", rule_id)
        setter(self, "severity", severity)
        setter(self, "message", message)
        setter(self, "file", file)
        setter(self, "line", line)
        setter(self, "column", column)
        setter(self, "object", object)
        setter(self, "fix", fix)
        setter(self, "docs", docs)
        setter(self, "overlays", overlays)

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.rule_id, self.object, self.message)

    def __lt__(self, other: "Finding") -> bool:
        return self.sort_key() < other.sort_key()

    @property
    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file

    def fingerprint(self) -> str:
        """A stable id that survives unrelated edits (no line numbers): baseline and GitLab use it."""
        import hashlib  # only reporters that need it pay for the import

        raw = "\x1f".join((self.rule_id, self.file, self.object, self.message))
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "severity": self.severity.label,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "object": self.object,
            "fix": self.fix,
            "docs": self.docs,
            "overlays": list(self.overlays),
            "fingerprint": self.fingerprint(),
        }



class RuleInfo(_Frozen):
    """The part of a rule that reports need (SARIF rule metadata, JUnit test names)."""

    __slots__ = _fields = ("id", "severity", "summary", "rationale", "fix", "docs")

    def __init__(self, id: str, severity: Severity, summary: str, rationale: str, fix: str, docs: str) -> None:  # noqa: A002
        object_setattr(self, "id", id)
        object_setattr(self, "severity", severity)
        object_setattr(self, "summary", summary)
        object_setattr(self, "rationale", rationale)
        object_setattr(self, "fix", fix)
        object_setattr(self, "docs", docs)


class Report(_Record):
    """The result of one validation run; every output format is a pure function of it.

    `rules` (metadata of the enabled rules, for SARIF and JUnit) is built on first access from
    `rule_ids`, so a run whose reporter does not need it never imports every rule module.
    `notifications`: tool-level problems that did not stop the run (a missing optional binary, an
    aborted stage). `error`: set when the run itself failed (exit 2): machine formats still get a
    valid document that says so.
    """

    _fields = (
        "findings", "files", "documents", "overlays", "suppressed", "baselined", "rules", "notifications", "duration", "root",
        "error",
    )
    __slots__ = tuple(name for name in _fields if name != "rules") + ("_rules", "rule_ids")

    def __init__(
        self,
        findings: list[Finding] | None = None,
        files: int = 0,
        documents: int = 0,
        overlays: int = 0,
        suppressed: int = 0,
        baselined: int = 0,
        rules: list[RuleInfo] | None = None,
        notifications: list[str] | None = None,
        duration: float = 0.0,
        root: str = ".",
        rule_ids: Iterable[str] = (),
        error: str = "",
    ) -> None:
        self.findings = findings if findings is not None else []
        self.files = files
        self.documents = documents
        self.overlays = overlays
        self.suppressed = suppressed
        self.baselined = baselined
        self._rules = rules
        self.rule_ids = tuple(rule_ids)
        self.notifications = notifications if notifications is not None else []
        self.duration = duration
        self.root = root
        self.error = error

    @property
    def rules(self) -> list[RuleInfo]:
        if self._rules is None:
            from .rulebase import load_rule

            self._rules = [load_rule(rule_id).info() for rule_id in self.rule_ids]
        return self._rules

    @rules.setter
    def rules(self, value: list[RuleInfo]) -> None:
        self._rules = value

    def counts(self) -> dict[str, int]:
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def failed(self, fail_on: Severity) -> bool:
        return any(f.severity >= fail_on for f in self.findings)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)
