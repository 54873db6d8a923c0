"""The Argo CD flavour, derived from the same blueprints as the Flux flavour.

A blueprint describes each chart once, as Flux objects (HelmRepository/OCIRepository + HelmRelease with
base `spec.values`, and per-cluster HelmRelease value patches). For Argo CD the same data becomes:

- `clusters/<c>/values/<release>.yaml`: base values deep-merged with the cluster's patch, as a plain Helm
  values document (what the fleet rules read, e.g. `clusters/<c>/values/cilium.yaml`);
- one multi-source Application per chart (chart source + `ref: values` Git source, plus Git path sources
  for the add-on's other objects), with sync waves from the blueprint order;
- `addons/<addon>/`: the blueprint's non-Flux objects (namespaces, ConfigMaps), copied verbatim, with a
  plain kustomization;
- `clusters/<c>/addons/<addon>/`: the cluster's own objects and SOPS-encrypted Secrets, with no
  kustomization: the Application reads the folder through the `sops-decrypt` Config Management Plugin
  (a sops sidecar of the repo-server, configured in `values/argo-cd.yaml`), which prints plain files as
  they are and `*.sops.yaml` files decrypted. Every kustomization of the fleet therefore builds with plain
  `kubectl kustomize`, and only the sidecar holds the cluster's age key.

Kustomize's patch semantics for custom resources (maps merge, lists and scalars replace) are reproduced
by `merge`, so both flavours deploy the same values.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .blueprints import Blueprint
from .names import GenerateError

FLUX_KINDS = frozenset({"HelmRelease", "HelmRepository", "OCIRepository", "GitRepository", "Kustomization"})
# sync waves: ten per blueprint order (CNI 0, CSI 10, GPU 20, runners 30, Kepler 40); charts of one add-on
# follow each other; the example objects come last
WAVE_STEP = 10
CONFIGS_WAVE = 100
# the Config Management Plugin that renders clusters/<c>/addons/<addon>/ (configs.cmp.plugins in values/argo-cd.yaml)
SOPS_PLUGIN = "sops-decrypt"


@dataclass(frozen=True)
class Chart:
    release: str
    namespace: str
    repo_url: str
    chart: str
    version: str
    annotations: dict[str, str]
    values: Any  # ruamel CommentedMap (comments kept)
    server_side: bool


def _yaml() -> Any:
    from .config_edit import _yaml as round_trip  # one YAML style for every file the generator writes

    return round_trip()


def load_docs(text: str, where: str) -> list[Any]:
    from ruamel.yaml.error import YAMLError

    try:
        return [d for d in _yaml().load_all(text) if d is not None]
    except YAMLError as err:
        raise GenerateError(f"{where}: invalid YAML in a blueprint: {str(err).splitlines()[0]}") from None


def dump(data: Any) -> bytes:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue().encode("utf-8")


def merge(base: Any, patch: Any) -> Any:
    """`patch` applied to `base` in place like a kustomize patch of a custom resource."""
    if isinstance(base, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            base[key] = merge(base[key], value) if key in base else value
        return base
    return patch


def _flux_files(blueprint: Blueprint) -> tuple[list[Any], list[str]]:
    """Flux documents of the blueprint's controllers/ folder, and the files holding anything else."""
    flux: list[Any] = []
    plain: list[str] = []
    for path in sorted((blueprint.folder / "controllers").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs = load_docs(path.read_text(encoding="utf-8"), str(path))
        kinds = {d.get("kind") for d in docs}
        if kinds <= FLUX_KINDS:
            flux.extend(docs)
        elif kinds & FLUX_KINDS:
            raise GenerateError(f"{path}: mixes Flux and other objects; put them in separate files")
        else:
            plain.append(path.name)
    return flux, plain


def plain_files(blueprint: Blueprint) -> list[str]:
    return _flux_files(blueprint)[1]


def charts(blueprint: Blueprint, patches: Iterable[str]) -> list[Chart]:
    """Every chart of the blueprint with its values merged with the cluster's rendered patches."""
    flux, _ = _flux_files(blueprint)
    sources = {(d["kind"], d["metadata"]["name"]): d for d in flux if d["kind"] != "HelmRelease"}
    releases = [d for d in flux if d["kind"] == "HelmRelease"]
    by_name = {d["metadata"]["name"]: d for d in releases}
    for text in patches:
        for patch in load_docs(text, f"blueprint {blueprint.name}: cluster patch"):
            target = by_name.get(patch.get("metadata", {}).get("name"))
            if target is None or patch.get("kind") != "HelmRelease":
                raise GenerateError(f"blueprint {blueprint.name}: a cluster patch targets no HelmRelease of the add-on")
            values = (patch.get("spec") or {}).get("values")
            if values:
                target["spec"]["values"] = merge(target["spec"].get("values") or {}, values)
    pins = (blueprint.extra.get("argocd") or {}).get("chart-versions") or {}
    return [_chart(blueprint, release, sources, pins) for release in releases]


def _chart(blueprint: Blueprint, release: Any, sources: dict, pins: dict) -> Chart:
    spec = release["spec"]
    name = release["metadata"]["name"]
    if "chartRef" in spec:
        ref = spec["chartRef"]
        source = sources.get((ref["kind"], ref["name"]))
        if source is None or ref["kind"] != "OCIRepository":
            raise GenerateError(f"blueprint {blueprint.name}: chartRef of {name} names no OCIRepository of the add-on")
        registry, _, chart = str(source["spec"]["url"]).removeprefix("oci://").rpartition("/")
        # Argo CD resolves version ranges for Helm repositories only: OCI charts are pinned in blueprint.yaml
        version = pins.get(chart)
        if not version:
            raise GenerateError(f"blueprint {blueprint.name}: argocd.chart-versions has no pinned version for OCI chart {chart}")
        repo_url = registry
    else:
        chart_spec = spec["chart"]["spec"]
        source_ref = chart_spec["sourceRef"]
        source = sources.get((source_ref["kind"], source_ref["name"]))
        if source is None:
            raise GenerateError(f"blueprint {blueprint.name}: sourceRef of {name} names no repository of the add-on")
        chart = str(chart_spec["chart"])
        repo_url = str(source["spec"]["url"])
        version = str(pins.get(chart) or chart_spec.get("version", "*")).replace(".x", ".*").replace("x.", "*.")
    annotations = {str(k): str(v) for k, v in (release["metadata"].get("annotations") or {}).items()}
    crds = (spec.get("install") or {}).get("crds")
    return Chart(name, str(release["metadata"]["namespace"]), repo_url, chart, version, annotations, spec.get("values") or {}, bool(crds))


def addon_kustomization(files: list[str]) -> bytes:
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    lines += [f"  - {name}" for name in files] if files else []
    if not files:
        lines[-1] = "resources: []"
    return ("\n".join(lines) + "\n").encode("utf-8")


def applications(
    blueprints: list[Blueprint], charts_by_addon: dict[str, list[Chart]], cluster: str, layout: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Context for the cluster template's Applications: one per chart, in sync-wave order.

    `layout[addon]` has `shared` (the `addons/<addon>` path, or "") and `own` (the cluster's folder, or "").
    """
    apps: list[dict[str, Any]] = []
    for blueprint in blueprints:
        where = layout[blueprint.name]
        # the add-on's own objects travel with its first chart (namespaces, ConfigMaps, secrets)
        extra = [{"path": where["shared"], "plugin": ""}] if where["shared"] else []
        extra += [{"path": where["own"], "plugin": SOPS_PLUGIN}] if where["own"] else []
        for index, chart in enumerate(charts_by_addon[blueprint.name]):
            apps.append(
                {
                    "name": chart.release,
                    "addon": blueprint.name,
                    "wave": str(blueprint.order * WAVE_STEP + index),
                    "namespace": chart.namespace,
                    "repo_url": chart.repo_url,
                    "chart": chart.chart,
                    "version": chart.version,
                    "annotations": dict(chart.annotations),
                    "values_file": f"clusters/{cluster}/values/{chart.release}.yaml",
                    "sources": extra if index == 0 else [],
                    "server_side": chart.server_side,
                }
            )
    return apps


def values_files(cluster: str, charts_by_addon: dict[str, list[Chart]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for addon, found in charts_by_addon.items():
        for chart in found:
            header = f"# Helm values of {chart.chart} ({addon} add-on) for cluster {cluster}, read by Application {chart.release}.\n"
            files[f"clusters/{cluster}/values/{chart.release}.yaml"] = header.encode("utf-8") + dump(chart.values)
    return files


def rendered_patches(root: Path, cluster: str, blueprint: Blueprint) -> list[str]:
    """The cluster's rendered HelmRelease patches of the blueprint (removed from the output tree)."""
    texts = []
    for name in blueprint.patches:
        path = root / "clusters" / cluster / "addons" / blueprint.name / name
        texts.append(path.read_text(encoding="utf-8"))
        path.unlink()
    return texts
