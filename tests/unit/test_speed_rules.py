"""Rules answer the common document without their full walk (docs/benchmarks.md, the 6,000-document bar);
the shortcuts must not change what they report."""

from __future__ import annotations

import itertools

import pytest

from gitops_kit.engine import validate
from gitops_kit.model import DocRef, Document
from gitops_kit.rulebase import Context, load_rule

CONTEXT = Context(root=".", targets={}, options={}, services={})


def _doc(data: dict) -> Document:
    return Document(data, DocRef("/r/f.yaml", "f.yaml"))


def _fleet_repo(tmp_path, model: str) -> None:
    (tmp_path / ".gitops-kit.yaml").write_text(f"fleet:\n  clusters:\n    - {{name: gpu-001, gpu-model: {model}}}\n")
    folder = tmp_path / "clusters" / "gpu-001"
    folder.mkdir(parents=True)
    (folder / "plain.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  k: v\n")


def test_a_plain_config_map_in_a_cluster_with_an_unknown_gpu_model_is_still_reported(tmp_path):
    _fleet_repo(tmp_path, "Z9000")
    report = validate([str(tmp_path)], rules=["gpu-mig-config"])
    assert [(f.rule_id, f.file) for f in report.findings] == [("gpu-mig-config", "clusters/gpu-001/plain.yaml")]
    assert "unknown GPU model 'Z9000'" in report.findings[0].message


def test_a_plain_config_map_in_a_cluster_with_a_known_gpu_model_is_not(tmp_path):
    _fleet_repo(tmp_path, "A100-40GB")
    assert validate([str(tmp_path)], rules=["gpu-mig-config"]).findings == []


METADATA = [None, 3, {}, {"name": 1, "namespace": ["x"], "annotations": "a"}, {"name": "n", "namespace": "ns"},
            {"annotations": {"oauth2-refresh-controller.cern.ch/is-token": True}},
            {"name": "t", "annotations": {"oauth2-refresh-controller.cern.ch/is-token": "TRUE"}}]


@pytest.mark.parametrize(("kind", "metadata"), list(itertools.product(["Secret", "ConfigMap"], METADATA)))
def test_oauth2_reads_secrets_and_config_maps_as_the_document_accessors_do(kind, metadata):
    from gitops_kit.rules.oauth2_refresh_injection import IS_TOKEN, NamedRecord

    data = {"apiVersion": "v1", "kind": kind}
    if metadata is not None:
        data["metadata"] = metadata
    doc = _doc(data)
    expected = NamedRecord(doc.kind, doc.namespace, doc.name, str(doc.annotations.get(IS_TOKEN, "")).lower() == "true")
    assert load_rule("oauth2-refresh-injection").collect(doc, CONTEXT) == expected


def _deployment(**container) -> Document:
    return _doc({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                 "spec": {"template": {"spec": {"containers": [{"name": "ok", "resources": {"limits": {"memory": "1Gi"}}}, container]}}}})


@pytest.mark.parametrize(
    ("container", "memory", "privileged"),
    [
        ({"name": "b", "resources": {"limits": {"memory": "64Mi"}}}, 0, 0),
        ({"name": "b", "resources": {"limits": {"memory": ""}}}, 1, 0),
        ({"name": "b", "resources": {"limits": None}}, 1, 0),
        ({"name": "b", "securityContext": {"privileged": True}, "resources": {"limits": {"memory": "1Mi"}}}, 0, 1),
        ({"name": "b", "securityContext": {"privileged": "true"}, "resources": {"limits": {"memory": "1Mi"}}}, 0, 0),
    ],
)
def test_workload_shortcuts_report_exactly_the_containers_the_walk_reports(container, memory, privileged):
    doc = _deployment(**container)
    assert len(list(load_rule("container-memory-limit").check(doc, CONTEXT))) == memory
    assert len(list(load_rule("privileged-needs-user-namespace").check(doc, CONTEXT))) == privileged


def test_the_one_argument_memo_recomputes_for_another_document_or_new_data():
    from gitops_kit.rules._memo import per_document

    calls = []

    @per_document
    def kind_of(doc):
        calls.append(doc)
        return doc.kind

    first, second = _doc({"kind": "A"}), _doc({"kind": "B"})
    assert [kind_of(first), kind_of(first), kind_of(second), kind_of(first)] == ["A", "A", "B", "A"]
    first.data = {"kind": "C"}  # a rule never does this, but a changed document must not get a stale answer
    assert kind_of(first) == "C" and len(calls) == 4
    assert kind_of.__name__ == "kind_of"
