"""Overlays that only gather files are built without kustomize, to exactly what kustomize builds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gitops_kit import render
from gitops_kit.config import load_config
from gitops_kit.discover import discover
from gitops_kit.engine import validate
from gitops_kit.loader import parse_chunk, split_documents
from gitops_kit.render.concat import gathered
from gitops_kit.render.graph import build_graph

from .test_render import write

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  ports:\n    - port: 80\n"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\ndata:\n  mode: fast\n"
# no memory limit and a privileged container: findings the workload rules locate in the base's file
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  replicas: two
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          securityContext:
            privileged: true
"""


def objects(text: str) -> list[str]:
    """Every object of a YAML stream, as canonical JSON, sorted (kustomize orders them by kind)."""
    found = []
    for chunk in split_documents(text):
        data, problems = parse_chunk(chunk)
        assert not problems
        if data is not None:
            found.append(json.dumps(data, sort_keys=True))
    return sorted(found)


def kubectl_build(repo: Path, root: str) -> subprocess.CompletedProcess:
    return subprocess.run([KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(repo / root)],
                          capture_output=True, text=True, check=False)


def gather_repo(root: Path, extra: dict[str, str] | None = None) -> Path:
    files = {
        "bases/web/kustomization.yaml": "resources:\n  - deployment.yaml\n  - service.yaml\n",
        "bases/web/deployment.yaml": DEPLOYMENT,
        "bases/web/service.yaml": "# the web front end\n" + SERVICE,
        "bases/settings/kustomization.yml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - settings.yaml\n",
        "bases/settings/settings.yaml": "---\n" + CONFIGMAP + "---\n# trailing comment only\n",
        "clusters/one/kustomization.yaml": "resources:\n  - ../../bases/web\n  - ../../bases/settings\n  - extra.yaml\n  - notes.yaml\n",
        "clusters/one/notes.yaml": "# kept for later\n\n  # indented\n",
        "clusters/one/extra.yaml": CONFIGMAP.replace("settings", "extra") + "---\n" + CONFIGMAP.replace("settings", "more"),
    }
    files.update(extra or {})
    return write(root, files)


@needs_kubectl
def test_gathered_overlays_hold_the_objects_kubectl_builds(tmp_path):
    repo = gather_repo(tmp_path / "repo")
    graph = build_graph(repo, ["clusters/one"])
    output = gathered(repo, graph, "clusters/one")
    assert output is not None
    built = kubectl_build(repo, "clusters/one")
    assert built.returncode == 0, built.stderr
    assert objects(output.decode()) == objects(built.stdout)
    assert len(objects(built.stdout)) == 5


@needs_kubectl
@pytest.mark.parametrize("example", ["flux-fleet", "argocd-fleet"])
def test_every_gathered_overlay_of_the_examples_matches_kubectl(example):
    repo = EXAMPLES / example
    config = load_config(repo)
    roots = discover([str(repo)], config).kustomization_roots
    graph = build_graph(repo, roots)
    compared = 0
    for root in graph.top_level:
        output = gathered(repo, graph, root)
        if output is None:
            continue
        built = kubectl_build(repo, root)
        assert built.returncode == 0, (root, built.stderr)
        assert objects(output.decode()) == objects(built.stdout), root
        compared += bool(output)
    if example == "flux-fleet":
        assert compared >= 2  # each cluster's infrastructure/configs overlay


@needs_kubectl
def test_a_validation_reports_the_same_findings_whether_gathered_or_built(tmp_path, monkeypatch):
    repo = gather_repo(tmp_path / "repo")
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    started = []
    real_run = render.tools.run
    monkeypatch.setattr(render.tools, "run", lambda args, **kw: started.append(args) or real_run(args, **kw))
    gathered_report = validate([repo])
    assert started == []  # no kustomize process
    monkeypatch.setattr(render, "gathered", lambda *args: None)
    built_report = validate([repo])
    assert len(started) == 1
    summary = [(f.rule_id, f.file, f.line, f.column, f.message, f.object, f.overlays) for f in gathered_report.findings]
    assert summary == [(f.rule_id, f.file, f.line, f.column, f.message, f.object, f.overlays) for f in built_report.findings]
    assert {f.file for f in gathered_report.findings} >= {"bases/web/deployment.yaml"}
    assert gathered_report.overlays == built_report.overlays == 1


REFUSED = {
    "another field": {"clusters/one/kustomization.yaml": "namespace: apps\nresources:\n  - extra.yaml\n"},
    "a URL": {"clusters/one/kustomization.yaml": "resources:\n  - https://example.com/app.yaml\n"},
    "a folder without a kustomization": {"clusters/one/kustomization.yaml": "resources:\n  - ../../bases/plain\n",
                                         "bases/plain/a.yaml": CONFIGMAP},
    "a missing file": {"clusters/one/kustomization.yaml": "resources:\n  - nowhere.yaml\n"},
    "a List": {"clusters/one/extra.yaml": "apiVersion: v1\nkind: List\nitems: []\nmetadata:\n  name: x\n"},
    "a document without a name": {"clusters/one/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"},
    "a tab before a comment": {"clusters/one/extra.yaml": CONFIGMAP.replace("settings", "extra") + "---\n\t# x\n"},
    "a null document": {"clusters/one/extra.yaml": CONFIGMAP + "---\n~\n"},
    "a Kustomization as a resource": {"clusters/one/extra.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: k\n"},
    "two objects with one identity": {"clusters/one/extra.yaml": CONFIGMAP},
    "an anchor and an alias": {"clusters/one/extra.yaml": CONFIGMAP.replace("mode: fast", "a: &x fast\n  b: *x")},
    "a tag": {"clusters/one/extra.yaml": CONFIGMAP.replace("mode: fast", "mode: !!str fast")},
    "a merge key": {"clusters/one/extra.yaml": CONFIGMAP.replace("data:\n", "data:\n  <<: {x: y}\n")},
    "a directive": {"clusters/one/extra.yaml": "%YAML 1.2\n---\n" + CONFIGMAP.replace("settings", "extra")},
    "a document end marker": {"clusters/one/extra.yaml": CONFIGMAP.replace("settings", "extra") + "...\n"},
    "a byte order mark": {"clusters/one/extra.yaml": "\ufeff" + CONFIGMAP.replace("settings", "extra")},
    "a control character in a comment": {"clusters/one/notes.yaml": "# bell \x07\n"},
    "carriage returns": {"clusters/one/extra.yaml": CONFIGMAP.replace("settings", "extra").replace("\n", "\r\n")},
    "a duplicate key": {"clusters/one/extra.yaml": CONFIGMAP.replace("settings", "extra") + "  mode: slow\n"},
    "a base reached twice": {"clusters/one/kustomization.yaml": "resources:\n  - ../../bases/web\n  - ../../bases/web\n"},
    "two kustomization files": {"clusters/one/kustomization.yml": "resources: []\n"},
    "a bases field": {"clusters/one/kustomization.yaml": "bases:\n  - ../../bases/web\nresources: []\n"},
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_kustomize_might_read_differently_is_left_to_it(tmp_path, case):
    repo = gather_repo(tmp_path / "repo", REFUSED[case])
    graph = build_graph(repo, ["clusters/one"])
    assert gathered(repo, graph, "clusters/one") is None


@needs_kubectl
def test_an_overlay_kustomize_refuses_is_reported_with_its_message(tmp_path, monkeypatch):
    repo = gather_repo(tmp_path / "repo", REFUSED["two objects with one identity"])
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    report = validate([repo])
    builds = [f for f in report.findings if f.rule_id == "kustomize-build"]
    assert len(builds) == 1 and "already registered id" in builds[0].message
