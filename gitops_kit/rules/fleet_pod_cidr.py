"""fleet-pod-cidr: the pod CIDRs of the clusters of a mesh never overlap, and none is the chart default."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._fleet import CHART_DEFAULT_IPV4, CONFIG_FILES, FACT_KINDS, ClusterFact, all_facts, facts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator



def collect(doc: Document, ctx: Context) -> list[ClusterFact] | None:
    return facts(doc, ctx) or None


def _meshed(fact: ClusterFact) -> bool:
    """Fleet config clusters are mesh candidates; Cilium values are meshed only with a non-zero id."""
    return fact.origin == "fleet config" or (isinstance(fact.id, int) and fact.id != 0)


def finish(records: list[list[ClusterFact]], ctx: Context) -> Iterator[Violation]:
    import ipaddress

    seen: list[tuple[ClusterFact, str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
    reported: set[tuple] = set()
    for fact in all_facts(records):
        for text, at, implied in fact.pod_cidrs:
            try:
                network = ipaddress.ip_network(text.strip(), strict=True)
            except ValueError as err:
                yield Violation(f"{fact.origin}: pod CIDR {text!r} of {fact.label} is not a valid network ({err})", **at, object=fact.object)
                continue
            if not _meshed(fact):
                continue
            if str(network) == CHART_DEFAULT_IPV4:
                how = "is left at" if implied else "is"
                yield Violation(
                    f"the IPv4 pod CIDR of {fact.label} {how} the Cilium chart default {CHART_DEFAULT_IPV4}, which every "
                    "cluster gets unless overridden; set ipam.operator.clusterPoolIPv4PodCIDRList to this cluster's own range",
                    **at,
                    object=fact.object,
                )
                continue
            if implied:
                continue
            for other, other_text, other_network in seen:
                if other.name == fact.name or other_network.version != network.version:
                    continue
                if not network.overlaps(other_network):
                    continue
                key = (frozenset((str(other.name), str(fact.name))), frozenset((str(network), str(other_network))))
                if key in reported:
                    continue
                reported.add(key)
                yield Violation(
                    f"pod CIDR {network} of {fact.label} overlaps {other_network} of {other.label} ({other.where}); "
                    "pod CIDRs must be unique across the mesh",
                    **at,
                    object=fact.object,
                )
            seen.append((fact, text, network))


RULE = Rule(
    id="fleet-pod-cidr",
    severity=Severity.ERROR,
    scope="repository",
    # cluster facts (`_fleet.facts`): the fleet config, Cilium HelmReleases/Applications, Argo CD values files
    kinds=FACT_KINDS,
    plain_documents=True,
    file_names=CONFIG_FILES,
    summary="Pod CIDRs (IPv4 and IPv6) of the clusters in a mesh do not overlap and are not the chart default.",
    rationale=(
        "Cluster Mesh routes pod IPs between clusters, so a pod IP must belong to exactly one cluster: overlapping "
        "pod CIDRs make cross-cluster traffic go to the wrong pod or nowhere. The Cilium chart's cluster-pool default "
        "`10.0.0.0/8` is the same in every cluster, so a mesh member that keeps it collides with every other one. "
        "Checked across `.gitops-kit.yaml` `fleet.clusters[].pod-cidrs` and `ipam.operator.clusterPool*PodCIDRList` "
        "of the Cilium values of meshed clusters (non-zero `cluster.id`)."
    ),
    fix="Allocate each cluster its own range from the fleet's pod-cidr-pool and set it in the Cilium values of that cluster.",
    collect=collect,
    finish=finish,
    example="""\
# .gitops-kit.yaml
fleet:
  flavor: flux
  clusters:
    - {name: cilium-001, id: 1, pod-cidrs: ["10.96.0.0/16", "fd00:10:0:1::/64"]}
    - {name: cilium-002, id: 2, pod-cidrs: ["10.96.128.0/17", "fd00:10:0:2::/64"]}
""",
    good_example="""\
# .gitops-kit.yaml
fleet:
  flavor: flux
  clusters:
    - {name: cilium-001, id: 1, pod-cidrs: ["10.96.0.0/16", "fd00:10:0:1::/64"]}
    - {name: cilium-002, id: 2, pod-cidrs: ["10.97.0.0/16", "fd00:10:0:2::/64"]}
""",
    references=("https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/",),
)
