"""chart-version: the data file is self-consistent and ranges are judged by the version Helm would install."""

from __future__ import annotations

import pytest

from gitops_kit.rules.chart_version import INF, ceiling, table

SCAFFOLDED = {"cilium", "gpu-operator", "cvmfs-csi", "gitlab-runner", "kepler", "ingress-nginx", "kube-prometheus-stack"}


def test_every_scaffolded_chart_has_sourced_facts():
    charts = table()
    assert set(charts) == SCAFFOLDED
    for name, facts in charts.items():
        assert facts["sources"], name
        if facts.get("floor"):
            assert facts.get("reason"), f"{name}: a floor needs its reason"


@pytest.mark.parametrize("name", sorted(SCAFFOLDED))
def test_generated_versions_clear_their_floor(name):
    facts = table()[name]
    if not facts.get("generated"):
        return
    top = ceiling(facts["generated"])
    assert top is not None, f"{name}: gitops-kit generates an unbounded version"
    if facts.get("floor"):
        floor = tuple(int(p) for p in facts["floor"].split("."))
        assert top >= floor


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("1.19.x", (1, 19, INF)),
        ("v26.7.*", (26, 7, INF)),
        ("2.5.0", (2, 5, 0)),
        ("~1.16.2", (1, 16, INF)),
        ("^0.86.0", (0, 86, INF)),
        ("^1.19", (1, INF, INF)),
        ("<1.17", (1, 16, INF)),
        ("<=1.16.5", (1, 16, 5)),
        (">=75.0.0 <90.0.0", (89, INF, INF)),
        (">= 1.2, < 1.4", (1, 3, INF)),
        ("1.16 || 1.18.x", (1, 18, INF)),
        (">=1.17", None),
        ("1.16 || >=2", None),
    ],
)
def test_ceiling(constraint, expected):
    assert ceiling(constraint) == expected


def test_not_a_constraint():
    with pytest.raises(ValueError):
        ceiling("stable")
