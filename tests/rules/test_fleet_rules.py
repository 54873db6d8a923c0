"""Fleet invariants end to end: a two-cluster fleet with a shared id or overlapping CIDRs fails, naming both."""

from __future__ import annotations

from pathlib import Path

from gitops_kit.engine import validate
from gitops_kit.model import Severity

FLEET = """\
fleet:
  flavor: flux
  pod-cidr-pool: {{ipv4: 10.96.0.0/12, ipv6: "fd00:10::/48"}}
  clusters:
    - {{name: cilium-001, id: 1, pod-cidrs: ["10.96.0.0/16", "fd00:10:0:1::/64"], addons: [mesh]}}
    - {{name: cilium-002, id: {id2}, pod-cidrs: ["{cidr2}", "fd00:10:0:2::/64"], addons: [mesh]}}
"""

HELMRELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: cilium, namespace: kube-system}}
spec:
  interval: 30m
  chart: {{spec: {{chart: cilium, version: 1.18.0, sourceRef: {{kind: HelmRepository, name: cilium}}}}}}
  values:
    cluster: {{name: {name}, id: {id}}}
    ipam: {{operator: {{clusterPoolIPv4PodCIDRList: ["{cidr}"]}}}}
    bpf: {{masquerade: true}}
    clustermesh: {{useAPIServer: true, config: {{enabled: true, clusters: [{{name: {peer}, port: 32379}}]}}}}
"""


def _fleet(tmp_path: Path, id2: int, cidr2: str) -> Path:
    (tmp_path / ".gitops-kit.yaml").write_text(FLEET.format(id2=id2, cidr2=cidr2), encoding="utf-8")
    return tmp_path


def _errors(root: Path):
    report = validate([root], rules=["fleet-cluster-identity", "fleet-pod-cidr", "fleet-mesh-consistency"])
    return [f for f in report.findings if f.severity == Severity.ERROR]


def test_clean_two_cluster_fleet_has_no_findings(tmp_path):
    root = _fleet(tmp_path, 2, "10.97.0.0/16")
    for name, cluster_id, cidr, peer in (("cilium-001", 1, "10.96.0.0/16", "cilium-002"), ("cilium-002", 2, "10.97.0.0/16", "cilium-001")):
        folder = root / "clusters" / name
        folder.mkdir(parents=True)
        (folder / "cilium.yaml").write_text(HELMRELEASE.format(name=name, id=cluster_id, cidr=cidr, peer=peer), encoding="utf-8")
    report = validate([root], rules=["fleet-cluster-identity", "fleet-pod-cidr", "fleet-mesh-consistency"])
    assert report.findings == []


def test_same_cluster_id_names_both_clusters(tmp_path):
    errors = _errors(_fleet(tmp_path, 1, "10.97.0.0/16"))
    assert len(errors) == 1
    assert errors[0].rule_id == "fleet-cluster-identity" and errors[0].line == 6
    assert "cilium-001" in errors[0].message and "cilium-002" in errors[0].message


def test_overlapping_pod_cidrs_name_both_clusters(tmp_path):
    errors = _errors(_fleet(tmp_path, 2, "10.96.64.0/18"))
    assert len(errors) == 1
    assert errors[0].rule_id == "fleet-pod-cidr"
    assert "cilium-001" in errors[0].message and "cilium-002" in errors[0].message


def test_fleet_config_and_cilium_values_disagreeing_on_an_id(tmp_path):
    root = _fleet(tmp_path, 2, "10.97.0.0/16")
    folder = root / "clusters" / "cilium-002"
    folder.mkdir(parents=True)
    (folder / "cilium.yaml").write_text(HELMRELEASE.format(name="cilium-002", id=7, cidr="10.97.0.0/16", peer="cilium-001"), encoding="utf-8")
    errors = _errors(root)
    assert [e.file for e in errors] == ["clusters/cilium-002/cilium.yaml"]
    assert "id 7" in errors[0].message and "id 2" in errors[0].message


def test_cluster_of_uses_clusters_dir_then_fleet_named_folders():
    from gitops_kit.model import DocRef, Document
    from gitops_kit.rules._fleet import cluster_of

    fleet = {"clusters": [{"name": "cilium-001"}, {"name": "cilium-002"}]}

    def doc(file, overlay=None):
        return Document({"kind": "ConfigMap"}, DocRef("/x/" + file, file), overlay=overlay)

    assert cluster_of(doc("clusters/cilium-009/apps.yaml")) == "cilium-009"
    assert cluster_of(doc("infrastructure/controllers/base/gpu/cm.yaml", "infrastructure/controllers/cilium-002"), fleet) == "cilium-002"
    assert cluster_of(doc("infrastructure/controllers/cilium-001/cm.yaml"), fleet) == "cilium-001"
    assert cluster_of(doc("infrastructure/controllers/cilium-001/cm.yaml")) is None  # no fleet: no guess
    assert cluster_of(doc("apps/base/cm.yaml"), fleet) is None


MY_RULES = [
    "cilium-global-service", "csi-volume-access", "fleet-cluster-identity", "fleet-global-service-ports",
    "fleet-mesh-consistency", "fleet-pod-cidr", "gpu-mig-config", "gpu-operator-values", "gpu-resource-request",
    "gpu-time-slicing", "ingress-global-service", "ingress-nginx-retired",
]


def test_generated_example_fleet_is_clean_and_a_copied_id_is_caught(tmp_path):
    """The committed generated fleet (rendered with real kustomize) has no finding of these rules;
    giving cilium-002 the id of cilium-001 yields a finding that names both clusters."""
    import shutil

    from ..conftest import ROOT

    root = tmp_path / "fleet"
    shutil.copytree(ROOT / "examples" / "flux-fleet", root)
    (root / ".git").mkdir()  # the repository root for config discovery
    report = validate([root], rules=MY_RULES)
    assert report.findings == [], "\n".join(f"{f.location} {f.rule_id} {f.message}" for f in report.findings)

    values = root / "infrastructure" / "controllers" / "cilium-002" / "mesh-values.yaml"
    text = values.read_text(encoding="utf-8")
    assert "      id: 2\n" in text
    values.write_text(text.replace("      id: 2\n", "      id: 1\n"), encoding="utf-8")
    findings = [f for f in validate([root], rules=MY_RULES).findings if "is used by both" in f.message]
    assert len(findings) == 1
    assert "cilium-001" in findings[0].message and "cilium-002" in findings[0].message
