"""object-identity: every object needs apiVersion, kind and metadata.name."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Iterator

_GENERATE_NAME_OK = frozenset({"Job", "Pod", "Workflow", "PipelineRun", "TaskRun"})


def check(doc: Document, ctx: Context) -> Iterable[Violation]:
    if not doc.manifest:
        return ()  # YAML that is not a manifest (values files, configs) is not expected to hold objects
    # almost every document is a well-formed object: answer it without starting a generator
    data = doc.data
    if doc.kind.strip() and doc.api_version.strip():
        metadata = data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if isinstance(name, str) and name.strip():
            return ()
    return _problems(doc)


def _problems(doc: Document) -> Iterator[Violation]:
    data = doc.data
    if not isinstance(data, dict):
        shape = "a list" if isinstance(data, list) else f"a {type(data).__name__} scalar"
        yield Violation(f"document is {shape}, not a Kubernetes object mapping")
        return
    if not doc.is_object:
        yield Violation("mapping has neither apiVersion nor kind: not a Kubernetes object")
        return
    for key in ("apiVersion", "kind"):
        value = data.get(key)
        if key not in data:
            yield Violation(f"missing {key}")
        elif not isinstance(value, str) or not value.strip():
            yield Violation(f"{key} must be a non-empty string", path=(key,))
    if doc.kind.endswith("List") and isinstance(data.get("items"), list):
        return  # a v1 List: identity lives on its items
    metadata = data.get("metadata")
    if metadata is None:
        yield Violation("missing metadata (metadata.name is required)")
        return
    if not isinstance(metadata, dict):
        yield Violation("metadata must be a mapping", path=("metadata",))
        return
    name = metadata.get("name")
    if name is None:
        if doc.kind in _GENERATE_NAME_OK and metadata.get("generateName"):
            return
        yield Violation("missing metadata.name", path=("metadata",))
    elif not isinstance(name, str) or not name.strip():
        yield Violation("metadata.name must be a non-empty string", path=("metadata", "name"))


RULE = Rule(
    id="object-identity",
    severity=Severity.ERROR,
    any_document=True,
    summary="An object lacks apiVersion, kind or metadata.name, or a manifest file holds a document that is not an object.",
    rationale=(
        "Without apiVersion, kind and name the object cannot be applied, diffed or pruned: kubectl, Flux and "
        "Argo CD reject it, and every other rule cannot tell what it is looking at."
    ),
    fix="Add the missing apiVersion, kind or metadata.name (or move non-object YAML out of the manifest file).",
    check=check,
    example="""\
apiVersion: apps/v1
kind: Deployment
metadata:
  labels: {app: web}
spec: {}
""",
    good_example="""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec: {}
""",
)
