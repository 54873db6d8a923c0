"""Flux postBuild substitution: the pure functions, and end to end through a real render."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_kit import flux_vars
from gitops_kit.engine import validate
from gitops_kit.loader import load_text

from ..conftest import CANARY
from .test_render import write


def doc(text: str):
    docs, problems = load_text(text, "/x.yaml", "x.yaml")
    assert not problems
    return docs[0]


def test_substitute_follows_kustomize_controller_syntax():
    data = {
        "a": "${NAME}-x",
        "b": "${MISSING:=fallback}",
        "c": "${EMPTY:=used}",
        "d": "${EMPTY=kept-empty}",
        "e": "$${NAME}",
        "f": ["${SECRET}", {"${NAME}": 1}],
        "g": "${TYPO}",
        "h": 7,
    }
    variables = {"NAME": "prod", "EMPTY": "", "SECRET": flux_vars.UNKNOWN}
    result, unresolved = flux_vars.substitute(data, variables)
    assert result == {
        "a": "prod-x",
        "b": "fallback",
        "c": "used",
        "d": "",
        "e": "${NAME}",
        "f": ["${SECRET}", {"prod": 1}],
        "g": "",
        "h": 7,
    }
    assert unresolved == [("TYPO", ("g",))]


def test_sops_secret_values_are_present_but_unknown():
    secret = doc(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  TOKEN: ENC[AES256_GCM,data:abc,type:str]\n"
        "sops:\n  mac: ENC[AES256_GCM,data:x,type:str]\n  version: 3.9.0\n"
    )
    assert flux_vars.value_source(secret) == {"TOKEN": flux_vars.UNKNOWN}
    plain = doc("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  ID: Nw==\n")
    assert flux_vars.value_source(plain) == {"ID": "7"}


def test_later_sources_win_and_substitute_wins_over_all():
    flux = flux_vars.FluxKustomization(
        "apps",
        "flux-system",
        "apps/prod",
        substitute={"A": "inline"},
        substitute_from=[{"kind": "ConfigMap", "name": "one"}, {"kind": "Secret", "name": "two"}, {"kind": "ConfigMap", "name": "gone", "optional": True}, {"kind": "ConfigMap", "name": "absent"}],
    )
    sources = {
        ("ConfigMap", "flux-system", "one"): {"A": "1", "B": "1", "C": "1"},
        ("Secret", "flux-system", "two"): {"B": "2"},
    }
    resolution = flux_vars.resolve(flux, sources)
    assert resolution.variables == {"A": "inline", "B": "2", "C": "1"}
    assert resolution.missing_sources == ["ConfigMap/absent"]


@pytest.mark.skipif(shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no renderer")
def test_unresolved_variable_names_variable_and_flux_kustomization(tmp_path):
    repo = write(
        tmp_path,
        {
            "clusters/prod/apps.yaml": (
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n"
                "spec:\n  path: ./apps/prod\n  postBuild:\n    substitute: {CLUSTER_NAME: prod}\n"
                "    substituteFrom:\n      - {kind: Secret, name: cluster-secrets}\n"
            ),
            "clusters/prod/cluster-secrets.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata: {name: cluster-secrets, namespace: flux-system}\n"
                "stringData:\n  TOKEN: ENC[AES256_GCM,data:abc,type:str]\nsops:\n  version: 3.9.0\n"
            ),
            "apps/prod/kustomization.yaml": "namespace: prod\nresources:\n  - config.yaml\n",
            "apps/prod/config.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mesh\n  labels: {cluster: '${CLUSTER_NAME}'}\n"
                "data:\n  token: ${TOKEN}\n  id: ${CLUSTER_ID}\n"
            ),
            "apps/quiet/kustomization.yaml": "resources:\n  - disabled.yaml\n",
            "apps/quiet/disabled.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\n  annotations:\n"
                "    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  run: echo ${HOME}\n"
            ),
        },
    )
    report = validate([repo], rules=["flux-substitution"])
    found = [(f.file, f.line, f.overlays) for f in report.findings]
    assert found == [("apps/prod/config.yaml", 8, ("apps/prod",))]
    message = report.findings[0].message
    assert "${CLUSTER_ID}" in message and "Kustomization flux-system/apps" in message
    assert CANARY not in message


@pytest.mark.skipif(shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no renderer")
def test_two_clusters_sharing_one_path_are_substituted_separately(tmp_path):
    def flux(cluster: str, variables: str) -> str:
        return (
            f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: apps-{cluster}, namespace: flux-system}}\n"
            f"spec:\n  path: ./apps/shared\n  postBuild:\n    substitute: {variables}\n"
        )

    repo = write(
        tmp_path,
        {
            "clusters/a/apps.yaml": flux("a", "{CLUSTER_NAME: a, CLUSTER_ID: '1'}"),
            "clusters/b/apps.yaml": flux("b", "{CLUSTER_NAME: b}"),
            "apps/shared/kustomization.yaml": "resources:\n  - mesh.yaml\n",
            "apps/shared/mesh.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mesh\ndata:\n  name: ${CLUSTER_NAME}\n  id: '${CLUSTER_ID}'\n"
            ),
        },
    )
    report = validate([repo], rules=["flux-substitution", "duplicate-object"])
    assert [(f.rule_id, f.file, f.line, f.overlays) for f in report.findings] == [
        ("flux-substitution", "apps/shared/mesh.yaml", 7, ("apps/shared (flux-system/apps-b)",))
    ]
    assert "Kustomization flux-system/apps-b" in report.findings[0].message


def test_each_cluster_reads_its_own_cluster_vars():
    from gitops_kit.model import DocRef, Document

    def at(file, text):
        import yaml_rs

        return Document(yaml_rs.loads(text, parse_datetime=False), DocRef("/r/" + file, file))

    vars_text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cluster-vars, namespace: flux-system}}\ndata: {{CLUSTER_ID: '{id}'}}\n"
    flux_text = (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\n"
        "spec:\n  path: ./apps\n  postBuild:\n    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]\n"
    )
    docs = [
        at("clusters/c-001/cluster-vars.yaml", vars_text.format(id=1)),
        at("clusters/c-001/apps.yaml", flux_text),
        at("clusters/c-002/cluster-vars.yaml", vars_text.format(id=2)),
        at("clusters/c-002/apps.yaml", flux_text),
    ]
    kustomizations, sources = flux_vars.find(docs)
    assert [flux_vars.resolve(k, sources).variables["CLUSTER_ID"] for k in kustomizations] == ["1", "2"]


def test_closest_sources_share_the_longest_folder_prefix_in_order():
    from gitops_kit.flux_vars import closest

    sources = ["clusters/a/vars.yaml", "clusters/b/vars.yaml", "shared/vars.yaml", "clusters/b/more/vars.yaml"]
    # a deeper folder shares the same prefix as the file's own folder: both are closest, the first wins
    assert closest(sources, "clusters/b/flux.yaml") == ["clusters/b/vars.yaml", "clusters/b/more/vars.yaml"]
    assert closest(sources, "clusters/a/flux.yaml") == ["clusters/a/vars.yaml"]
    assert closest(sources, "clusters/c/flux.yaml") == ["clusters/a/vars.yaml", "clusters/b/vars.yaml", "clusters/b/more/vars.yaml"]
    assert closest(sources, "other/flux.yaml") == sources
    assert closest([], "x.yaml") == []
