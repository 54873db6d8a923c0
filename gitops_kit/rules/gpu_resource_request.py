"""gpu-resource-request: pods ask for NVIDIA resources the repository's GPU configuration advertises.

A repository rule: the gpu-operator values (MIG strategy), the mig-parted and device-plugin ConfigMaps
and the workloads usually live in different directories. Each check runs only when the definitions
it needs are in the repository — nothing is guessed.
"""

from __future__ import annotations

from ..model import DocRef, Document, PathPart, Severity, Violation
from ..rulebase import Context, Record, Rule
from ._workloads import WORKLOAD_KINDS, containers, pod_template

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

MIG_PREFIX = "nvidia.com/mig-"
MIG_LABEL = "nvidia.com/mig.config"
PLUGIN_LABEL = "nvidia.com/device-plugin.config"
#: the objects that carry Helm values (`_helm.embedded_values`), where the gpu-operator values live
_VALUES_KINDS = ("HelmRelease", "Application")
Path = tuple[PathPart, ...]


class OperatorRecord(Record):
    __slots__ = ()
    strategy: str
    ref: DocRef


class MigConfigRecord(Record):
    __slots__ = ()
    configs: frozenset[str]
    #: advertised resource names under the mixed strategy, e.g. nvidia.com/mig-1g.5gb.me
    resources: frozenset[str]


class PluginConfigRecord(Record):
    __slots__ = ()
    configs: frozenset[str]
    #: resources advertised as `<name>.shared` because a config sets renameByDefault: true
    shared: frozenset[str]


class Request(Record):
    __slots__ = ()
    resource: str
    path: Path


class Selection(Record):
    __slots__ = ()
    label: str
    value: Any
    path: Path


class WorkloadRecord(Record):
    __slots__ = ()
    requests: tuple[Request, ...]
    selections: tuple[Selection, ...]
    ref: DocRef
    object: str


def _mig_resource(profile: str) -> str | None:
    from ._gpu import geometry_name

    name = geometry_name(profile)
    if name != profile.strip():
        return None  # compute-instance profiles (<c>c.<g>g…) are not exposed as resources
    return MIG_PREFIX + name.replace("+", ".")


def _configmap_records(doc: Document) -> Iterator[Any]:
    data = doc.data.get("data")
    # embedded_configs only yields entries whose text holds a marker: an ordinary ConfigMap stops here
    if not isinstance(data, dict) or not any(isinstance(t, str) and ("mig-configs" in t or "sharing" in t) for t in data.values()):
        return
    from ._gpu import embedded_configs, unparsable

    mig_configs: set[str] = set()
    mig_resources: set[str] = set()
    for _key, parsed, _text in embedded_configs(data, "mig-configs"):
        configs = parsed.get("mig-configs") if not unparsable(parsed) else None
        for name, entries in (configs.items() if isinstance(configs, dict) else ()):
            mig_configs.add(str(name))
            for entry in entries if isinstance(entries, list) else []:
                devices = entry.get("mig-devices") if isinstance(entry, dict) else None
                for profile, count in (devices.items() if isinstance(devices, dict) else ()):
                    resource = _mig_resource(str(profile))
                    if resource and isinstance(count, int) and count > 0:
                        mig_resources.add(resource)
    if mig_configs:
        yield MigConfigRecord(frozenset(mig_configs), frozenset(mig_resources))
    plugin_configs: set[str] = set()
    shared: set[str] = set()
    for key, parsed, _text in embedded_configs(data, "sharing"):
        plugin_configs.add(key)
        sharing = parsed.get("sharing") if not unparsable(parsed) else None
        for mode in ("timeSlicing", "mps"):
            block = sharing.get(mode) if isinstance(sharing, dict) else None
            if isinstance(block, dict) and block.get("renameByDefault") is True:
                for resource in block.get("resources") or []:
                    if isinstance(resource, dict) and isinstance(resource.get("name"), str):
                        shared.add(resource["name"] + ".shared")
    if plugin_configs:
        yield PluginConfigRecord(frozenset(plugin_configs), frozenset(shared))


def _workload_record(doc: Document) -> WorkloadRecord | None:
    pod = pod_template(doc)
    if pod is None:
        return None
    requests = []
    for container in containers(pod):
        resources = container.data.get("resources")
        for section in ("limits", "requests"):
            amounts = resources.get(section) if isinstance(resources, dict) else None
            for name in amounts if isinstance(amounts, dict) else {}:
                if isinstance(name, str) and name.startswith("nvidia.com/"):
                    requests.append(Request(name, container.path + ("resources", section, name)))
    selector = pod.spec.get("nodeSelector")
    selections = [
        Selection(label, selector[label], pod.spec_path + ("nodeSelector", label))
        for label in (MIG_LABEL, PLUGIN_LABEL)
        if isinstance(selector, dict) and label in selector
    ]
    if not requests and not selections:
        return None
    return WorkloadRecord(tuple(requests), tuple(selections), doc.ref, doc.object_id)


def collect(doc: Document, ctx: Context) -> list[Any] | None:
    kind = doc.kind
    if kind == "ConfigMap":  # the common ConfigMap holds no mig-parted or device-plugin config: no generator
        data = doc.data.get("data")
        if not isinstance(data, dict) or not any(isinstance(t, str) and ("mig-configs" in t or "sharing" in t) for t in data.values()):
            return None
    elif kind in WORKLOAD_KINDS:
        record = _workload_record(doc)
        return [record] if record is not None else None
    records: list[Any] = []
    found = None
    if kind in _VALUES_KINDS:
        from .gpu_operator_values import chart_values

        found = chart_values(doc, ctx)
    if found is not None:
        mig = found.values.get("mig")
        strategy = mig.get("strategy") if isinstance(mig, dict) else None
        records.append(OperatorRecord(strategy if isinstance(strategy, str) else "single", doc.ref))  # chart default: single
    elif kind == "ConfigMap":
        records.extend(_configmap_records(doc))
    elif kind == "Node":
        labels = doc.labels
        selections = tuple(Selection(label, labels[label], ("metadata", "labels", label)) for label in (MIG_LABEL, PLUGIN_LABEL) if label in labels)
        if selections:
            records.append(WorkloadRecord((), selections, doc.ref, doc.object_id))
    elif kind in WORKLOAD_KINDS:
        record = _workload_record(doc)
        if record is not None:
            records.append(record)
    return records or None


def finish(records: list[list[Any]], ctx: Context) -> Iterator[Violation]:
    flat = [r for record in records for r in record]
    operators = [r for r in flat if isinstance(r, OperatorRecord)]
    mig_records = [r for r in flat if isinstance(r, MigConfigRecord)]
    plugin_records = [r for r in flat if isinstance(r, PluginConfigRecord)]
    mig_configs = frozenset().union(*(r.configs for r in mig_records))
    mig_resources = frozenset().union(*(r.resources for r in mig_records))
    plugin_configs = frozenset().union(*(r.configs for r in plugin_records))
    shared = frozenset().union(*(r.shared for r in plugin_records))
    non_mixed = [r for r in operators if r.strategy != "mixed"]
    for workload in (r for r in flat if isinstance(r, WorkloadRecord)):
        at = {"ref": workload.ref, "object": workload.object}
        for request in workload.requests:
            base = request.resource.removesuffix(".shared")
            if base.startswith(MIG_PREFIX):
                if non_mixed:
                    op = non_mixed[0]
                    yield Violation(
                        f"requests {request.resource}, which only the mixed MIG strategy advertises, but the gpu-operator "
                        f"values ({op.ref.file}) use mig.strategy: {op.strategy} (MIG devices appear as nvidia.com/gpu)",
                        path=request.path, fix="Set mig.strategy: mixed in the gpu-operator values, or request nvidia.com/gpu.", **at,
                    )
                if mig_records and base not in mig_resources:
                    offered = ", ".join(sorted(mig_resources)) or "none"
                    yield Violation(
                        f"requests {request.resource}, but no mig-parted config in the repository creates that MIG device "
                        f"(offered: {offered}); the pod would stay Pending",
                        path=request.path, **at,
                    )
            if request.resource.endswith(".shared") and plugin_records and request.resource not in shared:
                yield Violation(
                    f"requests {request.resource}, but no device-plugin config shares {base} with renameByDefault: true, "
                    "so nothing advertises the .shared name",
                    path=request.path, fix=f"Request {base}, or set renameByDefault: true in the sharing config.", **at,
                )
        for selection in workload.selections:
            known = mig_configs if selection.label == MIG_LABEL else plugin_configs
            if not known:
                continue  # the configs are not in this repository: nothing to compare with
            if not isinstance(selection.value, str) or selection.value not in known:
                kind = "mig-parted config" if selection.label == MIG_LABEL else "device-plugin config"
                yield Violation(
                    f"{selection.label}={selection.value!r} names no {kind} in the repository (known: {', '.join(sorted(known))})",
                    path=selection.path, **at,
                )


RULE = Rule(
    id="gpu-resource-request",
    severity=Severity.ERROR,
    scope="repository",
    kinds=frozenset({"HelmRelease", "Application", "ConfigMap", "Node", *WORKLOAD_KINDS}),
    summary="Pods request NVIDIA MIG and shared GPU resources that the repository's GPU configuration advertises.",
    rationale=(
        "The device plugin advertises `nvidia.com/mig-<profile>` only with the gpu-operator's mixed MIG strategy (the "
        "chart default is single, where MIG devices appear as `nvidia.com/gpu`), only for profiles a mig-parted config "
        "creates, and renames shared GPUs to `nvidia.com/gpu.shared` when `renameByDefault: true`. A pod asking for "
        "anything else stays Pending with no error in Git. The labels `nvidia.com/mig.config` and "
        "`nvidia.com/device-plugin.config` (on Nodes or in nodeSelectors) must name a config that exists, or the "
        "MIG manager / device plugin fails on that node."
    ),
    fix="Request a resource the configuration advertises (mixed strategy for nvidia.com/mig-*), or add the config that provides it.",
    collect=collect,
    finish=finish,
    example="""\
# gpu-operator values: mig.strategy: single; mig-parted config offers 1g.5gb and 2g.10gb
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: nvidia-test-mig-a100}
spec:
  selector: {matchLabels: {app: nvidia-test}}
  template:
    metadata: {labels: {app: nvidia-test}}
    spec:
      containers:
      - name: nvidia
        image: oguzpastirmaci/gpu-burn
        resources: {limits: {nvidia.com/mig-3g.20gb: 1}}
""",
    good_example="""\
# gpu-operator values: mig.strategy: mixed; mig-parted config offers 1g.5gb and 2g.10gb
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: nvidia-test-mig-a100}
spec:
  selector: {matchLabels: {app: nvidia-test}}
  template:
    metadata: {labels: {app: nvidia-test}}
    spec:
      containers:
      - name: nvidia
        image: oguzpastirmaci/gpu-burn
        resources: {limits: {nvidia.com/mig-2g.10gb: 1}}
""",
    references=("https://github.com/NVIDIA/k8s-device-plugin", "https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/gpu-operator-mig.html"),
)
