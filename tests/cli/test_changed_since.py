"""`validate --changed-since REF`: real git repositories (GitPython), real renders, the real CLI.

Two fleets: the benchmark's 20-cluster kustomize fleet (one overlay per cluster, a shared base) for
the "1 of 20" / "20 of 20" bar, and a fleet written by the real generator (`gitops-kit new cluster`,
Flux layout with postBuild substitution and SOPS files) for the Flux and `.sops.yaml` mappings.
Twenty generated clusters take ~45 s (each `new cluster` re-validates the fleet), so three do.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import git
import pytest

from gitops_kit.changes import Change, Facts, FluxRef, RepoIndex, select
from tests.conftest import ROOT, commit_all, run_cli

sys.path.insert(0, str(ROOT / "bench"))
import corpus  # noqa: E402  (bench/corpus.py: the deterministic fleet corpus)


@pytest.fixture(scope="module")
def corpus_fleet(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "fleet"
    corpus.write_fleet(root, 20)
    commit_all(root, "fleet")
    return root


@pytest.fixture
def fleet(corpus_fleet, tmp_path) -> Path:
    return Path(shutil.copytree(corpus_fleet, tmp_path / "fleet", symlinks=True))


def _validate(repo: Path, *args: str):
    result = run_cli("validate", "--changed-since", "HEAD", *args, cwd=repo)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_one_cluster_values_change_validates_only_that_overlay(fleet):
    replicas = fleet / "clusters/cluster-007/replicas.yaml"
    replicas.write_text(replicas.read_text().replace("replicas:", "replicas: 9 #"), encoding="utf-8")
    result = _validate(fleet)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 of 20 overlays affected" in result.stdout
    assert ", 1 overlay checked" in result.stdout


def test_shared_base_change_validates_every_overlay(fleet):
    app = fleet / "apps/base/web/app.yaml"
    app.write_text(app.read_text().replace("LOG_LEVEL:", "EXTRA: x\n  LOG_LEVEL:"), encoding="utf-8")
    result = _validate(fleet)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 of 20 overlays affected" in result.stdout
    assert ", 20 overlays checked" in result.stdout


def test_a_finding_in_the_affected_overlay_is_reported_in_json(fleet):
    replicas = fleet / "clusters/cluster-003/replicas.yaml"
    replicas.write_text(replicas.read_text().replace("replicas:", "replicas: three #"), encoding="utf-8")
    result = _validate(fleet, "--format", "json")
    assert result.returncode == 1
    import json

    payload = json.loads(result.stdout)
    assert payload["summary"]["overlays"] == 1
    assert {f["rule"] for f in payload["findings"]} == {"schema-validation"}
    assert payload["notifications"][0].endswith("1 of 20 overlays affected, 0 other file(s) validated")
    assert "1 of 20 overlays affected" in result.stderr  # non-text formats also say it on stderr


def test_staged_rename_untracked_overlay_and_deleted_file(fleet):
    repo = git.Repo(fleet)
    # staged rename inside one overlay, kustomization updated (unstaged)
    repo.git.mv("clusters/cluster-001/replicas.yaml", "clusters/cluster-001/scale.yaml")
    kustomization = fleet / "clusters/cluster-001/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("replicas.yaml", "scale.yaml"), encoding="utf-8")
    # an untracked new overlay
    shutil.copytree(fleet / "clusters/cluster-002", fleet / "clusters/cluster-020")
    # a deleted patch that its kustomization still names: the overlay must fail to build
    (fleet / "clusters/cluster-005/replicas.yaml").unlink()
    result = _validate(fleet)
    assert result.returncode == 1, result.stdout
    assert "3 of 21 overlays affected" in result.stdout
    assert "clusters/cluster-005/kustomization.yaml" in result.stdout and "[kustomize-build]" in result.stdout
    assert "cluster-001" not in result.stdout.replace("1 of", "")  # the renamed patch still builds cleanly


def test_no_change_validates_nothing_and_passes(fleet):
    result = _validate(fleet)
    assert result.returncode == 0
    assert "0 of 20 overlays affected" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("0 files, 0 objects")


def test_paths_restrict_the_changes_considered(fleet):
    for name in ("cluster-001", "cluster-002"):
        path = fleet / f"clusters/{name}/replicas.yaml"
        path.write_text(path.read_text() + "# touched\n", encoding="utf-8")
    result = _validate(fleet, "clusters/cluster-002")
    assert "1 of 20 overlays affected" in result.stdout


def test_without_changed_since_everything_is_validated(fleet):
    result = run_cli("validate", cwd=fleet)
    assert result.returncode == 0
    assert ", 20 overlays checked" in result.stdout
    assert "overlays affected" not in result.stdout


def test_unknown_revision_and_no_repository_exit_2_with_one_line(fleet, tmp_path):
    bad = run_cli("validate", "--changed-since", "no-such-branch", cwd=fleet)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "gitops-kit: error: 'no-such-branch': unknown git revision (fetch it first, e.g. `git fetch origin no-such-branch`)"
    ]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    outside = run_cli("validate", "--changed-since", "HEAD", cwd=plain)
    assert outside.returncode == 2 and "not inside a git repository" in outside.stderr
    assert "Traceback" not in outside.stderr + bad.stderr


def test_write_baseline_is_refused_in_pr_mode(fleet):
    result = _validate(fleet, "--write-baseline", "b.json")
    assert result.returncode == 2 and "--write-baseline" in result.stderr


# -- a fleet from the real generator: Flux Kustomizations, postBuild substitution, SOPS ----------

GENERATED = ("c-001", "c-002", "c-003")


@pytest.fixture(scope="module")
def generated_fleet(tmp_path_factory) -> Path:
    from gitops_kit.cli import main

    keys = tmp_path_factory.mktemp("keys")
    repo = tmp_path_factory.mktemp("generated") / "repo"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITOPS_KIT_KEY_DIR", str(keys))
        for name in GENERATED:
            assert main(["new", "cluster", name, "--repo", str(repo), "--flavor", "flux", "--no-input"]) == 0
    return repo


@pytest.fixture
def generated(generated_fleet, tmp_path) -> Path:
    return Path(shutil.copytree(generated_fleet, tmp_path / "gen", symlinks=True))


def test_generated_values_change_affects_only_that_clusters_controllers(generated):
    values = generated / "infrastructure/controllers/c-002/mesh-values.yaml"
    values.write_text(values.read_text() + "# tuned\n", encoding="utf-8")
    result = _validate(generated)
    assert result.returncode == 0, result.stdout
    total = 4 * len(GENERATED)  # controllers, configs, apps and flux-system per cluster
    assert f"1 of {total} overlays affected" in result.stdout
    # the Flux Kustomization and its cluster-vars came along: no ${VAR} looks unset
    assert "flux-substitution" not in result.stdout


def test_generated_shared_base_change_affects_every_cluster(generated):
    release = generated / "infrastructure/controllers/base/mesh/release.yaml"
    release.write_text(release.read_text() + "# shared\n", encoding="utf-8")
    result = _validate(generated)
    assert result.returncode == 0, result.stdout
    assert f"{len(GENERATED)} of {4 * len(GENERATED)} overlays affected" in result.stdout


def test_generated_sops_config_change_rechecks_every_encrypted_file(generated):
    sops = generated / ".sops.yaml"
    lines = sops.read_text().splitlines()
    recipients = [i for i, line in enumerate(lines) if line.strip().startswith("age:")]
    # give c-001's rule c-002's recipient: c-001's encrypted file no longer matches its rule
    lines[recipients[0]] = lines[recipients[1]]
    sops.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _validate(generated)
    assert result.returncode == 1, result.stdout
    encrypted = [p for p in generated.rglob("*.sops.yaml") if ".git" not in p.parts and p.name != ".sops.yaml"]
    assert len(encrypted) >= len(GENERATED)
    assert f"0 of 12 overlays affected, {len(encrypted) + 1} other file(s) validated" in result.stdout
    assert "infrastructure/controllers/c-001/runners-token.sops.yaml" in result.stdout
    assert "[sops-rule-coverage]" in result.stdout


def test_generated_config_change_validates_the_whole_repository(generated):
    config = generated / ".gitops-kit.yaml"
    config.write_text(config.read_text() + "# note\n", encoding="utf-8")
    result = _validate(generated)
    assert result.returncode == 0, result.stdout
    assert ".gitops-kit.yaml changed; all 12 overlays affected, whole repository validated" in result.stdout


# -- the mapping itself, on a hand-made graph ---------------------------------------------------


def _index() -> RepoIndex:
    return RepoIndex(
        reads={
            "a": frozenset({"a/kustomization.yaml", "a/patch.yaml", "base/kustomization.yaml", "base/app.yaml"}),
            "b": frozenset({"b/kustomization.yaml", "base/kustomization.yaml", "base/app.yaml"}),
        },
        dirs={"a": frozenset({"a", "base"}), "b": frozenset({"b", "base"})},
        flux=[FluxRef("flux/a.yaml", "a", (("ConfigMap", "vars"),)), FluxRef("flux/b.yaml", "b", (("ConfigMap", "vars"),))],
        sources={("ConfigMap", "vars"): ("flux/vars.yaml",)},
        facts={"flux/a.yaml": Facts(("a",)), "flux/vars.yaml": Facts(sources=(("ConfigMap", "vars"),))},
        yaml_files=frozenset({"flux/a.yaml", "flux/b.yaml", "flux/vars.yaml", "a/patch.yaml", "base/new.yaml", "x.yaml"}),
    )


def test_select_maps_bases_overlays_flux_and_sources():
    index = _index()
    assert select([Change("a/patch.yaml")], index).overlays == ["a"]
    assert select([Change("base/new.yaml", "U")], index).overlays == ["a", "b"]  # a new file in a base directory
    assert select([Change("flux/a.yaml")], index).overlays == ["a"]
    assert select([Change("flux/vars.yaml")], index).overlays == ["a", "b"]
    outside = select([Change("x.yaml")], index)
    assert (outside.overlays, outside.files) == ([], ["x.yaml"])
    # an affected Flux-deployed overlay brings its Kustomization and substitution sources along
    assert select([Change("a/patch.yaml")], index).files == ["flux/a.yaml", "flux/vars.yaml"]


def test_select_uses_the_ref_version_of_deleted_and_renamed_files():
    index = _index()
    gone = Change("old/flux.yaml", "D", None, Facts(("b",)))
    assert select([gone], index).overlays == ["b"]
    renamed = Change("c/patch.yaml", "R", "a/patch.yaml")
    assert select([renamed], index).overlays == ["a"]
    gone_vars = Change("old/vars.yaml", "D", None, Facts(sources=(("ConfigMap", "vars"),)))
    assert select([gone_vars], index).overlays == ["a", "b"]


def test_select_config_change_means_everything():
    selection = select([Change("a/patch.yaml"), Change(".gitops-kit.yaml")], _index())
    assert selection.full and selection.paths() == ["."] and selection.overlays == ["a", "b"]


def test_argocd_values_file_change_validates_its_application_and_the_fleet_rules_see_every_cluster(tmp_path):
    repo = tmp_path / "argo"
    shutil.copytree(ROOT / "examples" / "argocd-fleet", repo)
    commit_all(repo, "fleet")
    values = repo / "clusters" / "cilium-001" / "values" / "cilium.yaml"
    text = values.read_text(encoding="utf-8")
    assert "\n  id: 1\n" in text
    values.write_text(text.replace("\n  id: 1\n", "\n  id: 2\n", 1), encoding="utf-8")  # cilium-002's id
    result = _validate(repo, "--format", "json")
    import json

    payload = json.loads(result.stdout)
    assert any("1 of " in note and "overlays affected" in note for note in payload["notifications"])
    duplicate = [f for f in payload["findings"] if f["rule"] == "fleet-cluster-identity"]
    assert duplicate and "cilium-001" in duplicate[0]["message"] and "cilium-002" in duplicate[0]["message"]


# -- a fleet of 20 clusters made with `gitops-kit new cluster` (issue 7's done-when) -----------------
TWENTY = [f"c-{index:03d}" for index in range(1, 21)]


@pytest.fixture(scope="module")
def twenty_clusters(tmp_path_factory) -> Path:
    import contextlib
    import io

    from gitops_kit.cli import main

    keys = tmp_path_factory.mktemp("keys20")
    repo = tmp_path_factory.mktemp("generated20") / "fleet"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITOPS_KIT_KEY_DIR", str(keys))
        for index, name in enumerate(TWENTY):
            args = ["new", "cluster", name, "--repo", str(repo), "--flavor", "flux", "--no-input", "--addons", "storage", "--no-commit"]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                assert main(args) == 0, name
            if index == 0:  # the default pool holds 16 clusters of /16: a bigger fleet records a bigger pool
                config = repo / ".gitops-kit.yaml"
                config.write_text(config.read_text(encoding="utf-8").replace("10.96.0.0/12", "10.64.0.0/10"), encoding="utf-8")
    commit_all(repo, "fleet")
    return repo


@pytest.fixture
def twenty(twenty_clusters, tmp_path) -> Path:
    return Path(shutil.copytree(twenty_clusters, tmp_path / "fleet20", symlinks=True))


def test_twenty_generated_clusters_one_values_file_validates_one_overlay(twenty):
    values = twenty / "infrastructure/controllers/c-007/storage-values.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "# tuned for c-007\n", encoding="utf-8")
    result = _validate(twenty)
    assert result.returncode == 0, result.stdout + result.stderr
    total = 4 * len(TWENTY)  # controllers, configs, apps and flux-system per cluster
    assert f"1 of {total} overlays affected" in result.stdout, result.stdout


def test_twenty_generated_clusters_shared_base_validates_all_twenty(twenty):
    base = next((twenty / "infrastructure/controllers/base/storage").glob("*.yaml"))
    base.write_text(base.read_text(encoding="utf-8") + "# shared change\n", encoding="utf-8")
    result = _validate(twenty)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"20 of {4 * len(TWENTY)} overlays affected" in result.stdout, result.stdout
