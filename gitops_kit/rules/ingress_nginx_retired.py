"""ingress-nginx-retired: deploying ingress-nginx, which Kubernetes retired in March 2026."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

CHART = "ingress-nginx"
CONTROLLER = "k8s.io/ingress-nginx"
MESSAGE = (
    "ingress-nginx is retired (maintenance ended 2026-03-24: no releases, bug fixes or security fixes); "
    "plan a move to Gateway API (gateway.networking.k8s.io, e.g. Cilium's gatewayAPI.enabled) — ingress2gateway converts Ingresses"
)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    data = doc.data
    if doc.kind == "HelmRelease" and doc.group == "helm.toolkit.fluxcd.io" and _get(data, "spec", "chart", "spec", "chart") == CHART:
        yield Violation(MESSAGE, path=("spec", "chart", "spec", "chart"))
    elif doc.kind == "Application" and doc.group == "argoproj.io":
        many = _get(data, "spec", "sources")
        sources = [(("spec", "source"), _get(data, "spec", "source"))]
        sources += [(("spec", "sources", i), s) for i, s in enumerate(many if isinstance(many, list) else [])]
        for path, source in sources:
            if isinstance(source, dict) and source.get("chart") == CHART:
                yield Violation(MESSAGE, path=(*path, "chart"))
                break
    elif doc.kind == "IngressClass" and _get(data, "spec", "controller") == CONTROLLER:
        yield Violation(MESSAGE, path=("spec", "controller"))


RULE = Rule(
    id="ingress-nginx-retired",
    severity=Severity.INFO,
    kinds=frozenset({"HelmRelease", "Application", "IngressClass"}),
    summary="ingress-nginx is deployed, but the project was retired in March 2026; Gateway API is its successor.",
    rationale=(
        "SIG Network and the Security Response Committee retired ingress-nginx on 2026-03-24: existing deployments "
        "keep working and the chart and images stay available, but no release will fix a bug or a vulnerability "
        "again. Gateway API (GatewayClass, Gateway, HTTPRoute, all v1) is the recommended successor; Cilium ships an "
        "implementation. Reported once per controller deployment (HelmRelease, Argo CD Application or IngressClass), "
        "not per Ingress."
    ),
    fix="Plan the migration to Gateway API (ingress2gateway converts Ingress objects); silence this with `rules: {ingress-nginx-retired: off}` once planned.",
    check=check,
    example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: ingress-nginx, namespace: ingress-nginx}
spec:
  interval: 30m
  chart:
    spec:
      chart: ingress-nginx
      version: 4.12.1
      sourceRef: {kind: HelmRepository, name: ingress-nginx}
""",
    good_example="""\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: gateway}
spec:
  gatewayClassName: cilium
  listeners: [{name: http, protocol: HTTP, port: 80}]
""",
    references=("https://kubernetes.io/blog/2025/11/11/ingress-nginx-retirement/", "https://gateway-api.sigs.k8s.io/"),
)
