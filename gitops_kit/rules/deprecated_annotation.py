"""deprecated-annotation: annotations Kubernetes deprecated or stopped honouring, and the ingress-class conflict."""

from __future__ import annotations

from functools import lru_cache

from ..model import Document, PathPart, Severity, Violation
from ..rulebase import Context, Rule
from ._versions import latest_releases, parse_version, target_version
from ._workloads import WORKLOAD_KINDS, pod_template

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping


class DeprecatedAnnotation:
    """One row of the data file; `on`: "pod" = pod metadata of any workload, else object kinds."""

    __slots__ = ("key", "on", "since", "ignored_since", "replacement", "conflicts_with")

    def __init__(
        self, key: str, on: frozenset[str], since: str, ignored_since: str, replacement: str, conflicts_with: tuple[PathPart, ...]
    ) -> None:
        self.key = key
        self.on = on
        self.since = since
        self.ignored_since = ignored_since
        self.replacement = replacement
        self.conflicts_with = conflicts_with

    def matches(self, annotation: str) -> bool:
        return annotation.startswith(self.key) if self.key.endswith("/") else annotation == self.key


@lru_cache(maxsize=1)
def catalogue() -> tuple[DeprecatedAnnotation, ...]:
    from ._yaml import data_table

    raw = data_table("deprecated-annotations.yaml")
    return tuple(
        DeprecatedAnnotation(
            key=item["key"],
            on=frozenset(item["on"]),
            since=str(item["since"]),
            ignored_since=str(item.get("ignored-since") or ""),
            replacement=str(item["replacement"]),
            conflicts_with=tuple(item.get("conflicts-with") or ()),
        )
        for item in raw["annotations"]
    )


def _get(data: Any, path: tuple[PathPart, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _annotation_sets(doc: Document) -> Iterator[tuple[str, Mapping[str, Any], tuple[PathPart, ...]]]:
    """(scope, annotations, path): the object's own annotations, and its pod template's."""
    yield doc.kind, doc.annotations, ("metadata", "annotations")
    pod = pod_template(doc)
    if pod is not None:
        yield "pod", pod.annotations, pod.annotations_path


def check(doc: Document, ctx: Context) -> list[Violation]:
    # Most objects carry no annotation at all, or none from the list: answer those without a generator.
    metadata = doc.data.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not annotations or not isinstance(annotations, dict):
        pod = pod_template(doc) if doc.kind in WORKLOAD_KINDS else None
        if pod is None or not pod.annotations:
            return []
    return list(_check(doc, ctx))


def _check(doc: Document, ctx: Context) -> Iterator[Violation]:
    entries = catalogue()
    target = target_version(ctx, "kubernetes", latest_releases())
    seen: set[tuple[PathPart, ...]] = set()
    for scope, annotations, path in _annotation_sets(doc):
        if path in seen:  # a bare Pod's own annotations are its pod annotations
            continue
        seen.add(path)
        for key in annotations:
            if not isinstance(key, str):
                continue
            for entry in entries:
                if scope not in entry.on and not (scope == "Pod" and "pod" in entry.on):
                    continue
                if not entry.matches(key):
                    continue
                yield from _violations(doc, entry, key, path + (key,), target)


def _violations(doc: Document, entry: DeprecatedAnnotation, key: str, path: tuple[PathPart, ...], target) -> Iterator[Violation]:
    fix = f"Remove the annotation {key} and use {entry.replacement}."
    if entry.conflicts_with and _get(doc.data, entry.conflicts_with) is not None:
        field = ".".join(str(p) for p in entry.conflicts_with)
        yield Violation(
            f"annotation {key} and {field} are both set: the API server rejects the object "
            f"(\"can not be set when the class field is also set\")",
            path=path,
            severity=Severity.ERROR,
            fix=f"Keep {field} and delete the {key} annotation.",
        )
        return
    ignored = parse_version(entry.ignored_since)
    if ignored is not None and target is not None and target >= ignored:
        state = f"has had no effect since Kubernetes {entry.ignored_since}"
    else:
        state = f"is deprecated since Kubernetes {entry.since}"
    yield Violation(f"annotation {key} {state}: use {entry.replacement}", path=path, fix=fix)


RULE = Rule(
    id="deprecated-annotation",
    severity=Severity.WARNING,
    summary="An object uses an annotation Kubernetes deprecated or no longer honours, or sets kubernetes.io/ingress.class together with spec.ingressClassName.",
    rationale=(
        "Deprecated annotations keep applying cleanly while silently doing nothing: the seccomp alpha annotations "
        "have been ignored since 1.25 (the pod then runs Unconfined), scheduler.alpha.kubernetes.io/critical-pod "
        "since 1.16 (the pod is evicted like any other). An Ingress with both kubernetes.io/ingress.class and "
        "spec.ingressClassName is rejected by the API server (error). The list lives in "
        "gitops_kit/data/deprecated-annotations.yaml."
    ),
    fix="Replace the annotation with the field the finding names.",
    check=check,
    example="""\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    kubernetes.io/ingress.class: nginx
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: web, port: {number: 80}}}
""",
    good_example="""\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: web, port: {number: 80}}}
""",
    references=("https://kubernetes.io/docs/reference/labels-annotations-taints/",),
)
