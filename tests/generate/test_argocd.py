"""The Argo CD flavour end to end: a three-cluster fleet with every add-on, through the real CLI, sops,
cookiecutter, kubectl kustomize and GitPython; its Helm values are the Flux flavour's values."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from gitops_kit.cli import main
from gitops_kit.engine import validate
from gitops_kit.generate.fleet import Fleet, cluster_for
from gitops_kit.generate.render import render_fleet

ADDONS = "mesh,storage,eos,gpu,runners,kepler"
CLUSTERS = ("c-001", "c-002", "c-003")
yaml = YAML(typ="safe")


def load_all(path: Path) -> list:
    return [d for d in yaml.load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def argo_repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("argo") / "fleet"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITOPS_KIT_KEY_DIR", str(repo.parent / "keys"))
        for name in CLUSTERS:
            args = ["new", "cluster", name, "--repo", str(repo), "--flavor", "argocd", "--addons", ADDONS, "--no-input"]
            assert main(args + ["--repo-url", "https://git.example.org/infra/fleet.git"] if name == "c-001" else args) == 0
    return repo


def test_fleet_validates_with_zero_findings(argo_repo):
    # the validator reads the values files ($values valueFiles); the plugin folders are plain files to it
    report = validate([argo_repo])
    assert [(f.rule_id, f.file, f.line) for f in report.findings] == []
    assert report.files > 75


def test_every_kustomization_renders_and_secrets_go_through_the_plugin_only(argo_repo):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    folders = sorted({p.parent for p in argo_repo.rglob("kustomization.yaml")})
    for folder in folders:
        kustomization = yaml.load((folder / "kustomization.yaml").read_text())
        assert not kustomization.get("generators"), folder
        assert not list(folder.glob("*.sops.yaml")), folder
        result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{folder}: {result.stderr}"
    plugin_folders = set()
    for cluster in CLUSTERS:
        for app in load_all(argo_repo / f"clusters/{cluster}/apps/addons.yaml"):
            plugin_folders |= {s["path"] for s in app["spec"]["sources"] if s.get("plugin") == {"name": "sops-decrypt"}}
    encrypted = sorted(p.relative_to(argo_repo).as_posix() for p in argo_repo.glob("clusters/*/addons/*/*.sops.yaml"))
    assert len(encrypted) == 2 * len(CLUSTERS)  # the mesh CA and the runner token of each cluster
    for path in encrypted:
        assert path.rpartition("/")[0] in plugin_folders, path
        assert "ENC[AES256_GCM" in (argo_repo / path).read_text()
    assert sorted(plugin_folders) == sorted(f"clusters/{c}/addons/{a}" for c in CLUSTERS for a in ("gpu", "mesh", "runners"))


def test_applications_are_multi_source_in_sync_waves(argo_repo):
    apps = {d["metadata"]["name"]: d for d in load_all(argo_repo / "clusters/c-002/apps/addons.yaml")}
    assert list(apps) == ["cilium", "eosxd-csi", "cvmfs-csi", "gpu-operator", "gitlab-runner", "kube-prometheus-stack", "kepler"]
    waves = [int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for a in apps.values()]
    assert waves == sorted(waves) and waves[0] == 0 and waves[-1] < 100
    for app in apps.values():
        assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["spec"]["project"] == "fleet"
        chart, values_ref, *rest = app["spec"]["sources"]
        assert values_ref == {"repoURL": "https://git.example.org/infra/fleet.git", "targetRevision": "HEAD", "ref": "values"}
        value_file = chart["helm"]["valueFiles"][0]
        assert value_file == f"$values/clusters/c-002/values/{app['metadata']['name']}.yaml"
        assert (argo_repo / value_file.removeprefix("$values/")).is_file()
        for source in rest:
            # shared objects: a plain kustomization; the cluster's own folder: the sops-decrypt plugin, no kustomization
            plugin = "plugin" in source
            assert source["path"].startswith("clusters/c-002/addons/" if plugin else "addons/")
            assert (argo_repo / source["path"] / "kustomization.yaml").is_file() != plugin
    assert apps["cilium"]["spec"]["sources"][0]["repoURL"] == "https://helm.cilium.io"
    assert apps["cvmfs-csi"]["spec"]["sources"][0]["targetRevision"] == "2.5.0"  # OCI: pinned
    kustomization = yaml.load((argo_repo / "clusters/c-002/apps/kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../bootstrap", "argo-cd.yaml", "addons.yaml", "configs.yaml"]
    root = yaml.load((argo_repo / "clusters/c-002/bootstrap/root.yaml").read_text())
    assert root["spec"]["source"]["path"] == "clusters/c-002/apps"


def test_cilium_values_files_carry_identity_cidrs_and_peers(argo_repo):
    config = yaml.load((argo_repo / ".gitops-kit.yaml").read_text())
    assert config["fleet"]["flavor"] == "argocd" and config["fleet"]["repo-url"] == "https://git.example.org/infra/fleet.git"
    for cluster in config["fleet"]["clusters"]:
        values = yaml.load((argo_repo / f"clusters/{cluster['name']}/values/cilium.yaml").read_text())
        assert values["cluster"] == {"name": cluster["name"], "id": cluster["id"]}
        assert values["ipam"]["operator"]["clusterPoolIPv4PodCIDRList"] == [cluster["pod-cidrs"][0]]
        peers = [p["name"] for p in values["clustermesh"]["config"]["clusters"]]
        assert peers == [c for c in CLUSTERS if c != cluster["name"]]
        assert values["bpf"]["masquerade"] is True


def test_argo_cd_values_configure_the_sops_plugin_and_application_health(argo_repo):
    values = yaml.load((argo_repo / "clusters/c-001/values/argo-cd.yaml").read_text())
    assert "kustomize.buildOptions" not in values["configs"]["cm"]  # no exec plugins for kustomize any more
    assert "resource.customizations.health.argoproj.io_Application" in values["configs"]["cm"]
    assert values["configs"]["cmp"]["create"] is True and list(values["configs"]["cmp"]["plugins"]) == ["sops-decrypt"]
    repo_server = values["repoServer"]
    assert "initContainers" not in repo_server  # no install-ksops
    (sidecar,) = repo_server["extraContainers"]
    assert {"name": "SOPS_AGE_KEY_FILE", "value": "/sops-age/keys.txt"} in sidecar["env"]
    assert {"name": "sops-age", "secret": {"secretName": "sops-age"}} in repo_server["volumes"]
    readme = (argo_repo / "README.md").read_text()
    assert "sops-decrypt" in readme and "KSOPS" in readme and "one Argo CD per cluster" in readme
    assert "kubectl -n argocd create secret generic sops-age" in readme
    sops = yaml.load((argo_repo / ".sops.yaml").read_text())
    assert [r["path_regex"] for r in sops["creation_rules"]] == [rf"^clusters/{re.escape(c)}/.*\.sops\.ya?ml$" for c in CLUSTERS]


def test_helm_templating_survives_into_values_files(argo_repo):
    runner = (argo_repo / "clusters/c-001/values/gitlab-runner.yaml").read_text()
    assert 'namespace = "{{ .Release.Namespace }}"' in runner and "hostUsers: false" in runner


def test_second_run_is_a_no_op(argo_repo, tmp_path, monkeypatch, capsys):
    repo = tmp_path / "fleet"
    shutil.copytree(argo_repo, repo, symlinks=True)
    shutil.copytree(argo_repo.parent / "keys", tmp_path / "keys")
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    capsys.readouterr()
    assert main(["new", "cluster", "c-002", "--repo", str(repo), "--flavor", "argocd", "--addons", ADDONS, "--no-input"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_both_flavours_deploy_the_same_helm_values(tmp_path):
    """Argo CD values files == what kustomize makes of the Flux HelmRelease base + the cluster's patch."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    addons = tuple(ADDONS.split(","))
    rendered = {}
    for flavor in ("flux", "argocd"):
        fleet = Fleet(flavor, "10.96.0.0/12", "fd00:10::/48")
        for name in ("c-001", "c-002"):
            fleet = fleet.with_cluster(cluster_for(fleet, name, list(addons), gpu_model="A100-40GB"))
        rendered[flavor] = render_fleet(fleet)  # plaintext secret templates stay in memory, never printed
    flux_root = tmp_path / "flux"
    for path, content in rendered["flux"].items():
        (flux_root / path).parent.mkdir(parents=True, exist_ok=True)
        (flux_root / path).write_bytes(content)
    built = subprocess.run([kubectl, "kustomize", str(flux_root / "infrastructure/controllers/c-002")], capture_output=True, text=True, check=True)
    releases = {d["metadata"]["name"]: d["spec"].get("values") or {} for d in yaml.load_all(built.stdout) if d and d["kind"] == "HelmRelease"}
    argo_values = {
        path.rsplit("/", 1)[1].removesuffix(".yaml"): yaml.load(content)
        for path, content in rendered["argocd"].items()
        if path.startswith("clusters/c-002/values/") and not path.endswith("argo-cd.yaml")
    }
    assert set(argo_values) == set(releases)
    for name, values in releases.items():
        assert argo_values[name] == values, name
