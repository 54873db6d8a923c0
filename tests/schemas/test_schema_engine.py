"""The built-in schema engine: bundle, messages, versions, strictness, user locations, repository CRDs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_kit.resources import schemas_path
from gitops_kit.schemas import (
    SUPPORTED_VERSIONS,
    SchemaError,
    SchemaService,
    SchemaSettings,
    crd_schemas,
    expand_location,
    minor_version,
)
from gitops_kit.schemas import Validator

from ..conftest import ROOT, SHARED

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}},
    },
}


def messages(service: SchemaService, data: dict) -> list[str]:
    issues = service.validate(data, data["apiVersion"], data["kind"])
    assert issues is not None
    return [issue.message for issue in issues]


def test_every_supported_version_is_bundled_and_has_core_kinds():
    assert SUPPORTED_VERSIONS == tuple(f"1.{m}" for m in range(28, 38))
    for version in SUPPORTED_VERSIONS:
        service = SchemaService(SchemaSettings(kubernetes=version))
        assert messages(service, DEPLOYMENT) == [], version


def test_readable_messages_with_paths_and_did_you_mean():
    bad = json.loads(json.dumps(DEPLOYMENT))
    bad["spec"]["replicas"] = "three"
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    issues = SchemaService().validate(bad, "apps/v1", "Deployment")
    assert [(i.path, i.message) for i in issues] == [
        (("spec", "replicas"), 'spec.replicas: "three" is not of type integer'),
        (("spec", "template", "spec", "containers", 0, "imagePullPolice"),
         "spec.template.spec.containers[0]: unknown field 'imagePullPolice' (did you mean 'imagePullPolicy'?)"),
    ]


def test_strict_by_default_and_relaxed_on_request():
    extra = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "typoField": 1}}
    assert messages(SchemaService(), extra) == ["spec: unknown field 'typoField'"]
    assert messages(SchemaService(SchemaSettings(strict=False)), extra) == []


def test_kubernetes_version_selects_the_schema():
    # resource.k8s.io/v1 DeviceClass is GA from Kubernetes 1.34 only
    device_class = {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu"}, "spec": {}}
    assert SchemaService(SchemaSettings(kubernetes="1.33")).validator("resource.k8s.io/v1", "DeviceClass") is None
    assert messages(SchemaService(SchemaSettings(kubernetes="1.34")), device_class) == []


def test_versions_outside_the_bundle_use_the_nearest_one():
    assert minor_version("1.24") == "1.28" and minor_version("v1.33.4") == "1.33" and minor_version("1.40") == "1.37"
    with pytest.raises(SchemaError):
        minor_version("two")


def test_sops_metadata_and_enc_values_are_not_errors():
    secret = {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"password": "ENC[AES256_GCM,data:q2Vz0mA=,iv:abc=,tag:def=,type:str]"},
        "sops": {"age": [], "version": "3.9.4"},
    }
    assert messages(SchemaService(), secret) == []
    assert "sops" in secret  # the caller's document is not modified


def test_bundled_crds_flux_and_argo():
    service = SchemaService()
    release = {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "p"},
               "spec": {"interval": "5m", "chart": {"spec": {"chart": "p", "sourceRef": {"kind": "HelmRepository", "name": "p"}}},
                        "valuez": {}}}
    assert messages(service, release) == ["spec: unknown field 'valuez' (did you mean 'values'?)"]
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
           "spec": {"project": "default", "source": {"repoURL": "https://example.org/r.git"}}}
    assert messages(service, app) == ["spec: required field 'destination' is missing"]


def test_user_location_template_wins_and_is_meta_validated(tmp_path):
    folder = tmp_path / "extra" / "example.org"
    folder.mkdir(parents=True)
    (folder / "widget_v1.json").write_text(json.dumps(
        {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}))
    settings = SchemaSettings(locations=("extra/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",), root=str(tmp_path))
    widget = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "big"}}
    assert messages(SchemaService(settings), widget) == ['spec.size: "big" is not of type integer']

    (folder / "gadget_v1.json").write_text(json.dumps({"type": 12}))
    with pytest.raises(SchemaError, match="invalid JSON schema"):
        SchemaService(settings).validator("example.org/v1", "Gadget")


def test_location_templates_match_kubeconform():
    template = "s/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json"
    assert expand_location(template, "1.33", True, "apps/v1", "Deployment") == "s/v1.33.0-standalone-strict/deployment-apps-v1.json"
    assert expand_location("s", "1.33", False, "v1", "Service") == "s/v1.33.0-standalone/service-v1.json"
    with pytest.raises(SchemaError, match="unknown template variable"):
        expand_location("{{.Nope}}", "1.33", True, "v1", "Service")


@pytest.mark.parametrize("location", ["https://raw.githubusercontent.com/x/{{.ResourceKind}}.json", "http://h/x"])
def test_remote_locations_are_refused(location):
    with pytest.raises(SchemaError, match="only local"):
        SchemaSettings.from_config({"locations": [location]}, {}, ".")


def test_crd_extensions_int_or_string_preserve_unknown_embedded():
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "spec": {"group": "example.org", "names": {"kind": "Widget"}, "versions": [
            {"name": "v1", "served": True, "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                "type": "object", "properties": {
                    "port": {"x-kubernetes-int-or-string": True},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "inner": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {"data": {"type": "object"}}},
                    "note": {"type": "string", "nullable": True},
                }}}}}},
            {"name": "v0", "served": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
        ]},
    }
    schemas = crd_schemas(crd)
    assert list(schemas) == [("example.org/v1", "Widget")]
    validator = Validator.build(schemas[("example.org/v1", "Widget")])
    good = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"port": "http", "free": {"x": [1]}, "inner": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}, "data": {}}, "note": None}}
    assert validator.issues(good) == []
    bad = {**good, "spec": {**good["spec"], "port": 1.5, "colour": "red"}}
    assert [(i.path, i.message) for i in validator.issues(bad)] == [
        (("spec", "colour"), "spec: unknown field 'colour'"),
        (("spec", "port"), "spec.port: 1.5 is not valid under any of the schemas listed in the 'anyOf' keyword"),
    ]


def test_bundle_footprint_is_small():
    total = sum(p.stat().st_size for p in schemas_path().rglob("*") if p.is_file())
    assert total <= 40 * 1024 * 1024
    assert (schemas_path("crds", "LICENSE")).is_file()


@pytest.mark.skipif(not (SHARED / "crd-schemas").is_dir(), reason="../shared is not beside this checkout")
def test_build_script_reproduces_the_crd_bundle(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_schemas.py"), "--kubernetes-validate", str(tmp_path / "none"),
         "--crds", str(SHARED / "crd-schemas"), "--out", str(tmp_path / "out")],
        check=True, capture_output=True,
    )
    for built in (tmp_path / "out" / "crds").iterdir():
        assert built.read_bytes() == schemas_path("crds", built.name).read_bytes(), built.name


def test_importing_the_engine_loads_no_schema_machinery():
    code = "import sys, gitops_kit.engine, gitops_kit.schemas; print('jsonschema_rs' in sys.modules, 'jsonschema' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
