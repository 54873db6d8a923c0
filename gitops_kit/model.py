"""The types every stage shares: severities, documents, what rules yield, findings and the report.

Kept free of heavy imports: `gitops-kit validate one-file.yaml` imports this on its hot path.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

DOCS_RULES = "docs/rules.md"


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


@dataclass(frozen=True, slots=True)
class DocRef:
    """Where a document came from: enough to locate a finding later without keeping the text.

    `path` is absolute (to re-read the file for positions); `file` is what reports show
    (POSIX, relative to the repository root). `index` counts the `---` chunks of the file from 0,
    `line` is the 1-based line where that chunk starts.
    """

    path: str
    file: str
    index: int = 0
    line: int = 1  # first content line of the document (after `---` and leading comments)
    #: rule ids suppressed for the whole object: `ignore-check.gitops-kit.io/<id>` annotations or a
    #: `# gitops-kit: ignore <id>` comment at the top of the document (`*` = every rule)
    ignored: frozenset[str] = frozenset()


@dataclass(slots=True)
class Document:
    """One parsed YAML document: the data, where it came from and what it opted out of."""

    data: Any
    ref: DocRef
    #: the kustomization root (relative path) this object was rendered from, if any
    overlay: str | None = None
    #: True when the document sits in a manifest file (one that holds Kubernetes objects); False for
    #: values files, `.sops.yaml`, kustomization files and other YAML that is not applied as objects
    manifest: bool = True
    #: for a rendered object: `object_id` of the source document as written (before kustomize's name
    #: and namespace transformers), so one base line gives one finding across overlays
    source_object: str = ""
    #: for a rendered object: the strategic-merge patches applied to it, as (where, patch data); a
    #: finding whose path the patch sets points at the patch (render/mapping.py decides)
    patches: tuple[tuple[DocRef, Any], ...] = ()

    @property
    def is_object(self) -> bool:
        data = self.data
        return isinstance(data, dict) and ("kind" in data or "apiVersion" in data)

    @property
    def kind(self) -> str:
        data = self.data
        kind = data.get("kind") if isinstance(data, dict) else None
        return kind if isinstance(kind, str) else ""

    @property
    def api_version(self) -> str:
        data = self.data
        value = data.get("apiVersion") if isinstance(data, dict) else None
        return value if isinstance(value, str) else ""

    @property
    def group(self) -> str:
        api = self.api_version
        return api.rpartition("/")[0] if "/" in api else ""

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
        """`kind/namespace/name` (namespace omitted when unset), as reports show it."""
        if not self.is_object:
            return ""
        parts = [self.kind or "?"]
        if self.namespace:
            parts.append(self.namespace)
        parts.append(self.name or "?")
        return "/".join(parts)


PathPart = str | int


@dataclass(slots=True)
class Violation:
    """What a rule yields: a message about one document, optionally at a path inside it.

    The engine turns it into a `Finding` by adding the rule's id, severity, fix hint and docs
    anchor and by resolving `path` to a line and column (lazily, only for reported violations).
    """

    message: str
    path: tuple[PathPart, ...] = ()
    doc: Document | None = None
    fix: str | None = None
    severity: Severity | None = None
    #: set when the rule knows the exact position (parse errors); otherwise derived from `path`
    line: int | None = None
    column: int | None = None
    #: for aggregate rules whose record does not keep the Document
    ref: DocRef | None = None
    object: str | None = None
    #: lines below the position located from `path`: a problem inside a block scalar (`key: |` →
    #: its first content line is offset 1) is reported at its own line
    line_offset: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    """One reported problem. Frozen, hashable and ordered by location."""

    rule_id: str
    severity: Severity
    message: str
    file: str
    line: int = 0
    column: int = 0
    object: str = ""
    fix: str = ""
    docs: str = ""
    #: overlays (kustomization roots) in which the object was rendered, when it came from a render
    overlays: tuple[str, ...] = ()

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


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """The part of a rule that reports need (SARIF rule metadata, JUnit test names)."""

    id: str
    severity: Severity
    summary: str
    rationale: str
    fix: str
    docs: str


@dataclass(slots=True)
class Report:
    """The result of one validation run; every output format is a pure function of it."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    overlays: int = 0
    suppressed: int = 0
    baselined: int = 0
    rules: list[RuleInfo] = field(default_factory=list)
    #: tool-level problems that did not stop the run (a missing optional binary, an aborted stage)
    notifications: list[str] = field(default_factory=list)
    duration: float = 0.0
    root: str = "."

    def counts(self) -> dict[str, int]:
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def failed(self, fail_on: Severity) -> bool:
        return any(f.severity >= fail_on for f in self.findings)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)
