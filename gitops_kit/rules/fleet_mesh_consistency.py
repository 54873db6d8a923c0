"""fleet-mesh-consistency: the Cilium values of the mesh members agree with each other."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._fleet import CONFIG_FILES, FACT_KINDS, ClusterFact, all_facts, facts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator


def collect(doc: Document, ctx: Context) -> list[ClusterFact] | None:
    # only Cilium values describe how a cluster meshes; the fleet config has no peers or routing mode
    found = [f for f in facts(doc, ctx) if f.origin == "cilium values" and isinstance(f.id, int) and not isinstance(f.id, bool) and f.id != 0]
    return found or None


def _at(fact: ClusterFact, at: dict, message: str, severity: Severity | None = None, fix: str | None = None) -> Violation:
    return Violation(message, **at, object=fact.object, severity=severity, fix=fix)


def finish(records: list[list[ClusterFact]], ctx: Context) -> Iterator[Violation]:
    members: dict[str, ClusterFact] = {}
    for fact in all_facts(records):
        if isinstance(fact.name, str):
            members.setdefault(fact.name, fact)  # fleet-cluster-identity reports duplicate names
    if len(members) < 2:
        return
    for name, fact in members.items():
        if fact.peers is None:
            continue
        if name in fact.peers:
            yield _at(fact, fact.peers_at, f"clustermesh.config.clusters of cluster {name!r} lists the cluster itself; list only the other members")
        for other_name, other in members.items():
            if other_name != name and other_name not in fact.peers:
                yield _at(
                    fact,
                    fact.peers_at,
                    f"clustermesh.config.clusters of cluster {name!r} does not list mesh member {other_name!r} "
                    f"({other.where}), so {name!r} never connects to it",
                )
    first = next(iter(members.values()))
    for fact in list(members.values())[1:]:
        if fact.routing_mode != first.routing_mode:
            yield _at(
                fact,
                fact.routing_at,
                f"cluster {fact.name!r} uses {fact.routing_mode} routing but cluster {first.name!r} ({first.where}) uses "
                f"{first.routing_mode}; all mesh members need the same datapath mode",
            )
    for fact in members.values():
        if fact.bpf_masquerade is False:
            yield _at(
                fact,
                fact.masquerade_at,
                f"cluster {fact.name!r} is a mesh member with bpf.masquerade: false; the CERN Cluster Mesh setup needed eBPF "
                "masquerading for cross-cluster traffic",
                severity=Severity.WARNING,
                fix="Set bpf.masquerade: true (with a native routing CIDR covering every member's pod CIDRs, or the ip-masq-agent).",
            )


RULE = Rule(
    id="fleet-mesh-consistency",
    severity=Severity.ERROR,
    scope="repository",
    # cluster facts (`_fleet.facts`): Cilium HelmReleases/Applications and the Argo CD layout's values files
    kinds=FACT_KINDS,
    plain_documents=True,
    file_names=CONFIG_FILES,
    summary="Every Cluster Mesh member's Cilium values list all other members and share one routing mode.",
    rationale=(
        "With `clustermesh.config.enabled` the chart writes the peers from `clustermesh.config.clusters`; a member "
        "missing from a peer's list is never connected from that side, and a cluster listing itself tries to mesh "
        "with itself. Cilium requires the same datapath mode (tunnel or native routing) on every member. The CERN "
        "setup also needed `bpf.masquerade: true` on the members (warning when it is switched off). Mesh members are "
        "the clusters whose Cilium values (Flux HelmRelease or Argo CD Application of chart `cilium`, with its "
        "`$values/` files, or the Argo CD layout's `clusters/<cluster>/values/cilium.yaml`) set a non-zero `cluster.id`."
    ),
    fix="List every other member (and not the cluster itself) in clustermesh.config.clusters and use one routingMode everywhere.",
    collect=collect,
    finish=finish,
    example="""\
# clusters/cilium-001/cilium.yaml (HelmRelease of chart cilium), values:
cluster: {name: cilium-001, id: 1}
routingMode: native
clustermesh:
  config:
    enabled: true
    clusters: [{name: cilium-001, port: 32379}]
# clusters/cilium-002/cilium.yaml, values:
cluster: {name: cilium-002, id: 2}
clustermesh:
  config:
    enabled: true
    clusters: [{name: cilium-001, port: 32379}]
""",
    good_example="""\
# clusters/cilium-001/cilium.yaml (HelmRelease of chart cilium), values:
cluster: {name: cilium-001, id: 1}
clustermesh:
  config:
    enabled: true
    clusters: [{name: cilium-002, port: 32379}]
# clusters/cilium-002/cilium.yaml, values:
cluster: {name: cilium-002, id: 2}
clustermesh:
  config:
    enabled: true
    clusters: [{name: cilium-001, port: 32379}]
""",
    references=("https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/",),
)
