"""Argo CD `$values/` value files as a source of Helm values: merged like Helm, read only inside the repository."""

from __future__ import annotations

import os

from gitops_kit.engine import validate
from gitops_kit.model import DocRef, Document
from gitops_kit.rulebase import Context
from gitops_kit.rules._helm import embedded_values

APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: cilium, namespace: argocd}}
spec:
  project: default
  destination: {{server: "https://kubernetes.default.svc", namespace: kube-system}}
  sources:
    - repoURL: https://helm.cilium.io
      chart: cilium
      targetRevision: "1.19.*"
      helm:
        valueFiles: [{files}]
{inline}    - repoURL: https://github.com/example/fleet.git
      targetRevision: HEAD
      ref: values
"""


def _repo(tmp_path, files: str, inline: str = "") -> None:
    (tmp_path / ".git").mkdir()  # the repository root, for find_root
    (tmp_path / "app.yaml").write_text(APPLICATION.format(files=files, inline=inline), encoding="utf-8")


def _values(tmp_path):
    import yaml_rs

    data = yaml_rs.loads((tmp_path / "app.yaml").read_text(encoding="utf-8"))
    doc = Document(data, DocRef(str(tmp_path / "app.yaml"), "app.yaml"))
    return embedded_values(doc, Context(root=str(tmp_path)))[0]


def test_files_merge_in_order_and_inline_values_win(tmp_path):
    (tmp_path / "a.yaml").write_text("cluster: {name: a, id: 1}\nbpf: {masquerade: true}\nhubble: {enabled: true}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("cluster: {id: 2}\nhubble: null\n", encoding="utf-8")
    _repo(tmp_path, "$values/a.yaml, $values/b.yaml", "        valuesObject: {bpf: {masquerade: false}}\n")
    values = _values(tmp_path)
    assert values.values == {"cluster": {"name": "a", "id": 2}, "bpf": {"masquerade": False}}
    assert values.complete
    # each value is located in the layer that sets it
    assert values.where("cluster", "id")["ref"].file == "b.yaml"
    assert values.where("cluster", "name")["ref"].file == "a.yaml"
    assert values.where("bpf", "masquerade")["ref"] is None  # the Application itself


def test_files_outside_the_repository_are_not_read(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("cluster: {id: 7}\n", encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(outside, repo / "link.yaml")
    _repo(repo, "$values/../outside.yaml, $values/link.yaml")
    values = _values(repo)
    assert values.values == {} and not values.complete
    assert [m for m, _ in values.problems] and all("outside the repository" in m for m, _ in values.problems)


def test_missing_and_foreign_value_files(tmp_path):
    _repo(tmp_path, "$values/missing.yaml, $other/x.yaml, values-in-chart.yaml")
    findings = validate([tmp_path], rules=["helm-values-schema"]).findings
    messages = sorted(f.message for f in findings)
    assert len(messages) == 2, messages
    assert "missing.yaml does not exist" in messages[1] and "no source of this Application has ref: other" in messages[0]
    assert {f.line for f in findings} == {12}  # the valueFiles line (a flow list: one line)


def test_ignore_missing_value_files(tmp_path):
    _repo(tmp_path, "$values/missing.yaml", "        ignoreMissingValueFiles: true\n")
    assert validate([tmp_path], rules=["helm-values-schema"]).findings == []


def test_argo_values_file_alone_is_a_mesh_member():
    """`clusters/<cluster>/values/cilium.yaml` is that cluster's Cilium values even without its Application."""
    from gitops_kit.rules import fleet_mesh_consistency as mesh

    def values_doc(cluster: str, peers: list, mode: str) -> Document:
        data = {"cluster": {"name": cluster, "id": int(cluster[-1])}, "routingMode": mode,
                "clustermesh": {"config": {"enabled": True, "clusters": [{"name": p} for p in peers]}}}
        file = f"clusters/{cluster}/values/cilium.yaml"
        return Document(data, DocRef(f"/repo/{file}", file))

    records = [mesh.collect(values_doc("c-1", ["c-2"], "tunnel"), Context()), mesh.collect(values_doc("c-2", [], "native"), Context())]
    messages = sorted(v.message for v in mesh.finish(records, Context()))
    assert len(messages) == 2
    assert "'c-2' uses native routing but cluster 'c-1'" in messages[0]
    assert "of cluster 'c-2' does not list mesh member 'c-1' (clusters/c-1/values/cilium.yaml:1)" in messages[1]
    # an unrelated values file is no cluster's Cilium values
    assert mesh.collect(Document({"cluster": {"id": 3}}, DocRef("/repo/clusters/c-3/values/kepler.yaml", "clusters/c-3/values/kepler.yaml")), Context()) is None


def test_unreadable_value_files_are_warnings_not_crashes(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("cluster: {id: [\n", encoding="utf-8")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    _repo(tmp_path, "$values/dir.yaml, $values/list.yaml, $values/broken.yaml, $values/binary.yaml, 7, $values")
    report = validate([tmp_path], rules=["helm-values-schema", "fleet-cluster-identity", "fleet-pod-cidr", "fleet-mesh-consistency"])
    messages = sorted(f.message for f in report.findings if f.rule_id == "helm-values-schema")
    assert len(messages) == 4, messages
    assert any("not a file" in m for m in messages) and any("not a YAML mapping" in m for m in messages)
    assert any("not valid YAML" in m for m in messages) and any("cannot be read" in m for m in messages)
    assert not [n for n in report.notifications if "crashed" in n]
