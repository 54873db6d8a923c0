"""The pure-Python accept path never accepts what jsonschema_rs rejects, and does accept clean objects."""

from __future__ import annotations

import copy
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_kit import _native
from gitops_kit.loader import load_file
from gitops_kit.schema_accept import accepts
from gitops_kit.schemas import SchemaService, Validator, cached_bundle_schema, prepare, relax

from ..conftest import ROOT as REPO_ROOT

KUBERNETES = "1.31"


def _real_objects() -> list[dict]:
    """Every Kubernetes object of the examples and the rule fixtures that has a built-in or bundled schema."""
    objects = []
    for top in ("examples", "tests/fixtures/rules"):
        for directory, _dirs, files in os.walk(REPO_ROOT / top):
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")):
                    path = os.path.join(directory, name)
                    documents, _problems = load_file(path, name)
                    objects.extend(d.data for d in documents if isinstance(d.data, dict) and "kind" in d.data)
    return objects


def _schema(data: dict, strict: bool):
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    schema = cached_bundle_schema(KUBERNETES, api_version, kind)
    if schema is None:
        return None
    return schema if strict else relax(schema)


def _valid_by_jsonschema_rs(schema, data) -> bool:
    try:
        return not list(_native.jsonschema_rs().validator_for(schema, validate_formats=False).iter_errors(data))
    except (ValueError, TypeError, OverflowError):
        return False


REAL = _real_objects()


def test_there_are_real_objects_of_many_kinds():
    assert len({(o.get("apiVersion"), o.get("kind")) for o in REAL}) >= 20


@pytest.mark.parametrize("strict", [False, True])
def test_never_accepts_what_jsonschema_rs_rejects_on_real_objects(strict):
    accepted = rejected_by_rs = 0
    for data in REAL:
        schema = _schema(data, strict)
        if schema is None:
            continue
        instance = prepare(data)
        if accepts(schema, instance):
            accepted += 1
            assert _valid_by_jsonschema_rs(schema, instance), (data.get("kind"), data.get("metadata"))
        elif not _valid_by_jsonschema_rs(schema, instance):
            rejected_by_rs += 1
    assert accepted > 50  # the fast path is taken for ordinary objects, not only declined
    assert rejected_by_rs > 0  # the fixtures include invalid objects, and those were not accepted


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "imagePullPolicy": "IfNotPresent",
                        "resources": {"limits": {"memory": "128Mi", "cpu": 0.5}},
                        "livenessProbe": {"httpGet": {"path": "/", "port": "http"}},
                    }
                ],
                "securityContext": {"runAsNonRoot": True},
            },
        },
    },
}

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.sampled_from(["", "web", "Always", "TCP", "IfNotPresent", "1", "8080"]), st.just([]), st.just({}),
    st.just([{"name": "x"}]), st.just({"a": 1}), st.just({1: "int key"}),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


PATHS = [p for p in _paths(DEPLOYMENT) if p]


@st.composite
def mutated_deployments(draw):
    data = copy.deepcopy(DEPLOYMENT)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        parent = data
        try:
            for part in path[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        last = path[-1]
        if action == "delete" and isinstance(parent, dict):
            parent.pop(last, None)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "replica", "imagePullPolicy", "x-y"]))] = draw(VALUES)
        else:
            try:
                parent[last] = draw(VALUES)
            except (IndexError, TypeError):
                pass
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_deployments(), strict=st.booleans())
def test_never_accepts_what_jsonschema_rs_rejects_on_mutations(data, strict):
    schema = _schema(DEPLOYMENT, strict)
    if accepts(schema, data):
        assert _valid_by_jsonschema_rs(schema, data), data


def test_the_validator_reports_the_same_issues_whichever_path_runs_first():
    """A validator that starts on the accept path and one compiled up front give the same messages."""
    schema = relax(cached_bundle_schema(KUBERNETES, "apps/v1", "Deployment"))
    broken = copy.deepcopy(DEPLOYMENT)
    broken["spec"]["replicas"] = "two"
    lazy = Validator.build(schema)
    eager = Validator(schema, _native.jsonschema_rs().validator_for(schema, validate_formats=False))
    assert lazy.compiled is None
    assert lazy.issues(DEPLOYMENT) == [] and lazy.compiled is None  # accepted without jsonschema_rs
    assert [i.message for i in lazy.issues(broken)] == [i.message for i in eager.issues(broken)] != []
    assert lazy.compiled is not None


def test_a_long_run_switches_to_the_compiled_validator():
    validator = SchemaService().validator("v1", "ConfigMap")
    for _ in range(Validator.QUICK_CHECKS):
        assert validator.issues({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}) == []
    assert validator.compiled is None
    validator.issues({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    assert validator.compiled is not None
