"""Schema validation end to end through the real CLI: done-when cases, flags and configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..conftest import FIXTURES, run_cli

RULES = FIXTURES / "rules"


def repo(tmp_path: Path, *cases: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    for case in cases:
        if case.is_dir():
            shutil.copytree(case, root / case.name)
        else:
            shutil.copy2(case, root / case.name)
    return root


def findings(root: Path, *args: str) -> tuple[int, list[dict]]:
    result = run_cli("validate", "-f", "json", *args, str(root))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)["findings"]


def test_helmrelease_typo_and_application_without_destination_are_located_errors(tmp_path):
    root = repo(tmp_path, RULES / "schema-validation" / "fail" / "flux-argo.yaml")
    code, found = findings(root)
    schema = [(f["line"], f["severity"], f["object"]) for f in found if f["rule"] == "schema-validation"]
    assert code == 1
    assert schema == [(15, "error", "HelmRelease/flux-system/podinfo"), (23, "error", "Application/argocd/guestbook")]


def test_repository_crd_validates_a_custom_resource_loaded_before_it(tmp_path):
    root = repo(tmp_path, RULES / "schema-validation" / "fail" / "repo-crd")
    _, found = findings(root)
    assert {(f["file"], f["line"]) for f in found if f["rule"] == "schema-validation"} == {
        ("repo-crd/a-widget.yaml", 7), ("repo-crd/a-widget.yaml", 8)
    }
    assert [f for f in found if f["rule"] == "schema-missing"] == []


def test_strict_schemas_turns_missing_schemas_into_errors(tmp_path):
    root = repo(tmp_path, RULES / "schema-missing" / "fail" / "unknown.yaml")
    code, found = findings(root)
    assert {f["severity"] for f in found if f["rule"] == "schema-missing"} == {"warning"}
    code, found = findings(root, "--strict-schemas")
    assert code == 1 and {f["severity"] for f in found if f["rule"] == "schema-missing"} == {"error"}


def test_schema_location_flag_and_config_section(tmp_path):
    root = repo(tmp_path, RULES / "schema-missing" / "fail" / "unknown.yaml")
    schema_dir = root / "my-schemas" / "example.org"
    schema_dir.mkdir(parents=True)
    (schema_dir / "widget_v1.json").write_text(json.dumps(
        {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "string"}}}}}))
    template = "my-schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
    _, found = findings(root, "--schema-location", template)
    assert [(f["rule"], f["line"]) for f in found if f["rule"].startswith("schema")] == [
        ("schema-validation", 5), ("schema-missing", 7)
    ]
    (root / ".gitops-kit.yaml").write_text(f"schemas:\n  locations: ['{template}']\n  strict-schemas: true\n")
    code, found = findings(root)
    assert code == 1 and ("schema-missing", "error") in {(f["rule"], f["severity"]) for f in found}


def test_bad_schema_settings_are_exit_2_not_tracebacks(tmp_path):
    root = repo(tmp_path, RULES / "schema-validation" / "pass" / "valid.yaml")
    (root / ".gitops-kit.yaml").write_text("schemas:\n  locations: ['https://example.org/{{.ResourceKind}}.json']\n")
    result = run_cli("validate", str(root))
    assert result.returncode == 2 and "only local folders" in result.stderr and "Traceback" not in result.stderr
    (root / ".gitops-kit.yaml").write_text("schemas:\n  stritc: true\n")
    result = run_cli("validate", str(root))
    assert result.returncode == 2 and "schemas.stritc" in result.stderr


def test_kubernetes_version_flag_reaches_the_schemas(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "dc.yaml").write_text("apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: gpu}\nspec: {}\n")
    _, old = findings(root, "--kubernetes-version", "1.33")
    _, new = findings(root, "--kubernetes-version", "1.34")
    assert [f["rule"] for f in old if f["rule"].startswith("schema")] == ["schema-missing"]
    assert [f for f in new if f["rule"].startswith("schema")] == []


def test_unknown_field_in_a_base_is_reported_once_naming_every_overlay(tmp_path):
    import pytest

    if shutil.which("kubectl") is None and shutil.which("kustomize") is None:
        pytest.skip("no kustomize here")
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "base").mkdir()
    shutil.copy2(RULES / "schema-validation" / "fail" / "deployment.yaml", root / "base" / "deploy.yaml")
    (root / "base" / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    for name in ("a", "b", "c"):
        (root / "overlays" / name).mkdir(parents=True)
        (root / "overlays" / name / "kustomization.yaml").write_text(f"resources: [../../base]\nnamePrefix: {name}-\n")
    _, found = findings(root)
    typo = [f for f in found if f["rule"] == "schema-validation" and "imagePullPolice" in f["message"]]
    assert [(f["file"], f["line"], f["overlays"]) for f in typo] == [
        ("base/deploy.yaml", 15, ["overlays/a", "overlays/b", "overlays/c"])
    ]


def test_a_broken_user_schema_is_a_located_finding_and_the_run_goes_on(tmp_path):
    root = repo(tmp_path, RULES / "schema-missing" / "fail" / "unknown.yaml", RULES / "schema-validation" / "fail" / "deployment.yaml")
    schema_dir = root / "my-schemas" / "example.org"
    schema_dir.mkdir(parents=True)
    (schema_dir / "widget_v1.json").write_text('{"type": 12}')
    _, found = findings(root, "--schema-location", "my-schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json")
    broken = [f for f in found if f["rule"] == "schema-validation" and f["file"] == "unknown.yaml"]
    assert len(broken) == 1 and "invalid JSON schema" in broken[0]["message"] and broken[0]["line"] == 2
    assert any(f["file"] == "deployment.yaml" and f["rule"] == "schema-validation" for f in found)
