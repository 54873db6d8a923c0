"""build-storage-size-limit: the emptyDir a container-image builder writes layers to needs a sizeLimit."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._workloads import WORKLOAD_KINDS, Container, containers, pod_template, volumes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, Mapping

#: last path segment of the image repository of tools that build container images (layers go to their storage)
BUILDER_IMAGES = frozenset({"buildah", "podman", "stable", "buildkit", "executor", "kaniko", "img", "docker"})
#: repositories whose last segment is too generic on its own ("stable", "executor", "docker")
_QUALIFIED = {"stable": ("podman/", "buildah/"), "executor": ("kaniko",), "docker": ("docker",)}


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name


def is_builder(container: Container, options: Mapping[str, object]) -> bool:
    """Whether the container runs an image builder (configurable: rules.build-storage-size-limit.images)."""
    image = container.data.get("image")
    if not isinstance(image, str):
        return False
    repository = _repository(image).lower()
    extra = options.get("images")
    if isinstance(extra, list) and any(isinstance(e, str) and e and e.lower() in repository for e in extra):
        return True
    last = repository.rsplit("/", 1)[-1]
    if last not in BUILDER_IMAGES:
        return False
    qualifiers = _QUALIFIED.get(last)
    if qualifiers is None:
        return True
    if last == "docker":  # only docker-in-docker keeps image layers in the pod
        tag = image.split("@", 1)[0].rpartition(":")[2]
        return "dind" in tag
    return any(q in repository for q in qualifiers)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    options = ctx.rule_options(RULE.id)
    builders = [c for c in containers(pod) if is_builder(c, options)]
    if not builders:
        return
    mounted: dict[str, str] = {}
    for container in builders:
        mounts = container.data.get("volumeMounts")
        for mount in mounts if isinstance(mounts, list) else ():
            if isinstance(mount, dict) and isinstance(mount.get("name"), str) and not mount.get("readOnly"):
                mounted.setdefault(mount["name"], container.name)
    for volume, path in volumes(pod):
        empty_dir = volume.get("emptyDir")
        name = volume.get("name")
        if not isinstance(name, str) or name not in mounted or "emptyDir" not in volume:
            continue
        if isinstance(empty_dir, dict) and empty_dir.get("sizeLimit") not in (None, ""):
            continue
        yield Violation(
            f"emptyDir volume {name} is written by image builder {mounted[name]} but has no sizeLimit: one big build "
            f"fills the node's disk and gets other pods evicted",
            path=path + ("emptyDir",),
        )


RULE = Rule(
    id="build-storage-size-limit",
    severity=Severity.WARNING,
    kinds=WORKLOAD_KINDS,
    summary="A writable emptyDir mounted by a container-image builder (buildah, podman, buildkit, kaniko, docker:dind) has no sizeLimit.",
    rationale=(
        "Image builders unpack base images and write every layer to their storage directory; in a pod that is an "
        "emptyDir on the node's disk. Without emptyDir.sizeLimit one large build fills the disk, and the kubelet "
        "evicts unrelated pods under disk pressure. The seed's rootless-build setup gives the storage volume "
        "sizeLimit: 10Gi. Only emptyDirs that a builder container mounts writable are checked, so ordinary scratch "
        "volumes give no noise; add more builder images with rules.build-storage-size-limit.images."
    ),
    fix="Set emptyDir.sizeLimit (e.g. 10Gi) on the build storage volume.",
    check=check,
    example="""\
apiVersion: v1
kind: Pod
metadata: {name: buildah, namespace: builds}
spec:
  hostUsers: false
  containers:
  - name: buildah
    image: quay.io/buildah/stable:v1.40
    volumeMounts: [{name: storage, mountPath: /storage}]
  volumes:
  - name: storage
    emptyDir: {}
""",
    good_example="""\
apiVersion: v1
kind: Pod
metadata: {name: buildah, namespace: builds}
spec:
  hostUsers: false
  containers:
  - name: buildah
    image: quay.io/buildah/stable:v1.40
    volumeMounts: [{name: storage, mountPath: /storage}]
  volumes:
  - name: storage
    emptyDir: {sizeLimit: 10Gi}
""",
)
