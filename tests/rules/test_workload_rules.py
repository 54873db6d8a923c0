"""Unit checks of the workload rules' building blocks (the fixtures cover whole documents)."""

from __future__ import annotations

import pytest

from gitops_kit.model import DocRef, Document, Severity
from gitops_kit.rulebase import Context
from gitops_kit.rules import pod_security_policy
from gitops_kit.rules._workloads import Container, pod_template, workload_containers
from gitops_kit.rules.build_storage_size_limit import is_builder


def _container(image: str) -> Container:
    return Container("c", {"name": "c", "image": image}, ("spec", "containers", 0), "containers")


@pytest.mark.parametrize(
    ("image", "builder"),
    [
        ("quay.io/buildah/stable:v1.40", True),
        ("quay.io/podman/stable", True),
        ("docker.io/moby/buildkit:v0.23.1", True),
        ("moby/buildkit:master-rootless", True),
        ("gcr.io/kaniko-project/executor:v1.23.2@sha256:abc", True),
        ("docker:27-dind", True),
        ("docker:27-cli", False),
        ("registry.example/team/stable:1", False),
        ("registry.example/executor:1", False),
        ("nginx:1.27", False),
    ],
)
def test_builder_images(image, builder):
    assert is_builder(_container(image), {}) is builder


def test_builder_images_option_adds_images():
    assert is_builder(_container("registry.cern.ch/ci/my-builder:1"), {"images": ["ci/my-builder"]})


@pytest.mark.parametrize(
    ("spec", "level"),
    [
        ({"privileged": True}, "privileged"),
        ({"hostNetwork": True}, "privileged"),
        ({"allowedCapabilities": ["*"]}, "privileged"),
        ({"runAsUser": {"rule": "MustRunAsNonRoot"}, "requiredDropCapabilities": ["ALL"], "allowPrivilegeEscalation": False}, "restricted"),
        ({"runAsUser": {"rule": "MustRunAsNonRoot"}}, "baseline"),
        ({}, "baseline"),
    ],
)
def test_psp_to_pod_security_level(spec, level):
    assert pod_security_policy.suggested_level(spec) == level


def test_psp_message_follows_target_version():
    doc = Document({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "p"}, "spec": {}}, DocRef("/x", "x"))
    [old] = pod_security_policy.check(doc, Context(targets={"kubernetes": "1.22"}))
    [new] = pod_security_policy.check(doc, Context())
    assert "deprecated since Kubernetes 1.21" in old.message and "no effect since Kubernetes 1.25" in new.message
    assert old.severity is Severity.INFO


def test_workload_helper_finds_every_pod_location():
    pod_spec = {"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]}
    docs = {
        "Pod": pod_spec,
        "Deployment": {"template": {"spec": pod_spec}},
        "CronJob": {"jobTemplate": {"spec": {"template": {"spec": pod_spec}}}},
    }
    for kind, spec in docs.items():
        data = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, "spec": spec}
        found = [(c.name, c.list_name) for _, c in workload_containers(Document(data, DocRef("/x", "x")))]
        assert found == [("i", "initContainers"), ("a", "containers")], kind
    assert pod_template(Document({"kind": "ConfigMap", "data": {}}, DocRef("/x", "x"))) is None
    assert pod_template(Document({"kind": "Deployment", "spec": {"template": "oops"}}, DocRef("/x", "x"))) is None


def test_annotation_message_follows_target_version():
    from gitops_kit.rules import deprecated_annotation

    data = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "annotations": {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    doc = Document(data, DocRef("/x", "x"))
    [old] = deprecated_annotation.check(doc, Context(targets={"kubernetes": "1.22"}))
    [new] = deprecated_annotation.check(doc, Context())
    assert "deprecated since Kubernetes 1.19" in old.message
    assert "no effect since Kubernetes 1.25" in new.message
    assert new.path == ("metadata", "annotations", "seccomp.security.alpha.kubernetes.io/pod")
