"""fleet-cluster-identity: Cilium cluster names and ids valid and unique across the whole fleet."""

from __future__ import annotations

import re

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._fleet import CONFIG_FILES, FACT_KINDS, ClusterFact, all_facts, facts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

# Cilium's ValidateClusterName (pkg/clustermesh/types): a DNS label of at most 32 characters
_NAME = r"^([a-z0-9][-a-z0-9]*)?[a-z0-9]$"  # compiled on first use (re's cache)
MAX_NAME = 32
_ALLOWED_MAX_CONNECTED = (255, 511)


def collect(doc: Document, ctx: Context) -> list[ClusterFact] | None:
    return facts(doc, ctx) or None


def _at(fact: ClusterFact, at: dict, message: str) -> Violation:
    return Violation(message, **at, object=fact.object)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_one(fact: ClusterFact) -> Iterator[Violation]:
    name, cluster_id = fact.name, fact.id
    if not isinstance(name, str) or not name:
        yield _at(fact, fact.name_at, f"{fact.origin}: cluster name must be a non-empty string, got {name!r}")
    elif len(name) > MAX_NAME:
        yield _at(fact, fact.name_at, f"{fact.origin}: cluster name {name!r} is {len(name)} characters; Cilium allows at most {MAX_NAME}")
    elif not re.match(_NAME, name):
        yield _at(fact, fact.name_at, f"{fact.origin}: cluster name {name!r} is not a DNS label (lower-case letters, digits and '-', starting and ending with a letter or digit)")
    max_connected = fact.max_connected if fact.max_connected is not None else 255
    if max_connected not in _ALLOWED_MAX_CONNECTED:
        yield _at(fact, fact.id_at, f"{fact.origin}: clustermesh.maxConnectedClusters is {max_connected!r}; Cilium accepts only 255 or 511")
        max_connected = 255
    if cluster_id is None:
        return
    if not _is_id(cluster_id):
        yield _at(fact, fact.id_at, f"{fact.origin}: cluster id must be an integer, got {cluster_id!r}")
        return
    # cilium values may use id 0 (no Cluster Mesh); a fleet member is meshed, so 0 is reserved there
    lowest = 1 if fact.origin == "fleet config" else 0
    if not lowest <= cluster_id <= max_connected:
        hint = " (1-511 needs clustermesh.maxConnectedClusters: 511)" if max_connected == 255 and 255 < cluster_id <= 511 else ""
        yield _at(fact, fact.id_at, f"{fact.origin}: cluster id {cluster_id} of {fact.label} is outside {max(lowest, 1)}-{max_connected}{hint}")
    if name == "default" and cluster_id != 0:
        yield _at(fact, fact.name_at, f"{fact.origin}: cluster name 'default' cannot be used with a non-zero cluster id ({cluster_id})")


def _duplicate_names(all_facts: list[ClusterFact]) -> Iterator[Violation]:
    first_entry: dict[str, ClusterFact] = {}
    first_dir: dict[str, ClusterFact] = {}
    for fact in all_facts:
        if not isinstance(fact.name, str):
            continue
        if fact.origin == "fleet config":
            earlier = first_entry.setdefault(fact.name, fact)
            if earlier is not fact:
                yield _at(fact, fact.name_at, f"fleet config lists cluster {fact.name!r} twice (first at {earlier.where})")
        elif fact.layout_dir is not None:
            earlier = first_dir.setdefault(fact.name, fact)
            if earlier is not fact and earlier.layout_dir != fact.layout_dir:
                yield _at(
                    fact,
                    fact.name_at,
                    f"cluster name {fact.name!r} is used by both clusters/{earlier.layout_dir} ({earlier.where}) "
                    f"and clusters/{fact.layout_dir}; Cluster Mesh needs a unique name per cluster",
                )


def _duplicate_ids(all_facts: list[ClusterFact]) -> Iterator[Violation]:
    id_of_name: dict[str, ClusterFact] = {}
    name_of_id: dict[int, ClusterFact] = {}
    for fact in all_facts:
        if not isinstance(fact.name, str) or not _is_id(fact.id) or fact.id == 0:
            continue
        known = id_of_name.setdefault(fact.name, fact)
        if known is not fact:
            if known.id != fact.id:
                yield _at(
                    fact,
                    fact.id_at,
                    f"the {fact.origin} set cluster {fact.name!r} to id {fact.id}, but the {known.origin} ({known.where}) set it to id {known.id}",
                )
            continue
        owner = name_of_id.setdefault(fact.id, fact)
        if owner is not fact:
            yield _at(
                fact,
                fact.id_at,
                f"cluster id {fact.id} is used by both cluster {owner.name!r} ({owner.where}) and cluster {fact.name!r}; "
                "ids must be unique across the mesh",
            )


def _max_connected_agree(all_facts: list[ClusterFact]) -> Iterator[Violation]:
    members = [f for f in all_facts if f.origin == "cilium values" and _is_id(f.id) and f.id != 0]
    if not members:
        return
    first = members[0]
    first_value = first.max_connected if first.max_connected is not None else 255
    for fact in members[1:]:
        value = fact.max_connected if fact.max_connected is not None else 255
        if value != first_value:
            yield _at(
                fact,
                fact.id_at,
                f"clustermesh.maxConnectedClusters is {value} for {fact.label} but {first_value} for {first.label} "
                f"({first.where}); it must be identical on every mesh member",
            )


def finish(records: list[list[ClusterFact]], ctx: Context) -> Iterator[Violation]:
    found = all_facts(records)
    for fact in found:
        yield from _check_one(fact)
    yield from _duplicate_names(found)
    yield from _duplicate_ids(found)
    yield from _max_connected_agree(found)


RULE = Rule(
    id="fleet-cluster-identity",
    severity=Severity.ERROR,
    scope="repository",
    # cluster facts (`_fleet.facts`): the fleet config, Cilium HelmReleases/Applications, Argo CD values files
    kinds=FACT_KINDS,
    plain_documents=True,
    file_names=CONFIG_FILES,
    summary="Cilium cluster names and ids are valid and unique across the fleet.",
    rationale=(
        "Cluster Mesh tells clusters apart by `cluster.name` and `cluster.id`: the id is part of every security "
        "identity, so two clusters with one id mix up policy and traffic, and Cilium (1.17+) refuses to start with a "
        "name that is not a DNS label of at most 32 characters or with the name `default` and a non-zero id. Ids are "
        "1-255 (0 means no mesh), or 1-511 only when `clustermesh.maxConnectedClusters: 511` is set identically on "
        "every member. Checked across `.gitops-kit.yaml` `fleet.clusters` and the Cilium values each cluster deploys "
        "(Flux HelmRelease or Argo CD Application of chart `cilium`, with its `$values/` value files, and the Argo CD "
        "layout's `clusters/<cluster>/values/cilium.yaml`)."
    ),
    fix="Give every cluster its own DNS-label name and its own id in 1-255, and keep the fleet config and the Cilium values in step.",
    collect=collect,
    finish=finish,
    example="""\
# .gitops-kit.yaml
fleet:
  flavor: flux
  clusters:
    - {name: cilium-001, id: 1, pod-cidrs: ["10.96.0.0/16"]}
    - {name: cilium-002, id: 1, pod-cidrs: ["10.97.0.0/16"]}
""",
    good_example="""\
# .gitops-kit.yaml
fleet:
  flavor: flux
  clusters:
    - {name: cilium-001, id: 1, pod-cidrs: ["10.96.0.0/16"]}
    - {name: cilium-002, id: 2, pod-cidrs: ["10.97.0.0/16"]}
""",
    references=("https://github.com/cilium/cilium/blob/main/pkg/clustermesh/types/types.go",),
)
