"""A finding on a value an overlay patch sets points at the patch, also when Flux substitution ran."""

from __future__ import annotations

import shutil

import pytest

from gitops_kit import validate
from tests.conftest import ROOT


@pytest.mark.skipif(shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no renderer")
def test_runner_executor_set_by_a_cluster_patch_is_reported_in_the_patch(tmp_path):
    fleet = tmp_path / "fleet"
    shutil.copytree(ROOT / "examples" / "flux-fleet", fleet)
    patch = fleet / "infrastructure" / "controllers" / "cilium-001" / "runners-values.yaml"
    text = patch.read_text(encoding="utf-8")
    assert "[runners.kubernetes]" in text
    patch.write_text(text.replace("[runners.kubernetes]", 'executor = "docker"\n          [runners.kubernetes]', 1), encoding="utf-8")
    findings = [f for f in validate([fleet]).findings if f.rule_id == "gitlab-runner-values"]
    assert findings, "the docker executor must be reported"
    assert {f.file for f in findings} == {"infrastructure/controllers/cilium-001/runners-values.yaml"}
    line = next(i for i, l in enumerate(patch.read_text(encoding="utf-8").splitlines(), 1) if 'executor = "docker"' in l)
    assert any(f.line == line for f in findings)
