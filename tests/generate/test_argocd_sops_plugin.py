"""Argo CD secrets without KSOPS: a fleet made by the real `new cluster` (every add-on) has only kustomizations
that plain `kubectl kustomize` builds, and the cluster folders the Applications read through the `sops-decrypt`
Config Management Plugin turn into plain manifests when the plugin's own `generate` command (taken from the
generated argo-cd values) runs with real sh and sops. A canary token set with sops never shows up in plaintext
anywhere but in the plugin's output with the cluster's key."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from gitops_kit.cli import main
from gitops_kit.discover import KUSTOMIZATION_NAMES
from gitops_kit.secrets.sops import find_sops

from ..conftest import CANARY

ADDONS = "mesh,storage,eos,gpu,runners,kepler"
CLUSTERS = ("c-001", "c-002")
REPO_URL = "https://git.example.org/infra/fleet.git"
PLUGIN = "sops-decrypt"
yaml = YAML(typ="safe")


def load_all(text: str) -> list:
    return [d for d in yaml.load_all(text) if d]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("argo-plugin") / "fleet"
    keys = repo.parent / "keys"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITOPS_KIT_KEY_DIR", str(keys))
        for name in CLUSTERS:
            args = ["new", "cluster", name, "--repo", str(repo), "--flavor", "argocd", "--addons", ADDONS, "--no-input"]
            assert main(args + ["--repo-url", REPO_URL]) == 0
    # what an operator does next: put the real runner token in, through sops (plaintext only on stdin)
    token = repo / "clusters/c-001/addons/runners/token.sops.yaml"
    subprocess.run(
        [find_sops(), "set", "--value-stdin", str(token), '["stringData"]["runner-token"]'],
        input=f'"{CANARY}"', text=True, check=True, capture_output=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(repo.parent), "SOPS_AGE_KEY_FILE": str(key_file(repo, "c-001"))},
    )
    return repo


def key_file(repo: Path, cluster: str) -> Path:
    return repo.parent / "keys" / repo.name / f"{cluster}.agekey"


def kustomization_dirs(root: Path) -> list[Path]:
    return sorted({p.parent for name in KUSTOMIZATION_NAMES for p in root.rglob(name) if ".git" not in p.parts})


def plugin_sources(repo: Path, cluster: str) -> list[dict]:
    apps = load_all((repo / f"clusters/{cluster}/apps/addons.yaml").read_text())
    return [s for app in apps for s in app["spec"]["sources"] if "plugin" in s]


def shells() -> list[list[str]]:
    found = [["sh"]] if shutil.which("sh") else []
    # the sidecar image is Alpine: busybox's ash runs the script there
    return found + ([["busybox", "sh"]] if shutil.which("busybox") else [])


def generate(repo: Path, folder: str, shell: list[str], key: Path | None) -> subprocess.CompletedProcess:
    """The plugin's `generate` command as the sidecar runs it: in the source folder, sh and sops on PATH."""
    values = yaml.load((repo / "clusters/c-001/values/argo-cd.yaml").read_text())
    command = values["configs"]["cmp"]["plugins"][PLUGIN]["generate"]
    assert command["command"] == ["sh", "-c"]
    sops_dir = str(Path(find_sops()).parent)
    env = {"PATH": f"{sops_dir}:/usr/bin:/bin", "HOME": str(repo.parent / "no-home")}
    if key is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key)
    return subprocess.run([*shell, "-c", *command["args"]], cwd=repo / folder, env=env, capture_output=True, text=True, timeout=120)


def test_every_kustomization_builds_with_plain_kubectl(fleet):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    folders = kustomization_dirs(fleet)
    relative = {f.relative_to(fleet).as_posix() for f in folders}
    assert {"addons/runners", "clusters/c-001/apps", "clusters/c-001/bootstrap", "clusters/c-002/configs"} <= relative
    for folder in folders:
        # no plugin flags: what `kubectl kustomize DIR` does out of the box
        result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{folder}: {result.stderr}"
        assert "ENC[AES256_GCM" not in result.stdout, f"{folder} would apply ciphertext"
        assert CANARY not in result.stdout + result.stderr
    assert not list(fleet.rglob("secret-generator.yaml"))
    assert not [p for p in fleet.rglob("*.yaml") if ".git" not in p.parts and "viaduct.ai" in p.read_text()]


def test_cluster_folders_are_read_through_the_plugin_only(fleet):
    for cluster in CLUSTERS:
        sources = plugin_sources(fleet, cluster)
        assert [s["path"] for s in sources] == [f"clusters/{cluster}/addons/{a}" for a in ("mesh", "gpu", "runners")]
        for source in sources:
            assert source["plugin"] == {"name": PLUGIN} and source["repoURL"] == REPO_URL
            assert not [n for n in KUSTOMIZATION_NAMES if (fleet / source["path"] / n).exists()]
        encrypted = sorted(p.relative_to(fleet).as_posix() for p in (fleet / "clusters" / cluster).rglob("*.sops.yaml"))
        assert encrypted and all(path.rpartition("/")[0] in {s["path"] for s in sources} for path in encrypted)


@pytest.mark.parametrize("shell", shells(), ids=lambda s: s[0])
def test_the_plugin_prints_plain_files_and_decrypted_secrets(fleet, shell):
    rendered = {}
    for source in plugin_sources(fleet, "c-001"):
        result = generate(fleet, source["path"], shell, key_file(fleet, "c-001"))
        assert result.returncode == 0, result.stderr
        docs = load_all(result.stdout)
        folder = fleet / source["path"]
        assert len(docs) == sum(len(load_all(p.read_text())) for p in folder.glob("*.yaml"))
        assert all("sops" not in d for d in docs)
        rendered[source["path"].rpartition("/")[2]] = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert set(rendered["gpu"]) == {("ConfigMap", "custom-mig-config")}
    assert ("Secret", "cilium-ca") in rendered["mesh"]
    token = rendered["runners"][("Secret", "gitlab-runner-token")]
    assert token["metadata"]["namespace"] == "gitlab-runner"
    assert token["stringData"]["runner-token"] == CANARY  # decrypted: the sidecar's whole job


@pytest.mark.parametrize("shell", shells(), ids=lambda s: s[0])
def test_the_plugin_fails_loudly_and_leaks_nothing(fleet, shell, tmp_path):
    runners = "clusters/c-001/addons/runners"
    for key in (key_file(fleet, "c-002"), None):  # another cluster's key, no key
        result = generate(fleet, runners, shell, key)
        assert result.returncode != 0
        assert CANARY not in result.stdout + result.stderr
    # a kustomization in a plugin folder would be printed as an object: refused with a clear message
    copy = tmp_path / "fleet"
    shutil.copytree(fleet / "clusters/c-001/addons/runners", copy / runners)
    (copy / runners / "kustomization.yaml").write_text("resources: []\n")
    (copy / "clusters/c-001/values").mkdir(parents=True)
    shutil.copy(fleet / "clusters/c-001/values/argo-cd.yaml", copy / "clusters/c-001/values/argo-cd.yaml")
    result = generate(copy, runners, shell, key_file(fleet, "c-001"))
    assert result.returncode != 0 and "kustomization.yaml" in result.stderr and result.stdout == ""
    # an empty output would make Argo CD prune everything the Application deployed
    for path in (copy / runners).iterdir():
        path.unlink()
    result = generate(copy, runners, shell, key_file(fleet, "c-001"))
    assert result.returncode != 0 and "no *.yaml files" in result.stderr


def test_argo_cd_values_follow_the_cmp_sidecar_contract(fleet):
    """Argo CD's CMP docs and the argo-helm chart: argocd-cmp-server entrypoint from var-files, the plugins
    socket directory, plugin.yaml from argocd-cmp-cm (key `<plugin>.yaml`), a /tmp of its own, user 999."""
    values = yaml.load((fleet / "clusters/c-002/values/argo-cd.yaml").read_text())
    assert values["configs"]["cmp"]["create"] is True
    plugin = values["configs"]["cmp"]["plugins"][PLUGIN]
    assert "discover" not in plugin  # named by the Applications; see the comment in the values file
    assert "kustomize.buildOptions" not in values["configs"]["cm"]
    assert "resource.customizations.health.argoproj.io_Application" in values["configs"]["cm"]
    repo_server = values["repoServer"]
    assert "initContainers" not in repo_server and "env" not in repo_server and "volumeMounts" not in repo_server
    (sidecar,) = repo_server["extraContainers"]
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert sidecar["image"].startswith("ghcr.io/getsops/sops:v3.") and sidecar["image"].endswith("-alpine")
    assert sidecar["securityContext"]["runAsUser"] == 999 and sidecar["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert mounts["/var/run/argocd"]["name"] == "var-files"
    assert mounts["/home/argocd/cmp-server/plugins"]["name"] == "plugins"
    config = mounts["/home/argocd/cmp-server/config/plugin.yaml"]
    assert (config["name"], config["subPath"]) == ("argocd-cmp-cm", f"{PLUGIN}.yaml")
    assert mounts["/tmp"]["name"] != "tmp"  # never the repo-server's own /tmp volume
    volumes = {v["name"]: v for v in repo_server["volumes"]}
    chart_volumes = {"var-files", "plugins", "tmp"}  # the chart's repo-server Deployment declares these
    assert {m["name"] for m in sidecar["volumeMounts"]} <= set(volumes) | chart_volumes
    assert volumes["argocd-cmp-cm"] == {"name": "argocd-cmp-cm", "configMap": {"name": "argocd-cmp-cm"}}
    assert volumes["sops-age"]["secret"] == {"secretName": "sops-age"}
    key_env = {e["name"]: e["value"] for e in sidecar["env"]}["SOPS_AGE_KEY_FILE"]
    age_mount = next(path for path, m in mounts.items() if m["name"] == "sops-age")
    assert key_env == f"{age_mount}/keys.txt"


def test_the_fleet_validates_and_no_plaintext_reaches_a_file_or_the_report(fleet, capsys):
    capsys.readouterr()
    assert main(["validate", str(fleet)]) == 0
    out, err = capsys.readouterr()
    assert "no findings" in out and CANARY not in out + err
    for path in fleet.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(fleet).parts:
            assert CANARY.encode() not in path.read_bytes(), path


def test_a_fleet_generated_with_ksops_is_converted_by_the_next_run(fleet, tmp_path, monkeypatch, capsys):
    """The KSOPS-era files of a cluster folder were generated (recorded in the manifest): the next run deletes them."""
    repo = tmp_path / "fleet"  # same folder name: the key directory is per repository name
    shutil.copytree(fleet, repo, symlinks=True)
    shutil.copytree(fleet.parent / "keys", tmp_path / "keys")
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    folder = "clusters/c-001/addons/runners"
    old = {
        f"{folder}/kustomization.yaml": "resources:\n  - ../../../../addons/runners\ngenerators:\n  - secret-generator.yaml\n",
        f"{folder}/secret-generator.yaml": (
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: runners-secrets\n  annotations:\n"
            "    config.kubernetes.io/function: |\n      exec:\n        path: ksops\nfiles:\n  - ./token.sops.yaml\n"
        ),
    }
    manifest_path = repo / ".gitops-kit/generated.json"
    manifest = json.loads(manifest_path.read_text())
    for path, text in old.items():
        (repo / path).write_text(text)
        manifest["files"][path] = hashlib.sha256(text.encode()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    args = ["new", "cluster", "c-001", "--repo", str(repo), "--flavor", "argocd", "--addons", ADDONS, "--no-input", "--no-commit"]
    capsys.readouterr()
    assert main(args) == 0
    assert "2 deleted" in capsys.readouterr().out
    assert not [path for path in old if (repo / path).exists()]
    assert (repo / folder / "token.sops.yaml").read_bytes() == (fleet / folder / "token.sops.yaml").read_bytes()


def test_a_pull_request_run_finds_the_application_that_reads_a_changed_secret(fleet, tmp_path, capsys):
    """--changed-since validates only the changed secret: the Application that reads its folder is found on disk."""
    repo = tmp_path / "fleet"
    shutil.copytree(fleet, repo, symlinks=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    token = repo / "clusters/c-002/addons/runners/token.sops.yaml"
    token.write_text(token.read_text() + "# rotated\n")  # outside the MAC: still a valid sops file
    subprocess.run([*git, "commit", "-qam", "rotate"], check=True, timeout=60)
    capsys.readouterr()
    assert main(["validate", "--changed-since", "HEAD~1", str(repo)]) == 0
    out = capsys.readouterr().out
    # the fixture's own token edit is in this commit too: two secrets, no Application among the loaded files
    assert "2 changed files" in out and "0 of 10 overlays affected" in out and "no findings" in out
    # moved into a subfolder no plugin source reads: the same partial run reports it
    (token.parent / "old").mkdir()
    subprocess.run([*git, "mv", str(token), str(token.parent / "old" / token.name)], check=True, timeout=60)
    subprocess.run([*git, "commit", "-qm", "move"], check=True, timeout=60)
    main(["validate", "--changed-since", "HEAD~1", str(repo)])
    out = capsys.readouterr().out
    assert "old/token.sops.yaml" in out and "ksops-decryption" in out and "never applies it" in out
