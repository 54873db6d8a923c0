"""How overlays are handed to kustomize: slowest first, with Go runtime settings for a short batch run."""

from __future__ import annotations

import shutil
import threading

import pytest

from gitops_kit import tools
from gitops_kit.engine import validate
from gitops_kit.render import _slowest_first
from gitops_kit.render.graph import build_graph

from .test_render import CONFIGMAP, write

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no kubectl or kustomize installed"
)

PATCH = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: slow\n"


def fleet(root):
    files = {"base/kustomization.yaml": "resources:\n  - settings.yaml\n", "base/settings.yaml": CONFIGMAP}
    # "a-plain" sorts first but reads one file; "b-wide" reads more; "c-patched" has a strategic-merge patch;
    # each sets a field, so kustomize builds each (an overlay that only lists files is gathered without it)
    files["a-plain/kustomization.yaml"] = "namePrefix: a-\nresources:\n  - settings.yaml\n"
    files["a-plain/settings.yaml"] = CONFIGMAP
    files["b-wide/kustomization.yaml"] = "namePrefix: b-\nresources:\n  - ../base\n  - one.yaml\n  - two.yaml\n"
    files["b-wide/one.yaml"] = CONFIGMAP.replace("settings", "one")
    files["b-wide/two.yaml"] = CONFIGMAP.replace("settings", "two")
    files["c-patched/kustomization.yaml"] = "namePrefix: c-\nresources:\n  - ../base\npatches:\n  - path: patch.yaml\n"
    files["c-patched/patch.yaml"] = PATCH
    return write(root, files)


def record_runs(monkeypatch, wanted, keep=lambda args, kwargs: args) -> list:
    """What `keep` makes of every tools.run call whose argv contains `wanted` (the call still runs)."""
    seen: list = []
    lock = threading.Lock()
    real = tools.run

    def spy(args, **kwargs):
        if wanted in args:
            with lock:  # renders run on worker threads
                seen.append(keep(args, kwargs))
        return real(args, **kwargs)

    monkeypatch.setattr(tools, "run", spy)
    return seen


def test_overlays_with_a_strategic_merge_patch_start_first_then_the_widest(tmp_path):
    repo = fleet(tmp_path / "repo")
    roots = ["a-plain", "b-wide", "c-patched"]
    graph = build_graph(repo, roots)
    assert graph.top_level == roots
    assert _slowest_first(graph, graph.top_level) == ["c-patched", "b-wide", "a-plain"]


def test_start_order_does_not_change_the_report(tmp_path, monkeypatch):
    """Renders finish in any order; the report is the same as when they are started in name order."""
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache-1"))
    repo = fleet(tmp_path / "repo")
    (repo / "c-patched/extra.yaml").write_text(CONFIGMAP.replace("settings", "extra").replace("v1\n", "v1beta1\n", 1))
    first = validate([repo])
    import gitops_kit.render as render

    monkeypatch.setattr(render, "_slowest_first", lambda graph, roots: list(reversed(roots)))
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache-2"))  # render again, in the other order
    second = validate([repo])
    assert first.findings, "the plain v1beta1 ConfigMap is reported"
    assert first.findings == second.findings and first.overlays == second.overlays == 3


def test_kustomize_runs_with_batch_go_settings_unless_the_user_set_them(tmp_path, monkeypatch):
    repo = fleet(tmp_path / "repo")
    seen = record_runs(monkeypatch, "--load-restrictor", lambda args, kwargs: dict(kwargs.get("env") or {}))
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache-1"))
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    validate([repo])
    assert len(seen) == 3
    assert all(env.get("GOGC") == "800" and env.get("GOMEMLIMIT") == "1GiB" for env in seen)

    seen.clear()
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache-2"))
    monkeypatch.setenv("GOGC", "50")
    monkeypatch.setenv("GOMEMLIMIT", "64MiB")
    validate([repo])
    assert len(seen) == 3
    assert all(env.get("GOGC") == "50" and env.get("GOMEMLIMIT") == "64MiB" for env in seen)


@pytest.mark.parametrize(
    "text, skipped",
    [
        ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n", True),
        ("resources: []\n", True),
        ("resources: []\nnamespace: apps\n", False),  # sets something: kustomize decides
        ("resources: []\nkind: Component\n", False),
        ("{}\n", False),  # kustomize's own error: "kustomization.yaml is empty"
    ],
)
def test_an_empty_kustomization_is_not_built(tmp_path, monkeypatch, text, skipped):
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    repo = write(tmp_path / "repo", {"apps/c-001/kustomization.yaml": text})
    real = tools.run
    builds = record_runs(monkeypatch, "--load-restrictor")
    report = validate([repo])
    assert len(builds) == (0 if skipped else 1)
    if skipped:
        # what kustomize itself makes of it: nothing, and no error
        assert not report.findings and report.overlays == 1
        result = real([shutil.which("kubectl") or shutil.which("kustomize"), "kustomize" if shutil.which("kubectl") else "build", str(repo / "apps/c-001")])
        assert result.returncode == 0 and result.stdout.strip() == b""


@pytest.mark.parametrize(
    "placeholder, skipped",
    [
        ("# Placeholder: `flux bootstrap` replaces this file with Flux's own manifests.\n", True),
        ("", True),
        ("---\n# nothing here\n---  # a comment after a marker\n\n  \r\n", True),
        # kustomize's errors, so built: a tab before a comment, a blank line holding a tab, `...` with no
        # document before it, an indented marker, a control character in a comment, a BOM
        ("\t# indented with a tab\n", False),
        ("# placeholder\n\t\n", False),
        ("# c\n...\n", False),
        ("  ---\n", False),
        ("# bell \x07\n", False),
        ("\ufeff# with a byte order mark\n", False),
        # an object: kustomize would output it as it is, so it is gathered (tests/render/test_gathered.py)
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n", "gathered"),
        (None, False),  # missing: kustomize's own error
    ],
)
def test_a_kustomization_of_files_without_documents_is_not_built(tmp_path, monkeypatch, placeholder, skipped):
    """Like `flux-system` before `flux bootstrap`, whose resources are comment-only placeholders (a folder
    of that name with a placeholder missing is `flux-bootstrap-pending` instead, so another name here)."""
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    files = {"clusters/c-001/system/kustomization.yaml": "resources:\n  - components.yaml\n  - sync.yaml\n",
             "clusters/c-001/system/sync.yaml": "# Placeholder\n"}
    if placeholder is not None:
        files["clusters/c-001/system/components.yaml"] = placeholder
    repo = write(tmp_path / "repo", files)
    real = tools.run
    builds = record_runs(monkeypatch, "--load-restrictor")
    report = validate([repo])
    assert len(builds) == (0 if skipped else 1)
    renderer = shutil.which("kubectl") or shutil.which("kustomize")
    result = real([renderer, "kustomize" if shutil.which("kubectl") else "build", str(repo / "clusters/c-001/system")])
    failures = [f.rule_id for f in report.findings if f.rule_id == "kustomize-build"]
    if skipped == "gathered":
        assert result.returncode == 0 and b"kind: Namespace" in result.stdout
        assert not failures and report.documents == 1
    elif skipped:  # what kustomize itself makes of it: nothing, and no error
        assert result.returncode == 0 and result.stdout.strip() == b""
        assert not failures
    else:  # built: the report says what kustomize says
        assert failures == (["kustomize-build"] if result.returncode != 0 else [])


def test_an_empty_kustomization_beside_another_kustomization_file_is_built(tmp_path, monkeypatch):
    """Two kustomization files in one folder is kustomize's error to report (found in review)."""
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    repo = write(tmp_path / "repo", {"o/kustomization.yaml": "resources: []\n", "o/kustomization.yml": "resources: []\n"})
    builds = record_runs(monkeypatch, "--load-restrictor")
    report = validate([repo])
    assert len(builds) == 1 and [f.rule_id for f in report.findings] == ["kustomize-build"]
    # kubectl prints this one in klog's multi-line form (err=<, tab-indented lines, >): its words are kept
    assert "multiple kustomization files" in report.findings[0].message


def test_the_renderer_is_never_asked_for_its_version(tmp_path, monkeypatch):
    """The binary's identity keys the cache: no `version` process on a run with an empty cache (a CI runner's)."""
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    repo = fleet(tmp_path / "repo")
    asked = record_runs(monkeypatch, "version")
    assert validate([repo]).overlays == 3 and asked == []


def test_another_renderer_binary_does_not_get_this_ones_cached_renders(tmp_path, monkeypatch):
    """A kustomize upgraded in place (same path, new size or time) renders again instead of using the cache."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("the stand-in kustomize runs kubectl")
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    script = tmp_path / "bin" / "kustomize"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nshift\nexec {kubectl} kustomize "$@"\n')  # `kustomize build …` → kubectl kustomize …
    script.chmod(0o755)
    repo = fleet(tmp_path / "repo")
    (repo / ".gitops-kit.yaml").write_text(f"render:\n  kustomize: {script}\n")
    builds = record_runs(monkeypatch, "--load-restrictor")
    assert validate([repo]).overlays == 3 and len(builds) == 3
    assert validate([repo]).overlays == 3 and len(builds) == 3  # cached
    import os

    stat = script.stat()
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert validate([repo]).overlays == 3 and len(builds) == 6

