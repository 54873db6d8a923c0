"""Rendering end to end with the real `kubectl kustomize` (skipped when no renderer is installed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_kit import tools
from gitops_kit.config import ConfigError, load_config
from gitops_kit.engine import validate

from ..conftest import CANARY

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no kubectl or kustomize installed"
)

PDB_V1BETA1 = """\
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector:
    matchLabels: {app: web}
"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / ".git").mkdir(exist_ok=True)  # marks the repository root
    return root


def base_and_overlays(root: Path, overlays=("dev", "staging", "prod")) -> Path:
    files = {
        "apps/base/kustomization.yaml": "resources:\n  - pdb.yaml\n  - settings.yaml\n",
        "apps/base/pdb.yaml": PDB_V1BETA1,
        "apps/base/settings.yaml": CONFIGMAP,
    }
    for name in overlays:
        files[f"apps/{name}/kustomization.yaml"] = f"namespace: {name}\nnamePrefix: {name}-\nresources:\n  - ../base\n"
    return write(root, files)


def test_base_finding_reported_once_at_base_line_naming_every_overlay(tmp_path):
    repo = base_and_overlays(tmp_path)
    report = validate([repo], rules=["deprecated-api", "object-identity"])
    assert report.overlays == 3
    findings = [f for f in report.findings if f.rule_id == "deprecated-api"]
    assert len(findings) == 1, findings
    finding = findings[0]
    assert (finding.file, finding.line) == ("apps/base/pdb.yaml", 1)
    assert finding.overlays == ("apps/dev", "apps/prod", "apps/staging")
    assert finding.object == "PodDisruptionBudget/web"
    # 2 objects rendered in each of 3 overlays; the base is not validated on its own
    assert report.documents == 6


def test_broken_overlay_is_one_located_finding_and_the_others_still_validate(tmp_path):
    repo = base_and_overlays(tmp_path, overlays=("dev", "prod"))
    (repo / "apps/prod/kustomization.yaml").write_text(
        "namespace: prod\nresources:\n  - ../base\n  - missing-route.yaml\n", encoding="utf-8"
    )
    report = validate([repo], rules=["deprecated-api", "kustomize-build"])
    builds = [f for f in report.findings if f.rule_id == "kustomize-build"]
    assert len(builds) == 1
    assert (builds[0].file, builds[0].line) == ("apps/prod/kustomization.yaml", 4)
    assert "missing-route.yaml" in builds[0].message
    assert str(repo) not in builds[0].message  # no absolute temp paths in messages
    deprecated = [f for f in report.findings if f.rule_id == "deprecated-api"]
    assert [f.overlays for f in deprecated] == [("apps/dev",)]
    assert report.overlays == 1


def test_patches_are_not_validated_as_plain_objects(tmp_path):
    repo = write(
        tmp_path,
        {
            "app/base/kustomization.yaml": "resources:\n  - pdb.yaml\n",
            "app/base/pdb.yaml": PDB_V1BETA1,
            "app/prod/kustomization.yaml": "resources:\n  - ../base\npatches:\n  - path: patch.yaml\n",
            # a strategic-merge patch: a partial object
            "app/prod/patch.yaml": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  minAvailable: 2\n",
            "loose/old-pdb.yaml": PDB_V1BETA1,
        },
    )
    report = validate([repo], rules=["deprecated-api", "kustomize-build"])
    assert report.overlays == 1
    located = sorted((f.file, f.line, f.overlays) for f in report.findings)
    # the rendered object points at its base file; files outside every root are validated as they are
    assert located == [("app/base/pdb.yaml", 1, ("app/prod",)), ("loose/old-pdb.yaml", 1, ())]


def test_flux_system_waiting_for_bootstrap_is_one_info_line(tmp_path):
    repo = write(
        tmp_path,
        {
            "clusters/prod/flux-system/kustomization.yaml": "resources:\n  - gotk-components.yaml\n  - gotk-sync.yaml\n",
            "apps/prod/kustomization.yaml": "resources:\n  - settings.yaml\n",
            "apps/prod/settings.yaml": CONFIGMAP,
        },
    )
    report = validate([repo])
    pending = [f for f in report.findings if f.rule_id == "flux-bootstrap-pending"]
    assert [(f.file, f.severity.label) for f in pending] == [("clusters/prod/flux-system/kustomization.yaml", "info")]
    assert "gotk-components.yaml" in pending[0].message
    assert not [f for f in report.findings if f.rule_id == "kustomize-build"]
    assert report.overlays == 1


class RunSpy:
    """Counts real kustomize invocations (the call still goes to the real binary)."""

    def __init__(self, monkeypatch):
        self.builds = 0
        real = tools.run

        def spy(args, **kwargs):
            if "--load-restrictor" in args:
                self.builds += 1
            return real(args, **kwargs)

        monkeypatch.setattr(tools, "run", spy)


def test_second_run_on_unchanged_repository_reuses_the_cache(tmp_path, monkeypatch):
    repo = base_and_overlays(tmp_path / "repo")
    spy = RunSpy(monkeypatch)
    first = validate([repo])
    assert spy.builds == 3
    second = validate([repo])
    assert spy.builds == 3, "unchanged overlays must come from the cache"
    assert second.findings == first.findings and second.overlays == 3
    # editing a base file invalidates every overlay that includes it
    (repo / "apps/base/settings.yaml").write_text(CONFIGMAP.replace("fast", "slow"), encoding="utf-8")
    validate([repo])
    assert spy.builds == 6


def test_renders_with_plaintext_secrets_are_never_cached(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(cache))
    repo = write(
        tmp_path / "repo",
        {
            "app/kustomization.yaml": f"secretGenerator:\n  - name: token\n    literals:\n      - token={CANARY}\n",
        },
    )
    spy = RunSpy(monkeypatch)
    validate([repo])
    validate([repo])
    assert spy.builds == 2
    for path in cache.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes()
            assert b"token" not in path.read_bytes()


def test_render_settings_are_validated(tmp_path):
    repo = base_and_overlays(tmp_path)
    for bad, key in (("{jobs: 0}", "render.jobs"), ("{timeout: -1}", "render.timeout"), ("{colour: red}", "render.colour")):
        (repo / ".gitops-kit.yaml").write_text(f"render: {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            validate([repo], config=load_config(repo))


def test_configured_renderer_that_does_not_exist_is_a_notification(tmp_path):
    repo = base_and_overlays(tmp_path)
    (repo / ".gitops-kit.yaml").write_text("render: {kustomize: /nonexistent/kustomize}\n", encoding="utf-8")
    report = validate([repo], config=load_config(repo))
    assert report.overlays == 0
    assert any("/nonexistent/kustomize" in note for note in report.notifications)


def test_a_render_that_times_out_is_a_located_finding(tmp_path):
    repo = base_and_overlays(tmp_path, overlays=("dev",))
    (repo / ".gitops-kit.yaml").write_text("render: {timeout: 0.001, cache: false}\n", encoding="utf-8")
    report = validate([repo], config=load_config(repo), rules=["kustomize-build"])
    assert [(f.file, f.line) for f in report.findings] == [("apps/dev/kustomization.yaml", 1)]
    assert "render.timeout" in report.findings[0].message


def test_cache_entries_are_private_files(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(cache))
    validate([base_and_overlays(tmp_path / "repo", overlays=("dev",))])
    entries = [p for p in cache.rglob("*") if p.is_file()]
    renders = [p for p in entries if p.parent.name != "versions" and "schemas" not in p.relative_to(cache).parts]
    assert len(renders) == 1  # plus, at most, the remembered kubectl version
    assert all(p.stat().st_mode & 0o077 == 0 for p in entries)


def test_cli_exit_code_and_overlay_count(tmp_path, cli):
    import json

    repo = base_and_overlays(tmp_path)
    (repo / "apps/prod/kustomization.yaml").write_text("resources:\n  - ../base\n  - gone.yaml\n", encoding="utf-8")
    result = cli("validate", "--format", "json", str(repo), cwd=repo)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["overlays"] == 2
    rules = sorted({f["rule"] for f in report["findings"]})
    assert "kustomize-build" in rules and "Traceback" not in result.stderr
