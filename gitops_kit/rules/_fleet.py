"""Cluster facts for the fleet rules: who is in the fleet, with which Cilium identity and pod CIDRs.

Two sources describe a cluster: the `fleet.clusters` list of `.gitops-kit.yaml` (the generator's
source of truth) and the Cilium Helm values each cluster deploys (a Flux HelmRelease of chart
`cilium`, or an Argo CD Application whose source chart is `cilium`). Both become `ClusterFact`s,
small records that keep paths (for locating findings) instead of documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from ..model import DocRef, Document, PathPart

CONFIG_FILES = (".gitops-kit.yaml", ".gitops-kit.yml")
#: the Cilium chart's default cluster-pool CIDRs, identical in every cluster unless overridden
CHART_DEFAULT_IPV4 = "10.0.0.0/8"
CHART_DEFAULT_IPV6 = "fd00::/104"
_CLUSTER_DIR = re.compile(r"(?:^|/)clusters/([^/]+)(?:/|$)")

Path = tuple[PathPart, ...]


@dataclass(frozen=True, slots=True)
class ClusterFact:
    """One source's view of one cluster."""

    name: Any  # as written (validated by the rules)
    id: Any  # None when the source does not set it
    #: (cidr text, path of that entry, True when it is the chart default implied by omission)
    pod_cidrs: tuple[tuple[str, Path, bool], ...]
    ref: DocRef
    object: str
    name_path: Path
    id_path: Path
    #: "fleet config" or "cilium values"
    origin: str
    #: where the source sits in the repository layout (`clusters/<dir>/`), if anywhere
    layout_dir: str | None
    max_connected: Any = None
    #: the overlay the values were rendered in (a base file is shared by every cluster's render)
    overlay: str | None = None
    #: names listed in `clustermesh.config.clusters` (None when the values list none)
    peers: tuple[str, ...] | None = None
    peers_path: Path = ()
    #: "tunnel" or "native" (None when not from Cilium values)
    routing_mode: str | None = None
    routing_path: Path = ()
    #: the explicit `bpf.masquerade` value (None when unset)
    bpf_masquerade: Any = None
    values_path: Path = ()

    @property
    def label(self) -> str:
        return f"cluster {self.name!r}" if isinstance(self.name, str) and self.name else f"the cluster at {self.where}"

    @property
    def where(self) -> str:
        if self.origin == "fleet config":
            return f"{self.ref.file} fleet.clusters[{self.name_path[2]}]"
        where = f"{self.ref.file}:{self.ref.line}"
        return f"{where} rendered in {self.overlay}" if self.overlay else where


def cluster_of(doc: Document, fleet: Any = None) -> str | None:
    """The cluster an object belongs to: its overlay or file under `clusters/<name>/`, else a folder of
    its overlay or file path named like a cluster of the fleet (e.g. `infrastructure/controllers/<name>`)."""
    places = (doc.overlay or "", doc.ref.file.rpartition("/")[0])
    for place in places:
        match = _CLUSTER_DIR.search(place)
        if match:
            return match.group(1)
    clusters = fleet.get("clusters") if isinstance(fleet, Mapping) else None
    names = {c.get("name") for c in clusters if isinstance(c, dict)} if isinstance(clusters, list) else set()
    for place in places:
        for segment in reversed(place.split("/")):
            if segment in names:
                return segment
    return None


def fleet_cluster(fleet: Any, name: str | None) -> Mapping[str, Any] | None:
    """The `fleet.clusters[]` entry of `.gitops-kit.yaml` named `name`, if any."""
    clusters = fleet.get("clusters") if isinstance(fleet, Mapping) else None
    for entry in clusters if isinstance(clusters, list) and name else []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def facts(doc: Document) -> list[ClusterFact]:
    """Every cluster fact one document holds (none for unrelated documents)."""
    if doc.ref.file.rpartition("/")[2] in CONFIG_FILES:
        return list(_fleet_config(doc))
    if doc.is_object:
        found = _cilium_values(doc)
        if found is not None:
            values, prefix = found
            return [_from_values(doc, values, prefix)]
    return []


def _fleet_config(doc: Document) -> Iterator[ClusterFact]:
    data = doc.data
    fleet = data.get("fleet") if isinstance(data, dict) else None
    clusters = fleet.get("clusters") if isinstance(fleet, dict) else None
    if not isinstance(clusters, list):
        return
    for index, entry in enumerate(clusters):
        if not isinstance(entry, dict):
            continue
        base: Path = ("fleet", "clusters", index)
        cidrs = entry.get("pod-cidrs")
        pod_cidrs = tuple(
            (cidr, (*base, "pod-cidrs", i), False) for i, cidr in enumerate(cidrs if isinstance(cidrs, list) else []) if isinstance(cidr, str)
        )
        yield ClusterFact(
            name=entry.get("name"),
            id=entry.get("id"),
            pod_cidrs=pod_cidrs,
            ref=doc.ref,
            object="",
            name_path=(*base, "name"),
            id_path=(*base, "id") if "id" in entry else base,
            origin="fleet config",
            layout_dir=None,
        )


def _cilium_values(doc: Document) -> tuple[Mapping[str, Any], Path] | None:
    """(values, path of the values) when the document deploys the Cilium chart with inline values."""
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        return None
    if doc.kind == "HelmRelease" and doc.group == "helm.toolkit.fluxcd.io":
        chart = _get(spec, "chart", "spec", "chart")
        values = spec.get("values")
        if chart == "cilium":
            return (values if isinstance(values, dict) else {}), ("spec", "values")
    if doc.kind == "Application" and doc.group == "argoproj.io":
        many = spec.get("sources")
        candidates = [(("spec", "source"), spec.get("source"))]
        candidates += [(("spec", "sources", i), s) for i, s in enumerate(many if isinstance(many, list) else [])]
        for path, source in candidates:
            if isinstance(source, dict) and source.get("chart") == "cilium":
                return _argocd_values(source, path)
    return None


def _argocd_values(source: Mapping[str, Any], path: Path) -> tuple[Mapping[str, Any], Path]:
    """`helm.valuesObject`, else the YAML text of `helm.values` (Argo CD accepts both)."""
    values = _get(source, "helm", "valuesObject")
    if isinstance(values, dict):
        return values, (*path, "helm", "valuesObject")
    text = _get(source, "helm", "values")
    if isinstance(text, str):
        import yaml_rs

        try:
            parsed = yaml_rs.loads(text, parse_datetime=False)
        except Exception:  # noqa: BLE001 — unparsable values are the schema rules' finding, not a cluster fact
            parsed = None
        # positions inside a string cannot be located: findings point at the `values` key
        return (parsed if isinstance(parsed, dict) else {}), (*path, "helm", "values")
    return {}, (*path, "helm", "valuesObject")


def _from_values(doc: Document, values: Mapping[str, Any], prefix: Path) -> ClusterFact:
    cluster = values.get("cluster") if isinstance(values.get("cluster"), dict) else {}
    cidrs: list[tuple[str, Path, bool]] = []
    ipam_mode = _get(values, "ipam", "mode")
    if ipam_mode in (None, "cluster-pool"):
        for key, default in (("clusterPoolIPv4PodCIDRList", CHART_DEFAULT_IPV4), ("clusterPoolIPv6PodCIDRList", None)):
            listed = _get(values, "ipam", "operator", key)
            if isinstance(listed, list):
                cidrs.extend((c, (*prefix, "ipam", "operator", key, i), False) for i, c in enumerate(listed) if isinstance(c, str))
            elif default is not None:
                cidrs.append((default, prefix, True))
    match = _CLUSTER_DIR.search(doc.ref.file.rpartition("/")[0])
    peers, peers_path = _peers(values, prefix)
    routing_mode, routing_path = _routing_mode(values, prefix)
    return ClusterFact(
        name=cluster.get("name", "default"),
        id=cluster.get("id", 0),
        pod_cidrs=tuple(cidrs),
        ref=doc.ref,
        object=doc.object_id,
        name_path=(*prefix, "cluster", "name") if "name" in cluster else prefix,
        id_path=(*prefix, "cluster", "id") if "id" in cluster else prefix,
        origin="cilium values",
        layout_dir=match.group(1) if match else None,
        max_connected=_get(values, "clustermesh", "maxConnectedClusters"),
        overlay=doc.overlay,
        peers=peers,
        peers_path=peers_path,
        routing_mode=routing_mode,
        routing_path=routing_path,
        bpf_masquerade=_get(values, "bpf", "masquerade"),
        values_path=prefix,
    )


def _peers(values: Mapping[str, Any], prefix: Path) -> tuple[tuple[str, ...] | None, Path]:
    """Cluster names of `clustermesh.config.clusters`: a list of {name: …} or (Cilium 1.19) a dict keyed by name."""
    clusters = _get(values, "clustermesh", "config", "clusters")
    path = (*prefix, "clustermesh", "config", "clusters")
    if isinstance(clusters, dict):
        return tuple(str(name) for name in clusters), path
    if isinstance(clusters, list):
        return tuple(c["name"] for c in clusters if isinstance(c, dict) and isinstance(c.get("name"), str)), path
    return None, path


def _routing_mode(values: Mapping[str, Any], prefix: Path) -> tuple[str, Path]:
    """`routingMode` (tunnel by default); the pre-1.14 `tunnel: disabled` also means native routing."""
    mode = values.get("routingMode")
    if isinstance(mode, str) and mode:
        return mode, (*prefix, "routingMode")
    if values.get("tunnel") == "disabled":
        return "native", (*prefix, "tunnel")
    return "tunnel", prefix


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
