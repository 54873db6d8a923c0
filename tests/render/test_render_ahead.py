"""Builds started ahead (render.ahead): taken only for an overlay whose inputs are byte for byte the ones
they were built from; anything else renders as usual, with real kubectl throughout."""

from __future__ import annotations

import shutil

import pytest

from gitops_kit import tools
from gitops_kit.config import load_config
from gitops_kit.engine import validate
from gitops_kit.render import ahead

from .test_render import CONFIGMAP, write
from .test_render_scheduling import record_runs

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no kubectl or kustomize installed"
)

PATCH = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: patched\n"


def repository(root):
    return write(root, {
        "base/kustomization.yaml": "resources:\n  - settings.yaml\n",
        "base/settings.yaml": CONFIGMAP,
        "prod/kustomization.yaml": "namePrefix: prod-\nresources:\n  - ../base\npatches:\n  - path: patch.yaml\n",
        "prod/patch.yaml": PATCH,
        "dev/kustomization.yaml": "namePrefix: dev-\nresources:\n  - ../base\n",
    })


@pytest.fixture(autouse=True)
def _nothing_left_behind():
    yield
    ahead.discard()


def record_starts(monkeypatch, wanted: str) -> list:
    """The argv of every `tools.start` whose arguments contain `wanted` (the program still starts)."""
    seen: list = []
    real = tools.start

    def spy(args, **kwargs):
        if wanted in args:
            seen.append(list(args))
        return real(args, **kwargs)

    monkeypatch.setattr(tools, "start", spy)
    return seen


def started_builds(monkeypatch) -> list:
    return record_starts(monkeypatch, "--load-restrictor")


def test_builds_started_ahead_are_taken_and_give_the_same_report(tmp_path, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache-1"))
    usual = validate([repository(tmp_path / "usual")])

    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache-2"))
    repo = repository(tmp_path / "repo")
    started = started_builds(monkeypatch)
    assert sorted(ahead.start(repo, load_config(repo))) == ["dev", "prod"]
    assert len(started) == 2 and ahead.waiting()
    builds = record_runs(monkeypatch, "--load-restrictor")
    report = validate([repo])
    assert builds == [], "the validation took both builds instead of running kustomize again"
    assert not ahead.waiting()
    assert report.findings == usual.findings and report.overlays == usual.overlays == 2
    assert {r.file for r in report.findings} == {r.file for r in usual.findings}


def test_a_changed_input_is_built_again_and_the_change_is_what_is_validated(tmp_path, monkeypatch):
    repo = repository(tmp_path / "repo")
    ahead.start(repo, load_config(repo))
    # the patch now makes the ConfigMap invalid: the stale build ahead must not hide it
    (repo / "prod/patch.yaml").write_text(PATCH.replace("apiVersion: v1\n", "apiVersion: v1\nspec: 7\n"))
    builds = record_runs(monkeypatch, "--load-restrictor", lambda args, kwargs: args[-1])
    report = validate([repo])
    assert [b.rsplit("/", 1)[-1] for b in builds] == ["prod"]  # dev is unchanged: its build ahead is taken
    assert report.overlays == 2
    spec = [f for f in report.findings if f.rule_id == "schema-validation" and "spec" in f.message]
    assert len(spec) == 1 and spec[0].file.endswith("prod/patch.yaml"), report.findings


def test_a_build_ahead_that_failed_is_built_again_where_its_message_names_the_real_paths(tmp_path, monkeypatch):
    broken = {"dev/kustomization.yaml": "resources:\n  - ../base\n  - broken.yaml\n", "dev/broken.yaml": "kind: [unclosed\n"}
    scratch = repository(tmp_path / "scratch")
    write(scratch, broken)
    assert "dev" in ahead.start(scratch, load_config(scratch))
    repo = repository(tmp_path / "repo")  # the same inputs, elsewhere: the same keys
    write(repo, broken)
    builds = record_runs(monkeypatch, "--load-restrictor", lambda args, kwargs: args[-1])
    report = validate([repo])
    assert [b.rsplit("/", 1)[-1] for b in builds] == ["dev"]
    failures = [f for f in report.findings if f.rule_id == "kustomize-build"]
    assert len(failures) == 1 and str(scratch) not in failures[0].message and str(tmp_path) not in failures[0].message


def test_an_overlay_naming_a_missing_file_is_not_started(tmp_path, monkeypatch):
    repo = repository(tmp_path / "repo")
    (repo / "prod/patch.yaml").unlink()  # e.g. a Secret not encrypted yet
    started = started_builds(monkeypatch)
    assert ahead.start(repo, load_config(repo)) == ["dev"]
    assert len(started) == 1


def test_overlays_already_in_the_render_cache_are_not_started(tmp_path, monkeypatch):
    repo = repository(tmp_path / "repo")
    validate([repo])  # fills the cache
    started = started_builds(monkeypatch)
    assert ahead.start(repo, load_config(repo)) == []
    assert started == []


def test_with_the_cache_off_builds_ahead_are_still_taken_and_nothing_is_stored(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(cache))
    repo = repository(tmp_path / "repo")
    (repo / ".gitops-kit.yaml").write_text("render:\n  cache: false\n")
    ahead.start(repo, load_config(repo))
    builds = record_runs(monkeypatch, "--load-restrictor")
    report = validate([repo])
    assert builds == [] and report.overlays == 2
    assert not (cache / "render").exists() or not any(p.is_file() and p.parent.name != "versions" for p in (cache / "render").rglob("*"))


def test_discard_stops_builds_nobody_took(tmp_path):
    repo = repository(tmp_path / "repo")
    assert ahead.start(repo, load_config(repo))
    builds = list(ahead._STARTED.values())
    ahead.discard()
    assert not ahead.waiting() and builds and all(build.done() for build in builds)  # killed and reaped
