"""helm-values-schema: every chart schema is a valid JSON schema; mistyped values are never echoed."""

from __future__ import annotations

import json

import jsonschema
import pytest

from gitops_kit.model import DocRef, Document
from gitops_kit.resources import schemas_path
from gitops_kit.rulebase import Context
from gitops_kit.rules.helm_values_schema import check

CHARTS = ["cilium", "gpu-operator", "cvmfs-csi", "gitlab-runner", "kepler", "ingress-nginx"]


@pytest.mark.parametrize("chart", CHARTS)
def test_chart_schema_is_valid(chart):
    schema = json.loads(schemas_path("charts", f"{chart}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def _release(chart: str, values: dict) -> Document:
    data = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": chart, "namespace": "x"},
        "spec": {"chart": {"spec": {"chart": chart}}, "values": values},
    }
    return Document(data, DocRef("/x", "x"))


def test_mistyped_token_is_not_echoed():
    [violation] = check(_release("gitlab-runner", {"runnerToken": 987654321}), Context())
    assert "987654321" not in violation.message and "runnerToken" in violation.message


def test_argo_values_string_is_parsed_and_located_inside_the_string():
    data = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "gpu", "namespace": "argocd"},
        "spec": {"source": {"chart": "gpu-operator", "helm": {"values": "mig:\n  strategy: all\n"}}},
    }
    [violation] = check(Document(data, DocRef("/x", "x")), Context())
    # the path goes on inside the string; locate.position finds it in a `|` block (tests/unit/test_locate.py)
    assert violation.path == ("spec", "source", "helm", "values", "mig", "strategy") and "mig.strategy" in violation.message


def test_unknown_chart_is_not_checked():
    assert list(check(_release("my-own-chart", {"anything": 1}), Context())) == []
