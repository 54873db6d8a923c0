"""csi-volume-access: CVMFS and EOS volumes are claimed and mounted the way their CSI drivers require.

A scope rule: the StorageClass (provisioner) decides what a PersistentVolumeClaim needs, and the
claim decides what the pods mounting it need, so the three are joined across the scope.
"""

from __future__ import annotations

import re

from ..model import DocRef, Document, PathPart, Severity, Violation
from ..rulebase import Context, Record, Rule
from ._workloads import WORKLOAD_KINDS, containers, pod_template, volumes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

Path = tuple[PathPart, ...]


class Driver(Record):
    __slots__ = ()
    access_mode: str
    #: whether the claim may list other access modes besides `access_mode`
    exclusive: bool


#: provisioner → what its volumes need (driver docs: cvmfs-csi docs/how-to-use.md, eosxd-csi docs/how-to-use.md)
DRIVERS: Mapping[str, Driver] = {
    "cvmfs.csi.cern.ch": Driver("ReadOnlyMany", exclusive=True),
    "eosxd.csi.cern.ch": Driver("ReadWriteMany", exclusive=False),
}
PROPAGATING = ("HostToContainer", "Bidirectional")
_QUANTITY = r"^\+?(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:[KMGTPE]i|[numkMGTPE])?$"  # compiled on first use (re's cache)


class StorageClassRecord(Record):
    __slots__ = ()
    name: str
    provisioner: str
    single_repository: bool


class ClaimRecord(Record):
    __slots__ = ()
    namespace: str
    name: str
    storage_class: str | None
    access_modes: Any
    storage: Any
    ref: DocRef
    object: str


class MountRecord(Record):
    __slots__ = ()
    container: str
    volume: str
    propagation: Any
    path: Path


class PodRecord(Record):
    __slots__ = ()
    namespace: str
    #: volume name → claim name
    claims: tuple[tuple[str, str], ...]
    mounts: tuple[MountRecord, ...]
    ref: DocRef
    object: str


def collect(doc: Document, ctx: Context) -> Any:
    data = doc.data
    if doc.kind == "StorageClass":
        provisioner = data.get("provisioner")
        parameters = data.get("parameters")
        repository = isinstance(parameters, dict) and bool(parameters.get("repository"))
        return StorageClassRecord(doc.name, provisioner if isinstance(provisioner, str) else "", repository)
    if doc.kind == "PersistentVolumeClaim":
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        requests = spec.get("resources", {}).get("requests") if isinstance(spec.get("resources"), dict) else None
        storage = requests.get("storage") if isinstance(requests, dict) else None
        storage_class = spec.get("storageClassName")
        return ClaimRecord(
            doc.namespace, doc.name, storage_class if isinstance(storage_class, str) else None,
            spec.get("accessModes"), storage, doc.ref, doc.object_id,
        )
    if doc.kind in WORKLOAD_KINDS:
        pod = pod_template(doc)
        if pod is None:
            return None
        claims = []
        for volume, _path in volumes(pod):
            claim = volume.get("persistentVolumeClaim")
            if isinstance(claim, dict) and isinstance(claim.get("claimName"), str) and isinstance(volume.get("name"), str):
                claims.append((volume["name"], claim["claimName"]))
        if not claims:
            return None
        mounts = []
        for container in containers(pod):
            declared = container.data.get("volumeMounts")
            for index, mount in enumerate(declared if isinstance(declared, list) else []):
                if isinstance(mount, dict) and isinstance(mount.get("name"), str):
                    mounts.append(MountRecord(container.name, mount["name"], mount.get("mountPropagation"), container.path + ("volumeMounts", index)))
        return PodRecord(doc.namespace, tuple(claims), tuple(mounts), doc.ref, doc.object_id)
    return None


def _nonzero(quantity: Any) -> bool:
    if isinstance(quantity, bool):
        return False
    if isinstance(quantity, (int, float)):
        return quantity > 0
    if not isinstance(quantity, str):
        return False
    match = re.match(_QUANTITY, quantity.strip())
    return bool(match) and float(match.group(1)) > 0


def _check_claim(claim: ClaimRecord, provisioner: str, driver: Driver) -> Iterator[Violation]:
    modes = claim.access_modes if isinstance(claim.access_modes, list) else []
    wrong = driver.access_mode not in modes or (driver.exclusive and any(m != driver.access_mode for m in modes))
    if wrong:
        only = "only " if driver.exclusive else ""
        yield Violation(
            f"{provisioner} volumes (StorageClass {claim.storage_class!r}) need accessModes {only}[{driver.access_mode}], got {modes or 'none'}",
            path=("spec", "accessModes"), ref=claim.ref, object=claim.object, fix=f"Set spec.accessModes: [{driver.access_mode}].",
        )
    if not _nonzero(claim.storage):
        yield Violation(
            f"{provisioner} claims need a non-zero resources.requests.storage (the driver ignores the size but rejects zero or none), got {claim.storage!r}",
            path=("spec", "resources", "requests", "storage") if claim.storage is not None else ("spec",),
            ref=claim.ref, object=claim.object, fix="Set spec.resources.requests.storage: 1 (any non-zero value).",
        )


def finish(records: list[Any], ctx: Context) -> Iterator[Violation]:
    classes: dict[str, StorageClassRecord] = {}
    # classes that exist in the cluster but not in the repository (e.g. CERN's pre-defined `cvmfs`)
    for name, provisioner in (ctx.rule_options("csi-volume-access").get("storage-classes") or {}).items():
        if isinstance(name, str) and isinstance(provisioner, str):
            classes[name] = StorageClassRecord(name, provisioner, False)
    for record in records:
        if isinstance(record, StorageClassRecord):
            classes[record.name] = record
    claims: dict[tuple[str, str], tuple[ClaimRecord, StorageClassRecord]] = {}
    for record in records:
        if not isinstance(record, ClaimRecord) or record.storage_class is None:
            continue
        storage_class = classes.get(record.storage_class)
        if storage_class is None or storage_class.provisioner not in DRIVERS:
            continue
        claims[(record.namespace, record.name)] = (record, storage_class)
        yield from _check_claim(record, storage_class.provisioner, DRIVERS[storage_class.provisioner])
    for record in records:
        if not isinstance(record, PodRecord):
            continue
        for volume, claim_name in record.claims:
            found = claims.get((record.namespace, claim_name))
            if found is None:
                continue
            storage_class = found[1]
            if storage_class.provisioner == "cvmfs.csi.cern.ch" and storage_class.single_repository:
                continue  # a single-repository volume is a plain mount, not an autofs root
            for mount in record.mounts:
                if mount.volume == volume and mount.propagation not in PROPAGATING:
                    yield Violation(
                        f"container {mount.container!r} mounts {storage_class.provisioner} volume {volume!r} (claim {claim_name!r}) "
                        f"without mountPropagation: HostToContainer, so the automounted repositories stay invisible "
                        "(\"Too many levels of symbolic links\")",
                        path=mount.path, ref=record.ref, object=record.object,
                        fix="Add mountPropagation: HostToContainer to this volumeMount.",
                    )


RULE = Rule(
    id="csi-volume-access",
    severity=Severity.ERROR,
    scope="scope",
    kinds=frozenset({"StorageClass", "PersistentVolumeClaim", *WORKLOAD_KINDS}),
    summary="CVMFS and EOS volumes use the access mode, size and mount propagation their CSI drivers require.",
    rationale=(
        "cvmfs-csi rejects any access mode but ReadOnlyMany and any zero size; eosxd-csi volumes are shared "
        "ReadWriteMany. Both expose an autofs root, so a container must mount the volume with "
        "`mountPropagation: HostToContainer`, or the repositories mounted on demand never appear in the container "
        "(ELOOP, \"Too many levels of symbolic links\"). The StorageClass → provisioner link is resolved across the "
        "scope; classes that exist only in the cluster (CERN pre-defines `cvmfs`) can be declared with the option "
        "`storage-classes: {cvmfs: cvmfs.csi.cern.ch}`."
    ),
    fix="Use ReadOnlyMany (CVMFS) or ReadWriteMany (EOS), request a non-zero size, and mount with mountPropagation: HostToContainer.",
    collect=collect,
    finish=finish,
    example="""\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: cvmfs}
provisioner: cvmfs.csi.cern.ch
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cvmfs}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 0}}
  storageClassName: cvmfs
---
apiVersion: v1
kind: Pod
metadata: {name: cvmfs-demo}
spec:
  containers:
    - name: nginx
      image: nginx
      volumeMounts: [{name: my-cvmfs, mountPath: /my-cvmfs}]
  volumes: [{name: my-cvmfs, persistentVolumeClaim: {claimName: cvmfs}}]
""",
    good_example="""\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: cvmfs}
provisioner: cvmfs.csi.cern.ch
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cvmfs}
spec:
  accessModes: [ReadOnlyMany]
  resources: {requests: {storage: 1}}
  storageClassName: cvmfs
---
apiVersion: v1
kind: Pod
metadata: {name: cvmfs-demo}
spec:
  containers:
    - name: nginx
      image: nginx
      volumeMounts: [{name: my-cvmfs, mountPath: /my-cvmfs, mountPropagation: HostToContainer}]
  volumes: [{name: my-cvmfs, persistentVolumeClaim: {claimName: cvmfs}}]
""",
    references=("https://github.com/cvmfs-contrib/cvmfs-csi/blob/master/docs/how-to-use.md", "https://github.com/cern-eos/eosxd-csi"),
)
