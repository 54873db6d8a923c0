"""Pod specs and containers of a workload, with their paths inside the document.

Shared by the workload rules (not a rule itself: modules starting with `_` are skipped by the registry).
A pod spec sits at a different depth per kind; every helper returns paths as tuples the engine can
locate, so a finding points at the exact container, volume or annotation.
"""

from __future__ import annotations

from ..model import Document, PathPart
from ._memo import per_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

Path = tuple[PathPart, ...]

#: kind → path of its pod template (the object holding `metadata` and `spec` of the pod)
POD_TEMPLATE_PATHS: dict[str, Path] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}

WORKLOAD_KINDS = frozenset(POD_TEMPLATE_PATHS)
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class PodTemplate:
    """The pod part of a workload: its metadata and spec, and where they are in the document.

    `path` is the path of the template (metadata + spec); () for a bare Pod.
    """

    __slots__ = ("path", "metadata", "spec", "containers")

    def __init__(self, path: Path, metadata: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        self.path = path
        self.metadata = metadata
        self.spec = spec
        #: `containers(pod)`, listed once for the several workload rules that ask
        self.containers: tuple[Container, ...] | None = None

    @property
    def spec_path(self) -> Path:
        return self.path + ("spec",)

    @property
    def annotations(self) -> Mapping[str, Any]:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    @property
    def annotations_path(self) -> Path:
        return self.path + ("metadata", "annotations")


class Container:
    """One container: `path` e.g. ("spec", "template", "spec", "containers", 0); `list_name` is
    containers, initContainers or ephemeralContainers."""

    __slots__ = ("name", "data", "path", "list_name")

    def __init__(self, name: str, data: Mapping[str, Any], path: Path, list_name: str) -> None:
        self.name = name
        self.data = data
        self.path = path
        self.list_name = list_name


def _get(data: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[part] if isinstance(part, int) else data.get(part)
    return data


@per_document  # several workload rules ask in a row for the same document
def pod_template(doc: Document) -> PodTemplate | None:
    """The pod template of a workload document, or None when the kind has none or it is malformed."""
    path = POD_TEMPLATE_PATHS.get(doc.kind)
    if path is None:
        return None
    template = _get(doc.data, path)
    if not isinstance(template, dict):
        return None
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return None
    metadata = template.get("metadata")
    return PodTemplate(path, metadata if isinstance(metadata, dict) else {}, spec)


def containers(pod: PodTemplate) -> tuple[Container, ...]:
    """Every container of a pod spec (init, regular, ephemeral) with its path."""
    found = pod.containers
    if found is None:
        listed = []
        spec = pod.spec
        for list_name in CONTAINER_LISTS:
            items = spec.get(list_name)
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    name = item.get("name")
                    listed.append(Container(name if isinstance(name, str) else "", item, pod.spec_path + (list_name, index), list_name))
        found = pod.containers = tuple(listed)
    return found


def volumes(pod: PodTemplate) -> Iterator[tuple[Mapping[str, Any], Path]]:
    """Every volume of a pod spec with its path."""
    items = pod.spec.get("volumes")
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield item, pod.spec_path + ("volumes", index)


def workload_containers(doc: Document) -> Iterator[tuple[PodTemplate, Container]]:
    """Shortcut: (pod, container) for every container of a workload document."""
    pod = pod_template(doc)
    if pod is not None:
        for container in containers(pod):
            yield pod, container
