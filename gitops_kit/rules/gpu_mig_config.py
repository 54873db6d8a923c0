"""gpu-mig-config: mig-parted configurations are valid and each GPU's MIG layout physically fits."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._fleet import cluster_of, fleet_cluster
from ._gpu import MODEL_ANNOTATION, GpuModel, embedded_configs, fit_problem, geometry_name, model_named, model_of_device_filter, models, unparsable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator


def _entry_problems(config: str, entry: Any, model: GpuModel | None) -> Iterator[tuple[str, Severity | None]]:
    if not isinstance(entry, dict):
        yield f"config {config!r}: each entry must be a mapping with devices and mig-enabled", None
        return
    devices = entry.get("devices")
    if devices != "all" and not (isinstance(devices, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in devices)):
        yield f"config {config!r}: devices must be \"all\" or a list of GPU indices, got {devices!r}", None
    enabled = entry.get("mig-enabled")
    if not isinstance(enabled, bool):
        yield f"config {config!r}: mig-enabled must be true or false, got {enabled!r}", None
        return
    mig_devices = entry.get("mig-devices")
    if not enabled:
        if mig_devices:
            yield f"config {config!r}: mig-devices must be empty when mig-enabled is false", None
        return
    if mig_devices is None:
        mig_devices = {}
    if not isinstance(mig_devices, dict):
        yield f"config {config!r}: mig-devices must map profile names to counts", None
        return
    counts: dict[str, int] = {}
    for profile, count in mig_devices.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            yield f"config {config!r}: count of {profile!r} must be a non-negative integer, got {count!r}", None
            continue
        counts[str(profile)] = count
    if model is None:
        return
    unknown = [p for p in counts if geometry_name(p) not in model.profiles]
    if unknown:
        yield (
            f"config {config!r}: {', '.join(repr(p) for p in unknown)} is not a MIG profile of {model.name} "
            f"(profiles: {', '.join(model.profiles)})"
        ), None
        return
    problem = fit_problem(model, {p: c for p, c in counts.items() if c})
    if problem:
        yield f"config {config!r} does not fit one {model.name} GPU: {problem}", None


def _declared_model(doc: Document, ctx: Context) -> tuple[Any, str, tuple]:
    """(model name as written, where it was declared, path) from the annotation, else the fleet config."""
    if MODEL_ANNOTATION in doc.annotations:
        return doc.annotations[MODEL_ANNOTATION], MODEL_ANNOTATION, ("metadata", "annotations", MODEL_ANNOTATION)
    fleet = ctx.services.get("fleet")
    cluster = cluster_of(doc, fleet)
    entry = fleet_cluster(fleet, cluster)
    if entry is not None and "gpu-model" in entry:
        return entry["gpu-model"], f".gitops-kit.yaml fleet cluster {cluster!r} gpu-model", ()
    return None, "", ()


def check(doc: Document, ctx: Context) -> Iterable[Violation]:
    data = doc.data.get("data")
    has_config = isinstance(data, dict) and any(isinstance(t, str) and "mig-configs" in t for t in data.values())
    # the usual ConfigMap: no mig-parted config in it (embedded_configs needs the marker) and no GPU model
    # declared, which needs the annotation or a fleet cluster with a gpu-model (then its cluster is looked up)
    if not has_config and MODEL_ANNOTATION not in doc.annotations and not _fleet_names_models(ctx.services.get("fleet")):
        return ()
    declared, source, source_path = _declared_model(doc, ctx)
    if declared is None and not has_config:
        return ()
    return _check(doc, declared, source, source_path)


#: (the run's fleet section, whether one of its clusters sets gpu-model): asked for every ConfigMap
_models_in_fleet: list = [None, False]


def _fleet_names_models(fleet: Any) -> bool:
    if _models_in_fleet[0] is not fleet:
        clusters = fleet.get("clusters") if isinstance(fleet, dict) else None
        named = isinstance(clusters, list) and any(isinstance(entry, dict) and "gpu-model" in entry for entry in clusters)
        _models_in_fleet[0], _models_in_fleet[1] = fleet, named
    return _models_in_fleet[1]


def _check(doc: Document, declared: Any, source: str, source_path: tuple) -> Iterator[Violation]:
    declared_model = model_named(declared)
    if declared is not None and declared_model is None:
        yield Violation(
            f"unknown GPU model {declared!r} ({source}); MIG layouts are not checked. MIG geometry is known for "
            f"{', '.join(sorted({m.name for m in models().values()}))}",
            path=source_path,
            severity=Severity.WARNING,
        )
    for key, parsed, _text in embedded_configs(doc.data.get("data"), "mig-configs"):
        path = ("data", key)
        if unparsable(parsed):
            yield Violation(f"data.{key} looks like a mig-parted config but is not valid YAML", path=path)
            continue
        if parsed.get("version") != "v1":
            found = "it is missing" if "version" not in parsed else f"got {parsed['version']!r}"
            yield Violation(f"data.{key}: mig-parted config needs version: v1 ({found}); mig-parted rejects anything else", path=path)
        extra = sorted(str(k) for k in parsed if k not in ("version", "mig-configs"))
        if extra:
            yield Violation(f"data.{key}: unexpected field(s) {', '.join(extra)} (mig-parted accepts only version and mig-configs)", path=path)
        configs = parsed.get("mig-configs")
        if not isinstance(configs, dict) or not configs:
            yield Violation(f"data.{key}: mig-configs must map config names to lists of entries", path=path)
            continue
        unknown_model_noted = False
        for name, entries in configs.items():
            if not isinstance(entries, list) or not entries:
                yield Violation(f"data.{key}: config {name!r} must be a non-empty list of entries", path=path)
                continue
            for entry in entries:
                model = declared_model
                if isinstance(entry, dict) and "device-filter" in entry:
                    model = model_of_device_filter(entry["device-filter"]) or declared_model
                uses_mig = isinstance(entry, dict) and entry.get("mig-enabled") is True and bool(entry.get("mig-devices"))
                if model is None and uses_mig and declared is None and not unknown_model_noted:
                    unknown_model_noted = True
                    yield Violation(
                        f"data.{key}: the GPU model is unknown, so MIG layouts are not checked against the GPU's geometry; "
                        f"annotate the ConfigMap with {MODEL_ANNOTATION}, set gpu-model for its cluster in .gitops-kit.yaml, or give entries a device-filter",
                        path=path,
                        severity=Severity.WARNING,
                        fix=f"Add metadata.annotations.{MODEL_ANNOTATION}: A100-40GB (or the model these nodes carry).",
                    )
                for message, severity in _entry_problems(str(name), entry, model):
                    yield Violation(f"data.{key}: {message}", path=path, severity=severity)


RULE = Rule(
    id="gpu-mig-config",
    severity=Severity.ERROR,
    kinds=frozenset({"ConfigMap"}),
    summary="A mig-parted configuration is valid and every MIG layout exists for, and fits on, one GPU of its model.",
    rationale=(
        "The gpu-operator's MIG manager applies the config a node's `nvidia.com/mig.config` label names. A layout with a "
        "profile the GPU does not have (3g.40gb on an A100-40GB), more instances than fit, two `+me` instances or an "
        "impossible placement (4g + 2 x 2g) fails on the node at apply time: the node is labelled "
        "`mig.config.state=failed` and its GPUs stay unusable. The geometry per model (A100-40GB/80GB, A30, H100-80/94/96GB, "
        "H200) is in `gitops_kit/data/mig-geometry.yaml`; the model comes from the annotation `gitops-kit.io/gpu-model` "
        "the cluster's `gpu-model` in `.gitops-kit.yaml` (`fleet.clusters[]`) or an entry's PCI `device-filter`; an "
        "unknown model is a warning, never a guess."
    ),
    fix="Use only profiles of the GPU model and a mixture that fits one GPU (largest first: e.g. 3g + 2g + 2 x 1g on an A100).",
    check=check,
    example="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: nvidia-mig-config
  namespace: kube-system
  annotations: {gitops-kit.io/gpu-model: A100-40GB}
data:
  config.yaml: |
    version: v1
    mig-configs:
      2x2g.10gb-4x1g.5gb:
      - devices: all
        mig-enabled: true
        mig-devices: {"1g.5gb": 4, "2g.10gb": 2}
""",
    good_example="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: nvidia-mig-config
  namespace: kube-system
  annotations: {gitops-kit.io/gpu-model: A100-40GB}
data:
  config.yaml: |
    version: v1
    mig-configs:
      2x2g.10gb-3x1g.5gb:
      - devices: all
        mig-enabled: true
        mig-devices: {"1g.5gb": 3, "2g.10gb": 2}
""",
    references=("https://docs.nvidia.com/datacenter/tesla/mig-user-guide/", "https://github.com/NVIDIA/mig-parted"),
)
