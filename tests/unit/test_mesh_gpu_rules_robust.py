"""Malformed shapes never crash the mesh, storage and GPU rules: every field replaced by odd values."""

from __future__ import annotations

import itertools

import pytest

from gitops_kit.model import DocRef, Document
from gitops_kit.rulebase import Context, all_rules

RULES = [
    "cilium-global-service", "csi-volume-access", "fleet-cluster-identity", "fleet-global-service-ports",
    "fleet-mesh-consistency", "fleet-pod-cidr", "gpu-mig-config", "gpu-operator-values", "gpu-resource-request",
    "gpu-time-slicing", "ingress-global-service", "ingress-nginx-retired",
]
ODD = [None, True, -1, 10**30, "", "x", [None], {"a": None}, "version: v1\nmig-configs: 3"]

SKELETONS = [
    {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "c"},
     "spec": {"chart": {"spec": {"chart": "cilium"}}, "values": {"cluster": {"name": "a", "id": 1}, "ipam": {"operator": {"clusterPoolIPv4PodCIDRList": ["10.1.0.0/16"]}}, "clustermesh": {"config": {"clusters": [{"name": "b"}]}}, "bpf": {"masquerade": False}}}},
    {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "g"},
     "spec": {"chart": {"spec": {"chart": "gpu-operator", "version": "v25.3.0"}}, "values": {"operator": {"defaultRuntime": "x"}, "mig": {"strategy": "single"}}}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "annotations": {"gitops-kit.io/gpu-model": "A100-40GB"}},
     "data": {"config.yaml": "version: v1\nmig-configs:\n  a:\n  - devices: all\n    mig-enabled: true\n    mig-devices: {1g.5gb: 9}\n", "s": "version: v1\nsharing:\n  timeSlicing:\n    resources: [{name: nvidia.com/gpu, replicas: 1}]\n"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "annotations": {"service.cilium.io/global": "true", "service.cilium.io/affinity": "x"}}, "spec": {"ports": [{"port": 80}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}, "spec": {"ingressClassName": "nginx", "rules": [{"http": {"paths": [{"backend": {"service": {"name": "s"}}}]}}]}},
    {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "spec": {"storageClassName": "cvmfs", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}}},
    {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "cvmfs"}, "provisioner": "cvmfs.csi.cern.ch"},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod"}, "spec": {"nodeSelector": {"nvidia.com/mig.config": "a"}, "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "p"}}],
     "containers": [{"name": "c", "volumeMounts": [{"name": "v"}], "resources": {"limits": {"nvidia.com/mig-1g.5gb": 1}}}]}},
]


def _leaf_paths(data, prefix=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield prefix + (key,)
            yield from _leaf_paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield prefix + (index,)
            yield from _leaf_paths(value, prefix + (index,))


def _replaced(data, path, value):
    import copy

    data = copy.deepcopy(data)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def _variants(rule):
    for skeleton in SKELETONS:
        if rule.kinds is not None and skeleton["kind"] not in rule.kinds:
            continue  # the rule never sees this kind
        yield skeleton
        for path, value in itertools.product(list(_leaf_paths(skeleton)), ODD):
            yield _replaced(skeleton, path, value)


def _run(rule, docs):
    ctx = Context()
    found = []
    if rule.scope == "document":
        for doc in docs:
            if rule.kinds is None or doc.kind in rule.kinds:
                found.extend(rule.check(doc, ctx))
        return found
    records = []
    for doc in docs:
        if rule.kinds is not None and doc.kind not in rule.kinds:
            continue
        record = rule.collect(doc, ctx)
        if record is not None:
            records.append(record)
    return list(rule.finish(records, ctx))


@pytest.mark.parametrize("rule_id", RULES)
def test_rule_survives_odd_values(rule_id):
    rule = all_rules()[rule_id]
    ref = DocRef("/nowhere/clusters/a/x.yaml", "clusters/a/x.yaml")
    for data in _variants(rule):
        docs = [Document(data, ref)] + [Document(s, ref) for s in SKELETONS]
        for violation in _run(rule, docs):
            assert isinstance(violation.message, str) and violation.message
