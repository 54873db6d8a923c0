"""`gitops-kit diff --base REF`: real git (GitPython), real `kubectl kustomize` on both sides, the real CLI."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from gitops_kit.diff import diff_objects, render_markdown, diff_overlay
from tests.conftest import CANARY, commit_all, run_cli

ENC_OLD = "ENC[AES256_GCM,data:Zm9vYmFyYmF6cXV4,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFn,type:str]"
ENC_NEW = "ENC[AES256_GCM,data:cXV1eHF1dXhxdXV4,iv:bmV3bmV3bmV3bmV3bmV3bg==,tag:bmV3dGFnbmV3dGFn,type:str]"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _deployment(replicas: int) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - {{name: web, image: "nginx:1.27"}}
        - {{name: sidecar, image: "envoy:1.30"}}
"""


def _secrets(password: str, token: str) -> str:
    return f"""\
apiVersion: v1
kind: Secret
metadata: {{name: plain, namespace: web}}
stringData: {{password: {password}}}
data: {{encoded: {base64.b64encode(password.encode()).decode()}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: sealed, namespace: web}}
stringData: {{token: "{token}"}}
sops:
  mac: "{token}"
  encrypted_regex: ^(data|stringData)$
  version: 3.10.2
"""


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("diff") / "repo"
    _write(root, {
        "base/kustomization.yaml": "resources: [deployment.yaml, secrets.yaml, old.yaml]\n",
        "base/deployment.yaml": _deployment(2),
        "base/secrets.yaml": _secrets(CANARY, ENC_OLD),
        "base/old.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old, namespace: web}\ndata: {a: b}\n",
        "prod/kustomization.yaml": "resources: [../base]\n",
        "staging/kustomization.yaml": "resources: [../base]\nnamePrefix: s-\n",
        "gone/kustomization.yaml": "resources: [cm.yaml]\n",
        "gone/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone, namespace: web}\n",
    })
    commit_all(root)
    return root


@pytest.fixture
def changed(committed, tmp_path) -> Path:
    root = Path(shutil.copytree(committed, tmp_path / "repo", symlinks=True))
    _write(root, {
        "base/deployment.yaml": _deployment(3),
        "base/secrets.yaml": _secrets(CANARY + "-rotated", ENC_NEW),
        "base/kustomization.yaml": "resources: [deployment.yaml, secrets.yaml, new.yaml]\n",
        "base/new.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: web}\n",
        "added/kustomization.yaml": "resources: [cm.yaml]\n",
        "added/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: added, namespace: web}\n",
    })
    (root / "base/old.yaml").unlink()
    shutil.rmtree(root / "gone")
    return root


def _secret_free(text: str) -> None:
    for forbidden in (CANARY, base64.b64encode(CANARY.encode()).decode()[:16], "Zm9vYmFyYmF6cXV4", "cXV1eHF1dXhxdXV4"):
        assert forbidden not in text


def test_text_diff_shows_replicas_masks_secrets_and_lists_added_removed(changed):
    result = run_cli("diff", "--base", "HEAD", cwd=changed)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    _secret_free(out + result.stderr)
    assert "overlay prod: 1 added, 1 removed, 3 changed" in out
    assert "  ~ Deployment.apps web/web\n      spec.replicas: 2 → 3\n" in out
    assert "      stringData.password: changed (value hidden)" in out
    assert "      data.encoded: changed (value hidden)" in out
    assert "      stringData.token: changed (value hidden)" in out
    assert "      sops.mac: changed (value hidden)" in out
    assert "  + ConfigMap web/new" in out and "  - ConfigMap web/old" in out
    assert "~ Deployment.apps web/s-web" in out  # staging renders the same base with its prefix
    assert "overlay added: new overlay: 1 added" in out
    assert "overlay gone: overlay removed: 1 removed" in out
    assert out.splitlines()[-1] == "4 overlays compared with HEAD, 4 with differences — objects: 3 added, 3 removed, 6 changed"


def test_markdown_and_json_are_secret_free_and_structured(changed):
    markdown = run_cli("diff", "--base", "HEAD", "--format", "markdown", cwd=changed)
    assert markdown.returncode == 0
    _secret_free(markdown.stdout)
    assert "<details><summary><code>prod</code>: 1 added, 1 removed, 3 changed</summary>" in markdown.stdout
    assert markdown.stdout.count("```diff") == markdown.stdout.count("</details>") == 4
    payload = json.loads(run_cli("diff", "--base", "HEAD", "--format", "json", cwd=changed).stdout)
    _secret_free(json.dumps(payload))
    prod = next(o for o in payload["overlays"] if o["overlay"] == "prod")
    deployment = next(o for o in prod["objects"] if o["object"] == "Deployment.apps web/web")
    assert deployment["fields"] == [{"path": "spec.replicas", "change": "changed", "masked": False, "old": 2, "new": 3}]
    secret = next(o for o in prod["objects"] if o["object"] == "Secret web/plain")
    assert all(f["masked"] and "old" not in f and "new" not in f for f in secret["fields"])


def test_paths_restrict_and_no_changes_means_no_differences(changed, committed):
    only = run_cli("diff", "--base", "HEAD", "added", cwd=changed)
    assert only.returncode == 0
    assert only.stdout.splitlines()[-1].startswith("1 overlay compared with HEAD, 1 with differences")
    none = run_cli("diff", "--base", "HEAD", cwd=committed)
    assert none.returncode == 0
    assert none.stdout.splitlines()[-1] == "0 overlays compared with HEAD, 0 with differences — objects: 0 added, 0 removed, 0 changed"


def test_errors_exit_2(changed, tmp_path):
    (changed / "prod/kustomization.yaml").write_text("resources: [../base, missing.yaml]\n", encoding="utf-8")
    broken = run_cli("diff", "--base", "HEAD", cwd=changed)
    assert broken.returncode == 2
    assert "overlay prod: could not be rendered" in broken.stdout and "in the work tree: kustomize build failed" in broken.stdout
    assert "~ Deployment.apps web/s-web" in broken.stdout  # the other overlays are still compared
    unknown = run_cli("diff", "--base", "no-such-ref", cwd=changed)
    assert unknown.returncode == 2 and "unknown git revision" in unknown.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = run_cli("diff", "--base", "HEAD", cwd=plain)
    assert outside.returncode == 2 and "not inside a git repository" in outside.stderr
    assert "Traceback" not in broken.stderr + unknown.stderr + outside.stderr


def test_object_matching_named_lists_and_api_version_bumps():
    old = [{"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}}]
    new = [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"containers": [{"name": "b", "image": "y:2"}, {"name": "a", "image": "x:1"}]}}]
    [changed] = diff_objects(old, new)
    assert [f.text() for f in changed.fields] == [
        'apiVersion: "autoscaling/v2beta2" → "autoscaling/v2"',
        'spec.containers[name=b].image: "y:1" → "y:2"',
    ]


def test_encrypted_values_are_masked_outside_secrets_and_markdown_cannot_be_broken():
    old = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": ENC_OLD, "t": "a"}}]
    new = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": ENC_NEW, "t": "```<b>"}}]
    overlay = diff_overlay("o", old, new)
    text = render_markdown([overlay], "main")
    assert "data.k: changed (value hidden)" in text and ENC_NEW not in text
    assert text.count("```") == 2  # the fence opened and closed once: a value cannot end it
