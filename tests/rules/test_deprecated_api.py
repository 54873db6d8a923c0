"""deprecated-api: every row of the packaged table is detected, at the right severity for the target."""

from __future__ import annotations

import pytest

from gitops_kit.config import load_config
from gitops_kit.engine import validate
from gitops_kit.model import DocRef, Document, Severity
from gitops_kit.rulebase import Context
from gitops_kit.rules import deprecated_api
from gitops_kit.rules._versions import parse_version

ROWS = sorted(deprecated_api.table().rows(), key=lambda r: (r.component, r.api_version, r.kind))


def _doc(api_version: str, kind: str) -> Document:
    data = {"apiVersion": api_version, "kind": kind or "Anything", "metadata": {"name": "x", "namespace": "ns"}}
    return Document(data, DocRef("/nowhere.yaml", "nowhere.yaml"))


def _text(version) -> str:
    return f"{version[0]}.{version[1]}"


def test_table_is_large_and_covers_every_component():
    components = {row.component for row in ROWS}
    assert {"kubernetes", "flux", "cilium", "cert-manager"} <= components
    keys = {(r.api_version, r.kind) for r in ROWS}
    assert ("settings.k8s.io/v1alpha1", "PodPreset") in keys
    assert ("cilium.io/v2alpha1", "CiliumBGPPeeringPolicy") in keys
    assert ("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease") in keys


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.component}:{r.api_version}:{r.kind or '*'}")
def test_every_row_is_detected(row):
    doc = _doc(row.api_version, row.kind)
    if row.deprecated_in[1] > 0:  # one release earlier: nothing to report yet
        before = (row.deprecated_in[0], row.deprecated_in[1] - 1)
        assert list(deprecated_api.check(doc, Context(targets={row.component: _text(before)}))) == []

    deprecated_only = row.removed_in is None or row.removed_in > row.deprecated_in
    if deprecated_only:
        [warning] = deprecated_api.check(doc, Context(targets={row.component: _text(row.deprecated_in)}))
        assert warning.severity is Severity.WARNING
        assert "deprecated" in warning.message and _text(row.deprecated_in) in warning.message
        if row.replacement:
            assert row.replacement in warning.message
    if row.removed_in is not None:
        [error] = deprecated_api.check(doc, Context(targets={row.component: _text(row.removed_in)}))
        assert error.severity is Severity.ERROR
        assert "no longer served" in error.message and _text(row.removed_in) in error.message
        assert error.path == ("apiVersion",)
        if row.replacement:
            assert row.replacement in error.message


def test_current_api_versions_are_clean_at_latest():
    for api_version, kind in [
        ("apps/v1", "Deployment"),
        ("batch/v1", "CronJob"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
        ("notification.toolkit.fluxcd.io/v1beta3", "Alert"),
        ("cilium.io/v2", "CiliumLoadBalancerIPPool"),
        ("argoproj.io/v1alpha1", "Application"),
    ]:
        assert list(deprecated_api.check(_doc(api_version, kind), Context())) == []


def test_unset_target_means_latest_known_release():
    [finding] = deprecated_api.check(_doc("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease"), Context())
    assert finding.severity is Severity.ERROR
    [older] = deprecated_api.check(_doc("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease"), Context(targets={"flux": "2.6"}))
    assert older.severity is Severity.WARNING and "helm.toolkit.fluxcd.io/v2" in older.message


def test_version_parsing():
    assert parse_version("v1.33.2") == (1, 33)
    assert parse_version("2.9") == (2, 9)
    assert parse_version("latest") is None


def test_end_to_end_with_configured_targets(tmp_path):
    (tmp_path / ".gitops-kit.yaml").write_text("targets:\n  kubernetes: '1.24'\n", encoding="utf-8")
    (tmp_path / "cron.yaml").write_text(
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c, namespace: ops}\nspec: {}\n", encoding="utf-8"
    )
    report = validate([tmp_path], load_config(tmp_path), rules=["deprecated-api"])
    [finding] = report.findings
    assert (finding.severity, finding.line, finding.file) == (Severity.WARNING, 1, "cron.yaml")
    assert "batch/v1" in finding.message


@pytest.mark.parametrize(("option", "severity"), [("2.6", "warning"), ("2.8", "error")])
def test_cli_flux_version_option(tmp_path, capsys, option, severity):
    from gitops_kit.cli import main

    (tmp_path / "hr.yaml").write_text(
        "apiVersion: helm.toolkit.fluxcd.io/v2beta2\nkind: HelmRelease\nmetadata: {name: x, namespace: y}\nspec: {}\n",
        encoding="utf-8",
    )
    code = main(["validate", str(tmp_path), "--rule", "deprecated-api", "--flux-version", option, "-f", "json"])
    out = capsys.readouterr().out
    assert code == (1 if severity == "error" else 0)
    assert f'"severity": "{severity}"' in out and "helm.toolkit.fluxcd.io/v2 HelmRelease" in out


def test_table_rows_are_consistent():
    latest = deprecated_api.table().latest
    for row in ROWS:
        assert row.component in deprecated_api.COMPONENT_LABELS and row.component in latest, row
        assert row.removed_in is None or row.removed_in >= row.deprecated_in, row
        assert row.replacement != row.api_version, row
        assert "/" in row.api_version and (not row.replacement or "/" in row.replacement), row
