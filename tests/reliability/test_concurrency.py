"""Two validations of one fleet at once, sharing a render cache: both right, the cache whole, and a
third (cached) run agrees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gitops_kit.render import cache
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import corpus  # noqa: E402


def _start(fleet: Path, cache_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "GITOPS_KIT_CACHE_DIR": str(cache_dir), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.Popen([sys.executable, "-m", "gitops_kit", "validate", str(fleet), "--format", "json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> tuple[int, dict]:
    stdout, stderr = process.communicate(timeout=300)
    assert stderr == "" and process.returncode in (0, 1), stderr
    payload = json.loads(stdout)
    del payload["summary"]["duration_seconds"]
    return process.returncode, payload


def test_two_runs_at_once_share_the_cache_safely(tmp_path, monkeypatch):
    fleet = tmp_path / "fleet"
    corpus.write_fleet(fleet, 6, seed=3)
    # one finding in a rendered overlay, so "correct" means more than "empty"
    some_cluster = sorted((fleet / "clusters").iterdir())[0]
    kustomization = some_cluster / "kustomization.yaml"
    text = kustomization.read_text(encoding="utf-8").replace("resources:\n", "resources:\n  - missing-file.yaml\n", 1)
    kustomization.write_text(text, encoding="utf-8")
    reference = _result(_start(fleet, tmp_path / "private-cache"))
    assert reference[0] == 1 and reference[1]["summary"]["overlays"] >= 5
    shared = tmp_path / "shared-cache"
    first, second = _start(fleet, shared), _start(fleet, shared)
    assert _result(first) == reference and _result(second) == reference
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(shared))
    entries = [p for p in cache.cache_dir().rglob("*") if p.is_file() and p.parent.name != "versions"]
    assert len(entries) >= 5 and not [p for p in cache.cache_dir().rglob("*") if ".tmp" in p.name]
    assert all(cache.load(p.name) is not None for p in entries)  # every entry passes its checksum
    assert _result(_start(fleet, shared)) == reference
