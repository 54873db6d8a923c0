"""container-memory-limit: a container without a memory limit."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._workloads import WORKLOAD_KINDS, Container, containers, pod_template, workload_containers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Iterator


def check(doc: Document, ctx: Context) -> Iterable[Violation]:
    # the usual workload: every container has a memory limit, answered without a generator
    pod = pod_template(doc)
    if pod is None:
        return ()
    for container in containers(pod):
        if container.list_name != "ephemeralContainers" and not _has_limit(container):
            return _problems(doc)
    return ()


def _has_limit(container: Container) -> bool:
    resources = container.data.get("resources")
    limits = resources.get("limits") if isinstance(resources, dict) else None
    return isinstance(limits, dict) and limits.get("memory") not in (None, "")


def _problems(doc: Document) -> Iterator[Violation]:
    for _pod, container in workload_containers(doc):
        if container.list_name == "ephemeralContainers":
            continue  # debug containers cannot declare resources
        resources = container.data.get("resources")
        limits = resources.get("limits") if isinstance(resources, dict) else None
        if isinstance(limits, dict) and limits.get("memory") not in (None, ""):
            continue
        where = container.path + ("resources",) if isinstance(resources, dict) else container.path
        yield Violation(
            f"container {container.name or '?'} has no memory limit: one runaway process can make the node "
            f"kill other pods",
            path=where,
        )


RULE = Rule(
    id="container-memory-limit",
    severity=Severity.WARNING,
    kinds=WORKLOAD_KINDS,
    summary="A container sets no memory limit.",
    rationale=(
        "Without resources.limits.memory a container may use all of the node's memory; the kernel OOM killer and "
        "kubelet eviction then pick victims among the other pods on the node. The seed's stress-ng test pod sets "
        "a 1.2G limit for exactly this reason (\"to avoid other pods being killed\"). Setting the limit equal to the "
        "request also gives the pod a predictable QoS class."
    ),
    fix="Add resources.limits.memory (usually equal to resources.requests.memory).",
    check=check,
    example="""\
apiVersion: v1
kind: Pod
metadata: {name: stress-ng, namespace: kepler}
spec:
  containers:
  - name: stress-ng
    image: polinux/stress-ng
    command: ["sleep", "inf"]
""",
    good_example="""\
apiVersion: v1
kind: Pod
metadata: {name: stress-ng, namespace: kepler}
spec:
  containers:
  - name: stress-ng
    image: polinux/stress-ng
    command: ["sleep", "inf"]
    resources:
      requests: {memory: "1.2G"}
      limits: {memory: "1.2G"}
""",
)
