"""The kubeconform wrapper: parsing real recorded outputs, and the binary gate."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from gitops_kit.errors import ToolError
from gitops_kit.kubeconform import KubeconformService, parse_output, pointer_to_path
from gitops_kit.schemas import SchemaSettings
from gitops_kit.tools import ToolMissing

from ..conftest import FIXTURES, run_cli

RECORDED = FIXTURES / "kubeconform"


def _by_file(name: str) -> dict[tuple[str, str], object]:
    return {(Path(r.filename).name, r.kind): r for r in parse_output((RECORDED / name).read_text())}


def test_v07_message_segments_give_leaf_paths_not_the_ref_boundary():
    results = _by_file("v0.7.0-basic.json")
    deployment = results[("invalid.yaml", "Deployment")]
    assert deployment.status == "statusInvalid"
    assert [(i.path, i.message) for i in deployment.issues] == [
        (("spec", "template", "spec", "containers", 0, "imagePullPolicyy"),
         "spec.template.spec.containers[0]: additional properties 'imagePullPolicyy' not allowed"),
        (("spec", "replicas"), "spec.replicas: got string, want null or integer"),
    ]
    assert results[("missing-schema.yaml", "Widget")].schema_missing
    syntax = results[("syntax-error.yaml", "")]
    assert syntax.status == "statusError" and not syntax.schema_missing and syntax.issues == ()


def test_v067_wording_is_understood():
    results = _by_file("v0.6.7-defs.json")
    replicas = results[("02-invalid-replicas-type.yaml", "Deployment")]
    assert [(i.path, i.message) for i in replicas.issues] == [
        (("spec", "replicas"), "spec.replicas: expected integer or null, but got string")
    ]
    typo = results[("03-unknown-field.yaml", "Service")]
    assert typo.issues[0].path == ("spec", "typo_field")
    assert results[("05-removed-api-extensions-v1beta1.yaml", "Deployment")].schema_missing


def test_v07_two_errors_in_one_object_are_two_issues():
    results = _by_file("v0.7.0-defs.json")
    kustomization = results[("10-crd-flux-kustomization-invalid.yaml", "Kustomization")]
    assert {i.message for i in kustomization.issues} == {
        "spec: missing property 'prune'",
        "spec: additional properties 'prunee' not allowed",
    }


def test_inlined_schemas_agree_with_defs_schemas():
    defs = {k: tuple(i.path for i in r.issues) for k, r in _by_file("v0.7.0-defs.json").items()}
    inlined = {k: tuple(i.path for i in r.issues) for k, r in _by_file("v0.7.0-inlined.json").items()}
    assert defs == inlined


def test_pointer_unescapes_and_indexes():
    assert pointer_to_path("/metadata/annotations/a~1b~0c/0") == ("metadata", "annotations", "a/b~c", 0)
    assert pointer_to_path("") == ()


@pytest.mark.parametrize("text", ["not json", '{"summary": {}}'])
def test_unexpected_output_is_a_tool_error(text):
    with pytest.raises(ToolError):
        parse_output(text)


def test_missing_binary_is_exit_2_with_a_hint(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    env = {"PATH": str(tmp_path / "empty-bin"), "GITOPS_KIT_KUBECONFORM": ""}
    if shutil.which("kubeconform"):
        pytest.skip("a real kubeconform is installed")
    result = run_cli("validate", "--schema-engine", "kubeconform", str(tmp_path), env=env)
    assert result.returncode == 2, result.stderr
    assert "kubeconform" in result.stderr and "Traceback" not in result.stderr


def test_too_old_binary_is_refused(tmp_path, monkeypatch):
    # the version gate only: a program that answers like kubeconform v0.5.0 does to `-v`
    old = tmp_path / "kubeconform"
    old.write_text("#!/bin/sh\necho v0.5.0\n")
    old.chmod(old.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("GITOPS_KIT_KUBECONFORM", str(old))
    service = KubeconformService(SchemaSettings())
    with pytest.raises(ToolError, match="too old"):
        service.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, "v1", "ConfigMap")


def test_missing_binary_raises_tool_missing(monkeypatch, tmp_path):
    if shutil.which("kubeconform"):
        pytest.skip("a real kubeconform is installed")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("GITOPS_KIT_KUBECONFORM", raising=False)
    with pytest.raises(ToolMissing, match="kubeconform"):
        KubeconformService(SchemaSettings()).binary()


@pytest.mark.skipif(shutil.which("kubeconform") is None, reason="kubeconform is not installed here")
def test_real_kubeconform_reports_like_the_builtin_engine(tmp_path):
    service = KubeconformService(SchemaSettings(kubernetes="1.33"))
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
           "spec": {"replicas": "three", "selector": {}, "template": {}}}
    issues = service.validate(bad, "apps/v1", "Deployment")
    assert issues and issues[0].path[:2] == ("spec", "replicas")
    assert service.validator("example.org/v1", "Widget") is None
    assert os.environ.get("GITOPS_KIT_KUBECONFORM") is None
