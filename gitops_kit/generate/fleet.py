"""The fleet section of `.gitops-kit.yaml`: parsing, checking and allocation of ids and pod CIDRs.

Pure functions over plain data; reading and writing the file is in config_edit.py.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from .names import GenerateError, check_cluster_name

DEFAULT_POOL = {"ipv4": "10.96.0.0/12", "ipv6": "fd00:10::/48"}
# one cluster gets one /16 (IPv4) and one /64 (IPv6) of the pool
IPV4_PREFIX = 16
IPV6_PREFIX = 64
MAX_CLUSTER_ID = 255  # Cilium's default clustermesh.maxConnectedClusters
FLAVORS = ("flux", "argocd")
# where the fleet's own CI and pre-commit hooks get gitops-kit from (configurable per fleet)
DEFAULT_KIT_REPO = "https://github.com/gitops-kit/gitops-kit"
DEFAULT_KIT_REV = "v0.1.0"
# Argo CD reads values and manifests from the fleet's Git URL; until the user gives it, an obvious placeholder
PLACEHOLDER_REPO_URL = "https://git.example.com/REPLACE-ME/fleet.git"


@dataclass(frozen=True)
class Cluster:
    name: str
    id: int
    pod_cidrs: tuple[str, str]
    addons: tuple[str, ...]
    gpu_model: str | None = None
    kubernetes: str = "1.33"

    def as_mapping(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "pod-cidrs": list(self.pod_cidrs),
            "addons": list(self.addons),
        }
        if self.gpu_model:
            data["gpu-model"] = self.gpu_model
        data["targets"] = {"kubernetes": self.kubernetes}
        return data


@dataclass(frozen=True)
class Fleet:
    flavor: str
    pool_ipv4: str
    pool_ipv6: str
    clusters: tuple[Cluster, ...] = field(default_factory=tuple)
    repo_url: str | None = None
    kit_repo: str = DEFAULT_KIT_REPO
    kit_rev: str = DEFAULT_KIT_REV

    def settings(self) -> dict[str, str]:
        """The fleet-wide settings recorded next to the clusters in `.gitops-kit.yaml`."""
        found = {"gitops-kit-repo": self.kit_repo, "gitops-kit-rev": self.kit_rev}
        if self.repo_url:
            found["repo-url"] = self.repo_url
        return found

    def get(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    def with_cluster(self, cluster: Cluster) -> "Fleet":
        kept = [c for c in self.clusters if c.name != cluster.name]
        if self.get(cluster.name) is None:
            return replace(self, clusters=(*kept, cluster))
        return replace(self, clusters=tuple(cluster if c.name == cluster.name else c for c in self.clusters))


def parse_fleet(data: Any, where: str = ".gitops-kit.yaml: fleet") -> Fleet | None:
    """The fleet recorded in the configuration, or None when there is none yet."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise GenerateError(f"{where}: must be a mapping with flavor, pod-cidr-pool and clusters")
    flavor = data.get("flavor")
    if flavor not in FLAVORS:
        raise GenerateError(f"{where}.flavor: {flavor!r} is not one of {', '.join(FLAVORS)}")
    pool = data.get("pod-cidr-pool") or DEFAULT_POOL
    if not isinstance(pool, Mapping):
        raise GenerateError(f"{where}.pod-cidr-pool: must be a mapping {{ipv4: CIDR, ipv6: CIDR}}")
    pool4 = _network(pool.get("ipv4", DEFAULT_POOL["ipv4"]), 4, f"{where}.pod-cidr-pool.ipv4")
    pool6 = _network(pool.get("ipv6", DEFAULT_POOL["ipv6"]), 6, f"{where}.pod-cidr-pool.ipv6")
    raw_clusters = data.get("clusters") or []
    if not isinstance(raw_clusters, list):
        raise GenerateError(f"{where}.clusters: must be a list")
    clusters = tuple(_parse_cluster(item, f"{where}.clusters[{i}]") for i, item in enumerate(raw_clusters))
    settings = {}
    for key in ("repo-url", "gitops-kit-repo", "gitops-kit-rev"):
        if data.get(key) is not None:
            settings[key] = check_setting(key, data[key], f"{where}.{key}")
    fleet = Fleet(
        str(flavor),
        str(pool4),
        str(pool6),
        clusters,
        repo_url=settings.get("repo-url"),
        kit_repo=settings.get("gitops-kit-repo", DEFAULT_KIT_REPO),
        kit_rev=settings.get("gitops-kit-rev", DEFAULT_KIT_REV),
    )
    check_consistency(fleet, where)
    return fleet


def check_setting(key: str, value: Any, where: str) -> str:
    """A URL or revision that ends up inside generated YAML and CI files: no spaces, quotes or template syntax."""
    import re

    text = str(value)
    if key == "gitops-kit-rev":
        ok = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}", text)
    else:
        ok = re.fullmatch(r"(https|ssh)://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?|git@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+", text)
    if not ok or ".." in text:
        raise GenerateError(f"{where}: {text!r} is not a plain URL{' or revision' if key == 'gitops-kit-rev' else ''} (no spaces, quotes or template syntax)")
    return text


def _parse_cluster(item: Any, where: str) -> Cluster:
    if not isinstance(item, Mapping):
        raise GenerateError(f"{where}: must be a mapping")
    try:
        name = check_cluster_name(str(item.get("name", "")))
    except GenerateError as err:
        raise GenerateError(f"{where}.name: {err}") from None
    cluster_id = item.get("id")
    if not isinstance(cluster_id, int) or isinstance(cluster_id, bool) or not 1 <= cluster_id <= MAX_CLUSTER_ID:
        raise GenerateError(f"{where}.id: {cluster_id!r} is not a cluster id between 1 and {MAX_CLUSTER_ID}")
    cidrs = item.get("pod-cidrs")
    if not isinstance(cidrs, list) or len(cidrs) != 2:
        raise GenerateError(f"{where}.pod-cidrs: expected [IPv4 CIDR, IPv6 CIDR]")
    v4 = _network(cidrs[0], 4, f"{where}.pod-cidrs[0]")
    v6 = _network(cidrs[1], 6, f"{where}.pod-cidrs[1]")
    addons = item.get("addons") or []
    if not isinstance(addons, list) or not all(isinstance(a, str) for a in addons):
        raise GenerateError(f"{where}.addons: expected a list of add-on names")
    targets = item.get("targets") or {}
    kubernetes = str(targets.get("kubernetes", "1.33")) if isinstance(targets, Mapping) else "1.33"
    gpu = item.get("gpu-model")
    return Cluster(name, cluster_id, (str(v4), str(v6)), tuple(addons), str(gpu) if gpu else None, kubernetes)


def _network(value: Any, version: int, where: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError as err:
        raise GenerateError(f"{where}: {value!r} is not a CIDR ({err})") from None
    if network.version != version:
        raise GenerateError(f"{where}: {value!r} is not an IPv{version} CIDR")
    return network


def check_consistency(fleet: Fleet, where: str = "fleet") -> None:
    """Names and ids unique, pod CIDRs inside the pool and not overlapping."""
    pools = (ipaddress.ip_network(fleet.pool_ipv4), ipaddress.ip_network(fleet.pool_ipv6))
    seen_names: set[str] = set()
    seen_ids: dict[int, str] = {}
    taken: list[tuple[Any, str]] = []
    for cluster in fleet.clusters:
        if cluster.name in seen_names:
            raise GenerateError(f"{where}: cluster {cluster.name!r} is listed twice")
        seen_names.add(cluster.name)
        if cluster.id in seen_ids:
            raise GenerateError(f"{where}: cluster id {cluster.id} of {cluster.name!r} is already used by {seen_ids[cluster.id]!r}")
        seen_ids[cluster.id] = cluster.name
        for cidr, pool in zip(cluster.pod_cidrs, pools):
            network = ipaddress.ip_network(cidr)
            if not network.subnet_of(pool):  # type: ignore[arg-type]
                raise GenerateError(f"{where}: pod CIDR {cidr} of {cluster.name!r} is outside the pool {pool}")
            for other, owner in taken:
                if network.version == other.version and network.overlaps(other):
                    raise GenerateError(f"{where}: pod CIDR {cidr} of {cluster.name!r} overlaps {other} of {owner!r}")
            taken.append((network, cluster.name))


def next_cluster_id(fleet: Fleet) -> int:
    used = {c.id for c in fleet.clusters}
    for candidate in range(1, MAX_CLUSTER_ID + 1):
        if candidate not in used:
            return candidate
    raise GenerateError(f"the fleet has no free cluster id left (1-{MAX_CLUSTER_ID} are all used)")


def next_pod_cidrs(fleet: Fleet) -> tuple[str, str]:
    """The first free /16 (IPv4) and /64 (IPv6) of the pool; the all-zero IPv6 subnet is skipped."""
    used = [ipaddress.ip_network(cidr) for c in fleet.clusters for cidr in c.pod_cidrs]
    v4 = _first_free(ipaddress.ip_network(fleet.pool_ipv4), IPV4_PREFIX, used, skip=0)
    v6 = _first_free(ipaddress.ip_network(fleet.pool_ipv6), IPV6_PREFIX, used, skip=1)
    return str(v4), str(v6)


def _first_free(pool: Any, prefix: int, used: list[Any], skip: int) -> Any:
    if pool.prefixlen > prefix:
        raise GenerateError(f"pod CIDR pool {pool} is smaller than one cluster's /{prefix}")
    for index, subnet in enumerate(pool.subnets(new_prefix=prefix)):
        if index < skip:
            continue
        if not any(subnet.version == u.version and subnet.overlaps(u) for u in used):
            return subnet
        if index > 4096:  # pools are sized for at most 255 clusters; don't walk 2**48 IPv6 subnets
            break
    raise GenerateError(
        f"pod CIDR pool {pool} has no free /{prefix} left; record a larger pool in .gitops-kit.yaml "
        f"(fleet.pod-cidr-pool.ipv{pool.version}) or pass --pod-cidr"
    )


def parse_pod_cidr(text: str, fleet: Fleet) -> tuple[str, str]:
    """`--pod-cidr` given as 'IPv4CIDR[,IPv6CIDR]'; a missing IPv6 part is allocated."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or len(parts) > 2:
        raise GenerateError(f"--pod-cidr {text!r}: expected auto, an IPv4 CIDR, or 'IPv4CIDR,IPv6CIDR'")
    v4 = _network(parts[0], 4, "--pod-cidr")
    v6 = _network(parts[1], 6, "--pod-cidr") if len(parts) == 2 else ipaddress.ip_network(next_pod_cidrs(fleet)[1])
    return str(v4), str(v6)


def cluster_for(
    fleet: Fleet,
    name: str,
    addons: list[str],
    *,
    cluster_id: str = "auto",
    pod_cidr: str = "auto",
    gpu_model: str | None = None,
    kubernetes: str = "1.33",
) -> Cluster:
    """The cluster record for these answers; an existing cluster keeps its id and CIDRs unless overridden."""
    others = Fleet(fleet.flavor, fleet.pool_ipv4, fleet.pool_ipv6, tuple(c for c in fleet.clusters if c.name != name))
    existing = fleet.get(name)
    if cluster_id == "auto":
        new_id = existing.id if existing else next_cluster_id(others)
    else:
        if not cluster_id.isdigit() or not 1 <= int(cluster_id) <= MAX_CLUSTER_ID:
            raise GenerateError(f"--cluster-id {cluster_id!r}: expected auto or a number between 1 and {MAX_CLUSTER_ID}")
        new_id = int(cluster_id)
    if pod_cidr == "auto":
        cidrs = existing.pod_cidrs if existing else next_pod_cidrs(others)
    else:
        cidrs = parse_pod_cidr(pod_cidr, others)
    cluster = Cluster(name, new_id, cidrs, tuple(addons), gpu_model, kubernetes)
    check_consistency(others.with_cluster(cluster), "fleet")
    return cluster
