"""`gitops-kit diff`: the merged Helm values of Argo CD Applications, on a fleet written by the real
`gitops-kit new cluster` (Argo CD flavour), with real git (GitPython) and real `kubectl kustomize`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git
import pytest

from gitops_kit.cli import main
from gitops_kit.diff import diff_objects, diff_values, secret_key
from tests.conftest import CANARY, commit_all, run_cli

CLUSTERS = ("c-001", "c-002")
ENC = "ENC[AES256_GCM,data:Zm9vYmFyYmF6cXV4,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFn,type:str]"


@pytest.fixture(scope="module")
def argo_fleet(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("argo-diff") / "fleet"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITOPS_KIT_KEY_DIR", str(repo.parent / "keys"))
        for name in CLUSTERS:  # each run commits what it wrote
            assert main(["new", "cluster", name, "--repo", str(repo), "--flavor", "argocd", "--no-input"]) == 0
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    return repo


@pytest.fixture
def fleet(argo_fleet, tmp_path) -> Path:
    return Path(shutil.copytree(argo_fleet, tmp_path / "fleet", symlinks=True))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _diff(repo: Path, *args: str):
    result = run_cli("diff", "--base", "HEAD", *args, cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stdout + result.stderr
    return result.stdout


CILIUM_SOURCE = """\
        valueFiles:
          - $values/clusters/c-001/values/cilium.yaml
"""


def test_a_values_file_change_names_the_application_and_the_key(fleet):
    _edit(fleet / "clusters/c-001/values/cilium.yaml", "  id: 1\n", "  id: 7\n")
    out = _diff(fleet)
    assert (
        "Helm values of Application argocd/cilium (chart cilium 1.19.*) in clusters/c-001/apps: 1 changed\n"
        "  ~ cluster.id: 1 → 7\n"
    ) in out
    assert "c-002" not in out  # the other cluster's Application reads its own, unchanged file
    assert out.splitlines()[-1] == (
        "1 overlay compared with HEAD, 0 with differences — objects: 0 added, 0 removed, 0 changed; "
        "Helm values changed in 1 Application"
    )


def test_inline_values_are_merged_over_the_values_file_and_secret_keys_are_masked(fleet):
    _edit(fleet / "clusters/c-001/apps/addons.yaml", CILIUM_SOURCE, CILIUM_SOURCE + (
        "        valuesObject:\n"
        "          cluster: {id: 9}\n"
        "          operator: {replicas: 1}\n"
        f"          hubble: {{relay: {{enabled: true}}, tls: {{server: {{key: {CANARY}}}}}}}\n"
        f"          extraEnv: [{{name: API_TOKEN, value: {CANARY}}}]\n"
        f"          signing: {{salt: '{ENC}'}}\n"
    ))
    text = _diff(fleet)
    section = text.split("Helm values of Application argocd/cilium (chart cilium 1.19.*) in clusters/c-001/apps: ")[1]
    lines = section.split("\nnote:")[0].splitlines()
    assert lines == [
        "5 added, 1 changed",
        "  ~ cluster.id: 1 → 9",  # valuesObject wins over the values file, as in Argo CD
        "  + extraEnv: added (value hidden)",  # a token's name inside a list item: hidden whole
        '  + hubble.relay: added {"enabled": true}',
        "  + hubble.tls.server: added (value hidden)",  # merged beside the file's hubble.tls.auto
        '  + operator: added {"replicas": 1}',
        "  + signing: added (value hidden)",  # salt and ENC[...]
    ]
    # the Application object itself changed too; its valuesObject holds a secret-looking key: hidden there as well
    assert "  ~ Application.argoproj.io argocd/cilium\n      spec.sources[0].helm.valuesObject: added (value hidden)\n" in text
    markdown = _diff(fleet, "--format", "markdown")  # _diff scans every output for the canary
    assert "+ hubble.tls.server: added (value hidden)" in markdown
    payload = json.loads(_diff(fleet, "--format", "json"))
    [values] = payload["helm_values"]
    assert {"path": "hubble.tls.server", "change": "added", "masked": True} in values["fields"]
    assert "Zm9vYmFyYmF6cXV4" not in text + markdown + json.dumps(payload)


def test_markdown_and_json_shapes(fleet):
    _edit(fleet / "clusters/c-001/values/cilium.yaml", "  id: 1\n", f"  id: 4\n  password: {CANARY}\n")
    markdown = _diff(fleet, "--format", "markdown")
    assert (
        "<details><summary>Helm values of Application <code>argocd/cilium</code> (chart <code>cilium 1.19.*</code>) "
        "in <code>clusters/c-001/apps</code>: 1 added, 1 changed</summary>\n\n```diff\n"
        "~ cluster.id: 1 → 4\n+ cluster.password: added (value hidden)\n```\n\n</details>\n"
    ) in markdown
    assert "; Helm values changed in 1 Application" in markdown
    payload = json.loads(_diff(fleet, "--format", "json"))
    assert payload["version"] == 1 and payload["minor_version"] == 1
    assert payload["overlays"][0]["status"] == "unchanged"  # no rendered object changed
    assert payload["helm_values"] == [{
        "kind": "Application", "object": "argocd/cilium", "chart": "cilium", "version": "1.19.*",
        "in": "clusters/c-001/apps", "counts": {"added": 1, "removed": 0, "changed": 1},
        "fields": [
            {"path": "cluster.id", "change": "changed", "masked": False, "old": 1, "new": 4},
            {"path": "cluster.password", "change": "added", "masked": True},
        ],
    }]


def test_values_from_a_sops_values_file_are_never_shown(fleet):
    # a *.sops.yaml values file not (yet) encrypted: the name says its values are secret, the keys do not
    (fleet / "clusters/c-001/values/cilium-mesh.sops.yaml").write_text(
        f"clustermesh:\n  config:\n    domain: {CANARY}\n", encoding="utf-8"
    )
    _edit(fleet / "clusters/c-001/apps/addons.yaml", CILIUM_SOURCE,
          CILIUM_SOURCE + "          - $values/clusters/c-001/values/cilium-mesh.sops.yaml\n")
    _edit(fleet / "clusters/c-001/values/cilium.yaml", "  id: 1\n", "  id: 3\n")
    out = _diff(fleet)
    assert "  ~ cluster.id: 1 → 3\n" in out
    assert "  ~ clustermesh.config.domain: changed (value hidden)\n" in out
    json_out = _diff(fleet, "--format", "json")
    assert CANARY not in json_out and "mesh.cilium.io" not in json_out  # the old value is not shown either


def test_a_values_file_that_does_not_parse_or_is_gone_is_a_located_note(fleet):
    (fleet / "clusters/c-001/values/cilium.yaml").write_text("cluster:\n  id: [2\n", encoding="utf-8")
    (fleet / "clusters/c-001/values/kepler.yaml").unlink()
    result = run_cli("diff", "--base", "HEAD", "--format", "json", cwd=fleet)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    payload = json.loads(result.stdout)
    assert payload["helm_values"] == []
    [note] = [n for n in payload["notifications"] if "cilium.yaml" in n]
    assert note.startswith("clusters/c-001/values/cilium.yaml:")
    assert "is not valid YAML (in the work tree; Helm values of Application argocd/cilium in clusters/c-001/apps not compared)" in note
    [gone] = [n for n in payload["notifications"] if "kepler.yaml" in n]
    assert gone.startswith("clusters/c-001/values/kepler.yaml: does not exist in this repository; Argo CD fails to sync")
    assert gone.endswith("(in the work tree; Helm values of Application argocd/kepler in clusters/c-001/apps not compared)")


def test_an_application_in_a_plain_file_and_an_unchanged_values_change(tmp_path):
    """Applications outside any kustomization are read from their files; a comment-only change shows nothing;
    an inline `helm.values` string is merged over the values file."""
    root = tmp_path / "repo"
    (root / "apps").mkdir(parents=True)
    (root / "values").mkdir()
    (root / "apps/runner.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: runner, namespace: argocd}\n"
        "spec:\n  project: default\n  destination: {server: https://kubernetes.default.svc, namespace: ci}\n"
        "  sources:\n    - repoURL: https://charts.gitlab.io\n      chart: gitlab-runner\n      targetRevision: 0.80.0\n"
        "      helm:\n        valueFiles: [$values/values/runner.yaml]\n"
        "        values: |\n          concurrent: 4\n"
        "    - {repoURL: https://git.example.org/fleet.git, targetRevision: HEAD, ref: values}\n",
        encoding="utf-8",
    )
    (root / "values/runner.yaml").write_text("concurrent: 2\nrunnerToken: old\n", encoding="utf-8")
    commit_all(root)
    (root / "values/runner.yaml").write_text("# tuned\nconcurrent: 2\nrunnerToken: old\n", encoding="utf-8")
    assert "Helm values" not in _diff(root)
    (root / "values/runner.yaml").write_text(f"concurrent: 2\nrunnerToken: {CANARY}\ncheckInterval: 5\n", encoding="utf-8")
    _edit(root / "apps/runner.yaml", "concurrent: 4", "concurrent: 8")
    out = _diff(root)
    assert "Helm values of Application argocd/runner (chart gitlab-runner 0.80.0) in apps/runner.yaml: 1 added, 2 changed\n" in out
    assert "  + checkInterval: added 5\n  ~ concurrent: 4 → 8\n  ~ runnerToken: changed (value hidden)\n" in out
    # a changed .gitops-kit.yaml affects everything: the Applications of plain files are still found
    (root / ".gitops-kit.yaml").write_text('targets:\n  kubernetes: "1.31"\n', encoding="utf-8")
    assert "in apps/runner.yaml: 1 added, 2 changed\n" in _diff(root)


# -- pure functions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "password", "adminPassword", "existingSecret", "secretName", "token", "runnerToken", "apiKey", "accessKeyId",
    "key", "tls.key", "ca.crt", "caBundle", "cert", "certValidityDuration", "clientCertificate", "passphrase",
    "privateKey", "credentials", "kubeconfig", "[name=auth.password]", "PASSWORD", "jwt_secret",
])
def test_secret_looking_keys(name):
    assert secret_key(name)


@pytest.mark.parametrize("name", [
    "cluster", "id", "replicas", "clusterPoolIPv4MaskSize", "cacheSize", "monkey", "keyboard", "passthrough",
    "enabled", "authMode", "domain", "[0]", "[name=web]", "gatewayAPI", "image",
])
def test_ordinary_keys(name):
    assert not secret_key(name)


def test_values_from_encrypted_files_hide_what_they_set_and_only_that():
    old = {"a": {"b": 1, "c": 1}, "d": [1, 2]}
    new = {"a": {"b": 2, "c": 2}, "d": [1, 3]}
    changes = diff_values(old, new, [{"a": {"b": "x"}}, {"d": "replaced"}])
    assert [c.text() for c in changes] == [
        "a.b: changed (value hidden)",
        "a.c: 1 → 2",
        "d: changed (value hidden)",  # a list the file sets: hidden whole, not item by item
    ]


def _object(kind: str, api: str, spec: dict) -> dict:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": "n"}, "spec": spec}


def test_object_diffs_mask_secret_keys_in_helm_values_of_every_kind():
    release = lambda v: _object("HelmRelease", "helm.toolkit.fluxcd.io/v2", {"values": v})  # noqa: E731
    [hr] = diff_objects([release({"auth": {"password": "a"}, "replicas": 1})],
                        [release({"auth": {"password": CANARY}, "replicas": 2})])
    assert [f.text() for f in hr.fields] == ["spec.values.auth.password: changed (value hidden)", "spec.values.replicas: 1 → 2"]

    def app(helm: dict, template: bool = False) -> dict:
        spec = {"sources": [{"chart": "c", "helm": helm}]}
        if template:
            return _object("ApplicationSet", "argoproj.io/v1alpha1", {"template": {"spec": spec}})
        return _object("Application", "argoproj.io/v1alpha1", spec)

    for template in (False, True):
        [changed] = diff_objects(
            [app({"values": "a: 1\n", "valuesObject": {"token": "a", "n": 1},
                  "parameters": [{"name": "auth.password", "value": "a"}, {"name": "image.tag", "value": "1"}]}, template)],
            [app({"values": f"a: 2\npassword: {CANARY}\n", "valuesObject": {"token": CANARY, "n": 2},
                  "parameters": [{"name": "auth.password", "value": CANARY}, {"name": "image.tag", "value": "2"}]}, template)],
        )
        prefix = "spec.template.spec." if template else "spec."
        assert [f.text() for f in changed.fields] == [
            f"{prefix}sources[0].helm.parameters[name=auth.password].value: changed (value hidden)",
            f'{prefix}sources[0].helm.parameters[name=image.tag].value: "1" → "2"',
            f"{prefix}sources[0].helm.values: changed (value hidden)",  # a YAML string: hidden whole
            f"{prefix}sources[0].helm.valuesObject.n: 1 → 2",
            f"{prefix}sources[0].helm.valuesObject.token: changed (value hidden)",
        ]
    # an ordinary object keeps its ordinary fields, even when their names look like secrets'
    [deployment] = diff_objects([_object("Deployment", "apps/v1", {"secretName": "a"})],
                                [_object("Deployment", "apps/v1", {"secretName": "b"})])
    assert [f.text() for f in deployment.fields] == ['spec.secretName: "a" → "b"']
