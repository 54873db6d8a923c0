"""privileged-needs-user-namespace: a privileged container outside a user namespace."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._workloads import WORKLOAD_KINDS, PodTemplate, containers, pod_template, volumes, workload_containers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Iterator

#: host namespaces Kubernetes refuses to combine with `hostUsers: false`: pods using them are node agents
_HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


def node_agent(doc: Document, pod: PodTemplate) -> bool:
    """DaemonSets and pods that share host namespaces or mount host paths need real host privileges.

    User namespaces cannot be used there (the API server rejects hostUsers: false with host namespaces,
    and host-path access through an id-mapped user is not what such agents want), so the rule leaves them
    to policy engines instead of reporting every CSI or CNI plugin.
    """
    if doc.kind == "DaemonSet" or any(pod.spec.get(field) is True for field in _HOST_NAMESPACES):
        return True
    return any("hostPath" in volume for volume, _ in volumes(pod))


def check(doc: Document, ctx: Context) -> Iterable[Violation]:
    # the usual workload has no privileged container: answered without a generator
    pod = pod_template(doc)
    if pod is None:
        return ()
    for container in containers(pod):
        security = container.data.get("securityContext")
        if isinstance(security, dict) and security.get("privileged") is True:
            return _problems(doc)
    return ()


def _problems(doc: Document) -> Iterator[Violation]:
    for pod, container in workload_containers(doc):
        security = container.data.get("securityContext")
        if not (isinstance(security, dict) and security.get("privileged") is True):
            continue
        if pod.spec.get("hostUsers") is False or node_agent(doc, pod):
            continue
        yield Violation(
            f"container {container.name or '?'} is privileged but the pod runs in the host user namespace: "
            f"root in the container is root on the node",
            path=container.path + ("securityContext", "privileged"),
            fix="Set spec.hostUsers: false on the pod (user namespaces, Kubernetes 1.33+ by default) or drop privileged.",
        )


RULE = Rule(
    id="privileged-needs-user-namespace",
    severity=Severity.ERROR,
    kinds=WORKLOAD_KINDS,
    summary="A privileged container runs in a pod without hostUsers: false.",
    rationale=(
        "A privileged container in the host user namespace can do anything root on the node can. Build pods "
        "(buildkit, podman, docker-in-docker) need privileged, and the seed's rootless-builds setup runs them "
        "\"privileged in a user namespace\": with hostUsers: false, root in the container is mapped to an "
        "unprivileged user on the host. DaemonSets and pods using host namespaces or hostPath volumes are node "
        "agents that cannot use user namespaces and are not reported."
    ),
    fix="Add hostUsers: false to the pod spec.",
    check=check,
    example="""\
apiVersion: v1
kind: Pod
metadata: {name: buildkit, namespace: builds}
spec:
  containers:
  - name: buildkit
    image: docker.io/moby/buildkit:v0.23.1
    securityContext:
      privileged: true
""",
    good_example="""\
apiVersion: v1
kind: Pod
metadata: {name: buildkit, namespace: builds}
spec:
  hostUsers: false
  containers:
  - name: buildkit
    image: docker.io/moby/buildkit:v0.23.1
    securityContext:
      # privileged in a user namespace
      privileged: true
""",
    references=("https://kubernetes.io/docs/concepts/workloads/pods/user-namespaces/",),
)
