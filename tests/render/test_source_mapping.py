"""Findings on rendered objects point at what the user edits: the base line, or the patch that set the field."""

from __future__ import annotations

import shutil

import pytest

from gitops_kit.engine import validate

from .test_render import write

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no kubectl or kustomize installed"
)

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: sidecar
          image: registry.cern.ch/sidecar:1.0.0
        - name: web
          image: registry.cern.ch/web:1.2.3
          imagePullPolicy: IfNotPresent
"""


def fleet(tmp_path, base=DEPLOYMENT, prod_patch=None):
    files = {"apps/base/kustomization.yaml": "resources:\n  - deployment.yaml\n", "apps/base/deployment.yaml": base}
    for name in ("dev", "staging", "prod"):
        files[f"apps/{name}/kustomization.yaml"] = f"namespace: {name}\nnameSuffix: -{name}\nresources:\n  - ../base\n"
    if prod_patch:
        files["apps/prod/kustomization.yaml"] += "patches:\n  - path: patch.yaml\n"
        files["apps/prod/patch.yaml"] = prod_patch
    return write(tmp_path, files)


def test_unknown_field_in_base_is_one_schema_finding_at_the_base_line_naming_three_overlays(tmp_path):
    repo = fleet(tmp_path, base=DEPLOYMENT.replace("  replicas: 1\n", "  replicas: 1\n  replicaz: 2\n"))
    report = validate([repo], rules=["schema-validation"])
    findings = [(f.file, f.line, f.overlays) for f in report.findings]
    assert findings == [("apps/base/deployment.yaml", 7, ("apps/dev", "apps/prod", "apps/staging"))], report.findings


def test_field_set_by_a_strategic_merge_patch_points_at_the_patch(tmp_path):
    patch = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          imagePullPolcy: Always
"""
    repo = fleet(tmp_path, prod_patch=patch)
    report = validate([repo], rules=["schema-validation"])
    located = [(f.file, f.line, f.overlays) for f in report.findings]
    # the rendered container is index 1, the patch's is index 0: the merge key (name) decides
    assert located == [("apps/prod/patch.yaml", 10, ("apps/prod",))], report.findings
