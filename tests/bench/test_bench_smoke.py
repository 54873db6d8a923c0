"""The benchmark scripts run end to end on a tiny corpus (no timing is asserted: speed lives in bench/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml_rs

from gitops_kit.engine import validate

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import corpus  # noqa: E402


def _documents(root: Path) -> list:
    found = []
    for path in sorted(p for p in root.rglob("*.yaml") if not p.name.startswith(".")):
        data = yaml_rs.loads(path.read_text(encoding="utf-8"), parse_datetime=False)
        found.extend(data if isinstance(data, list) else [data])
    return found


def test_flat_corpus_is_deterministic_varied_and_clean(tmp_path):
    count = corpus.write_flat(tmp_path / "a", 60, seed=7)
    corpus.write_flat(tmp_path / "b", 60, seed=7)
    assert count == 60
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.yaml"))
    assert files_a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.yaml"))
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()
    documents = _documents(tmp_path / "a")
    assert len(documents) == 60
    kinds = {doc["kind"] for doc in documents}
    assert {"Deployment", "Service", "ConfigMap", "HelmRelease", "Kustomization", "Secret"} <= kinds
    secrets = [doc for doc in documents if doc["kind"] == "Secret"]
    assert all(doc["stringData"]["password"].startswith("ENC[AES256_GCM,") and "sops" in doc for doc in secrets)
    # the corpus must measure checking, not reporting: no duplicate objects, no identity problems
    report = validate([tmp_path / "a"], rules=["duplicate-object", "object-identity", "yaml-syntax", "duplicate-key"])
    assert report.documents == 60 and report.findings == []


def test_fleet_corpus_has_a_base_and_one_overlay_per_cluster(tmp_path):
    assert corpus.write_fleet(tmp_path, 4) == 4
    overlays = sorted(p.parent.name for p in tmp_path.glob("clusters/*/kustomization.yaml"))
    assert overlays == [f"cluster-{i:03d}" for i in range(4)]
    assert (tmp_path / "apps/base/web/kustomization.yaml").is_file()


def test_fleet_corpus_exercises_bundled_and_repository_crd_schemas(tmp_path, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    corpus.write_fleet(tmp_path / "fleet", 2)
    kinds = {doc["kind"] for doc in _documents(tmp_path / "fleet/apps/base/web")}
    assert {"HelmRelease", "CustomResourceDefinition", "SiteProfile"} <= kinds
    assert validate([tmp_path / "fleet"], rules=["schema-validation", "schema-missing"]).findings == []
    # the repository CRD really validates its CR: a value below its minimum is an error at the base file
    profile = tmp_path / "fleet/apps/base/web/profile.yaml"
    profile.write_text(profile.read_text().replace("gpuNodes: 4", "gpuNodes: -1"))
    findings = validate([tmp_path / "fleet"], rules=["schema-validation"]).findings
    assert [(f.rule_id, Path(f.file).name) for f in findings] == [("schema-validation", "profile.yaml")]
    assert "gpuNodes" in findings[0].message


def test_corpus_cli_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("user file")
    result = subprocess.run(
        [sys.executable, str(BENCH / "corpus.py"), "flat", str(tmp_path), "--documents", "6"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2 and "not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "user file"


def test_runner_prints_every_row_ratio_and_bar(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--documents", "6", "--large", "12", "--repeat", "1",
         "--render-clusters", "2", "--keep", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    out = result.stdout
    for row in ("python -c pass", "yaml_rs load (6 docs)", "gitops-kit loader (12 docs)", "gitops-kit validate (12 docs)",
                "gitops-kit validate one-file.yaml", "validate fleet, 2 overlays, empty cache",
                "validate fleet, 2 overlays, cached", "validate fleet, 2 overlays, full (empty cache)",
                "validate fleet, 2 overlays, --changed-since (1 cluster)", "pre-commit gitops-kit-lint hook, one file",
                "same, empty schema cache", "gitops-kit new cluster (all add-ons, flux)",
                "cookiecutter rendering the same templates", "yaml_rs load (7 docs, in-process)", "schema validation alone (6 objects)"):
        assert row in out
    assert "first run wall ÷ cached second run wall" in out and "schema validation docs/s ÷ yaml_rs load docs/s" in out
    assert "--changed-since, one of 2 clusters changed" in out and "lint hook on one file" in out
    assert "new cluster (all add-ons) wall ÷ cookiecutter" in out
    assert out.count("PASS") + out.count("FAIL") == 8
    assert "rules present" in out
