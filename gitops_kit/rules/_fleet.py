"""Cluster facts for the fleet rules: who is in the fleet, with which Cilium identity and pod CIDRs.

Two sources describe a cluster: the `fleet.clusters` list of `.gitops-kit.yaml` (the generator's
source of truth) and the Cilium Helm values each cluster deploys (a Flux HelmRelease of chart
`cilium`, or an Argo CD Application whose source chart is `cilium`). Both become `ClusterFact`s,
small records that keep paths (for locating findings) instead of documents.
"""

from __future__ import annotations

from ..model import DocRef, Document
from ._memo import per_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

    from ..model import PathPart
    from ..rulebase import Context
    from ._helm import EmbeddedValues

    Path = tuple[PathPart, ...]

CONFIG_FILES = (".gitops-kit.yaml", ".gitops-kit.yml")
#: objects that can carry Cilium values (`facts`); values files and the fleet config are plain documents
FACT_KINDS = frozenset({"HelmRelease", "Application"})
#: the Cilium chart's default cluster-pool CIDRs, identical in every cluster unless overridden
CHART_DEFAULT_IPV4 = "10.0.0.0/8"
CHART_DEFAULT_IPV6 = "fd00::/104"
#: Argo CD fleet layout: plain Helm values per cluster, `clusters/<cluster>/values/<chart-or-add-on>.yaml`
_VALUES_FILE = r"(?:^|/)clusters/([^/]+)/values/(cilium|mesh)\.ya?ml$"


class ClusterFact:
    """One source's view of one cluster. Every `*_at` is the keyword arguments of a `Violation` at that
    value (`path` and the `ref` of the file that sets it: a cluster's values may span several files)."""

    __slots__ = (
        "name", "id", "pod_cidrs", "ref", "object", "name_at", "id_at", "origin", "layout_dir", "max_connected",
        "overlay", "peers", "peers_at", "routing_mode", "routing_at", "bpf_masquerade", "masquerade_at",
    )

    def __init__(self, name: Any, id: Any, pod_cidrs: tuple, ref: DocRef, object: str, name_at: dict, id_at: dict,  # noqa: A002
                 origin: str, layout_dir: str | None, **optional: Any) -> None:
        self.name = name  # as written (validated by the rules)
        self.id = id  # None when the source does not set it
        #: (cidr text, where, True when it is the chart default implied by omission)
        self.pod_cidrs = pod_cidrs
        #: the document the fact comes from (what `where` names)
        self.ref = ref
        self.object = object
        self.name_at = name_at
        self.id_at = id_at
        #: "fleet config" or "cilium values"
        self.origin = origin
        #: where the source sits in the repository layout (`clusters/<dir>/`), if anywhere
        self.layout_dir = layout_dir
        self.max_connected = optional.get("max_connected")
        #: the overlay the values were rendered in (a base file is shared by every cluster's render)
        self.overlay = optional.get("overlay")
        #: names listed in `clustermesh.config.clusters` (None when the values list none)
        self.peers = optional.get("peers")
        self.peers_at = optional.get("peers_at", {})
        #: "tunnel" or "native" (None when not from Cilium values)
        self.routing_mode = optional.get("routing_mode")
        self.routing_at = optional.get("routing_at", {})
        #: the explicit `bpf.masquerade` value (None when unset)
        self.bpf_masquerade = optional.get("bpf_masquerade")
        self.masquerade_at = optional.get("masquerade_at", {})

    def __getstate__(self) -> dict:  # records cross process boundaries (parallel runs)
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def key(self) -> tuple:
        """Two facts with one key are the same source seen twice (a values file on its own and through
        the Application that reads it)."""
        return (repr(self.name), repr(self.id), self.name_at.get("ref") or self.ref, self.name_at.get("path"))

    @property
    def label(self) -> str:
        return f"cluster {self.name!r}" if isinstance(self.name, str) and self.name else f"the cluster at {self.where}"

    @property
    def where(self) -> str:
        if self.origin == "fleet config":
            return f"{self.ref.file} fleet.clusters[{self.name_at['path'][2]}]"
        where = f"{self.ref.file}:{self.ref.line}"
        return f"{where} rendered in {self.overlay}" if self.overlay else where


def all_facts(records: list[list[ClusterFact]]) -> list[ClusterFact]:
    """The facts of every record, each source once."""
    seen: set = set()
    found = []
    for fact in (f for record in records for f in record):
        key = fact.key()
        if key not in seen:
            seen.add(key)
            found.append(fact)
    return found


def cluster_of(doc: Document, fleet: Any = None) -> str | None:
    """The cluster an object belongs to: its overlay or file under `clusters/<name>/`, else a folder of
    its overlay or file path named like a cluster of the fleet (e.g. `infrastructure/controllers/<name>`)."""
    places = (doc.overlay or "", doc.ref.file.rpartition("/")[0])
    for place in places:
        found = _cluster_dir(place)
        if found:
            return found
    clusters = fleet.get("clusters") if isinstance(fleet, dict) else None
    names = {c.get("name") for c in clusters if isinstance(c, dict)} if isinstance(clusters, list) else set()
    for place in places:
        for segment in reversed(place.split("/")):
            if segment in names:
                return segment
    return None


def _cluster_dir(place: str) -> str | None:
    """`<name>` of the first `clusters/<name>` in a path (what `(?:^|/)clusters/([^/]+)` finds), by
    splitting: every Service and HelmRelease asks, and no regex needs compiling at import."""
    parts = place.split("/")
    for index in range(len(parts) - 1):
        if parts[index] == "clusters" and parts[index + 1]:
            return parts[index + 1]
    return None


def fleet_cluster(fleet: Any, name: str | None) -> Mapping[str, Any] | None:
    """The `fleet.clusters[]` entry of `.gitops-kit.yaml` named `name`, if any."""
    clusters = fleet.get("clusters") if isinstance(fleet, dict) else None
    for entry in clusters if isinstance(clusters, list) and name else []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


@per_document  # the three fleet rules ask in a row for the same document (and the same Context)
def facts(doc: Document, ctx: Context | None = None) -> list[ClusterFact]:
    """Every cluster fact one document holds (none for unrelated documents); the list is shared by
    the rules that ask, so it must not be changed."""
    if doc.ref.file.rpartition("/")[2] in CONFIG_FILES:
        return list(_fleet_config(doc))
    if doc.is_object:
        from ._helm import embedded_values

        found = next((v for v in embedded_values(doc, ctx) if v.chart == "cilium"), None)
        return [_from_values(doc, found)] if found is not None else []
    import re  # plain documents only (values files): compiled once by re's own cache

    if isinstance(doc.data, dict) and re.search(_VALUES_FILE, doc.ref.file):
        from ._helm import EmbeddedValues, Layer

        # a values file of the Argo CD layout is that cluster's Cilium values, with or without its Application
        values = EmbeddedValues("cilium", doc, [Layer(doc.data, doc.ref, ())], (), None, ())
        return [_from_values(doc, values)]
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
            (cidr, {"path": (*base, "pod-cidrs", i), "ref": doc.ref}, False)
            for i, cidr in enumerate(cidrs if isinstance(cidrs, list) else [])
            if isinstance(cidr, str)
        )
        yield ClusterFact(
            name=entry.get("name"),
            id=entry.get("id"),
            pod_cidrs=pod_cidrs,
            ref=doc.ref,
            object="",
            name_at={"path": (*base, "name"), "ref": doc.ref},
            id_at={"path": (*base, "id") if "id" in entry else base, "ref": doc.ref},
            origin="fleet config",
            layout_dir=None,
        )


def _from_values(doc: Document, found: EmbeddedValues) -> ClusterFact:
    values = found.values

    def at(*parts: PathPart) -> dict[str, Any]:
        where = found.where(*parts)
        return {"path": where["path"], "ref": where["ref"] or doc.ref}

    cluster = values.get("cluster") if isinstance(values.get("cluster"), dict) else {}
    cidrs: list[tuple[str, dict, bool]] = []
    ipam_mode = _get(values, "ipam", "mode")
    if ipam_mode in (None, "cluster-pool"):
        for key, default in (("clusterPoolIPv4PodCIDRList", CHART_DEFAULT_IPV4), ("clusterPoolIPv6PodCIDRList", None)):
            listed = _get(values, "ipam", "operator", key)
            if isinstance(listed, list):
                cidrs.extend((c, at("ipam", "operator", key, i), False) for i, c in enumerate(listed) if isinstance(c, str))
            elif default is not None:
                cidrs.append((default, at(), True))
    # the fact is "where the cluster is named": the values file setting cluster.name, else the document
    name_at = at("cluster", "name")
    ref = name_at["ref"]
    layout_dir = _cluster_dir(ref.file.rpartition("/")[0]) or _cluster_dir(doc.ref.file.rpartition("/")[0])
    peers = _peers(values)
    mode, mode_keys = _routing_mode(values)
    return ClusterFact(
        name=cluster.get("name", "default"),
        id=cluster.get("id", 0),
        pod_cidrs=tuple(cidrs),
        ref=ref,
        object=doc.object_id,
        name_at=name_at,
        id_at=at("cluster", "id"),
        origin="cilium values",
        layout_dir=layout_dir,
        max_connected=_get(values, "clustermesh", "maxConnectedClusters"),
        overlay=doc.overlay if ref == doc.ref else None,
        peers=peers,
        peers_at=at("clustermesh", "config", "clusters"),
        routing_mode=mode,
        routing_at=at(*mode_keys),
        bpf_masquerade=_get(values, "bpf", "masquerade"),
        masquerade_at=at("bpf", "masquerade"),
    )


def _peers(values: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Cluster names of `clustermesh.config.clusters`: a list of {name: …} or (Cilium 1.19) a dict keyed by name."""
    clusters = _get(values, "clustermesh", "config", "clusters")
    if isinstance(clusters, dict):
        return tuple(str(name) for name in clusters)
    if isinstance(clusters, list):
        return tuple(c["name"] for c in clusters if isinstance(c, dict) and isinstance(c.get("name"), str))
    return None


def _routing_mode(values: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """`routingMode` (tunnel by default); the pre-1.14 `tunnel: disabled` also means native routing."""
    mode = values.get("routingMode")
    if isinstance(mode, str) and mode:
        return mode, ("routingMode",)
    if values.get("tunnel") == "disabled":
        return "native", ("tunnel",)
    return "tunnel", ()


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
