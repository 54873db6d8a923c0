"""The built-in engine agrees with real kubeconform v0.7.0 (recorded) on the same 15 manifests.

Deliberate differences: the SOPS Secret is valid here (its `sops` block is set aside, kubeconform
calls it an unknown field), and a kustomize `Kustomization` file is not an API object to look up.
"""

from __future__ import annotations

import json

from gitops_kit.engine import validate
from gitops_kit.kubeconform import parse_output

from ..conftest import FIXTURES, copy_tree

RECORDED = FIXTURES / "kubeconform"
DIFFERENT_ON_PURPOSE = {"manifests/07-sops-secret.yaml", "manifests/14-kustomization.yaml"}


def test_same_objects_invalid_and_same_kinds_without_schema(tmp_path):
    root = copy_tree(RECORDED / "manifests", tmp_path / "repo" / "manifests").parent
    (root / ".git").mkdir()
    (root / ".gitops-kit.yaml").write_text(json.dumps({"targets": {"kubernetes": "1.33"}}))
    report = validate([root], rules=["schema-validation", "schema-missing"])
    results = [r for r in parse_output((RECORDED / "v0.7.0-defs.json").read_text()) if r.filename not in DIFFERENT_ON_PURPOSE]

    invalid = {(r.filename, r.kind) for r in results if r.status == "statusInvalid"}
    missing = {r.filename for r in results if r.schema_missing}
    ours_invalid = {(f.file, f.object.split("/")[0]) for f in report.findings if f.rule_id == "schema-validation"}
    ours_missing = {f.file for f in report.findings if f.rule_id == "schema-missing"}
    assert ours_invalid == invalid
    assert ours_missing == missing

    by_object = {(r.filename, r.kind): {i.path[:2] for i in r.issues} for r in results if r.status == "statusInvalid"}
    ours: dict[tuple[str, str], set] = {}
    for f in report.findings:
        if f.rule_id == "schema-validation":
            ours.setdefault((f.file, f.object.split("/")[0]), set()).add(f.message.split(":")[0])
    assert ours[("manifests/02-invalid-replicas-type.yaml", "Deployment")] == {"spec.replicas"}
    assert by_object[("manifests/02-invalid-replicas-type.yaml", "Deployment")] == {("spec", "replicas")}
