"""ingress-global-service: an ingress-nginx Ingress in front of a Cilium global Service reaches remote backends."""

from __future__ import annotations

from ..model import DocRef, Document, PathPart, Severity, Violation
from ..rulebase import Context, Record, Rule
from .cilium_global_service import is_global

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

SYNC = "service.cilium.io/global-sync-endpoint-slices"
UPSTREAM = "nginx.ingress.kubernetes.io/service-upstream"
LEGACY_CLASS = "kubernetes.io/ingress.class"


class ServiceRecord(Record):
    __slots__ = ()
    namespace: str
    name: str
    synced: bool
    ref: DocRef
    object: str


class IngressRecord(Record):
    __slots__ = ()
    namespace: str
    upstream: bool
    #: (service name, path of the backend service reference)
    backends: tuple[tuple[str, tuple[PathPart, ...]], ...]
    ref: DocRef
    object: str


def _true(value: Any) -> bool:
    return isinstance(value, str) and value.lower() == "true"


def is_nginx_ingress(doc: Document) -> bool:
    spec = doc.data.get("spec")
    class_name = spec.get("ingressClassName") if isinstance(spec, dict) else None
    if not isinstance(class_name, str):
        class_name = doc.annotations.get(LEGACY_CLASS)
    return isinstance(class_name, str) and "nginx" in class_name.lower()


def _backends(spec: dict) -> Iterator[tuple[str, tuple[PathPart, ...]]]:
    default = spec.get("defaultBackend")
    name = default.get("service", {}).get("name") if isinstance(default, dict) and isinstance(default.get("service"), dict) else None
    if isinstance(name, str):
        yield name, ("spec", "defaultBackend", "service", "name")
    rules = spec.get("rules")
    for r, rule in enumerate(rules if isinstance(rules, list) else []):
        paths = rule.get("http", {}).get("paths") if isinstance(rule, dict) and isinstance(rule.get("http"), dict) else None
        for p, item in enumerate(paths if isinstance(paths, list) else []):
            backend = item.get("backend") if isinstance(item, dict) else None
            service = backend.get("service") if isinstance(backend, dict) else None
            if isinstance(service, dict) and isinstance(service.get("name"), str):
                yield service["name"], ("spec", "rules", r, "http", "paths", p, "backend", "service", "name")


def collect(doc: Document, ctx: Context) -> Any:
    if doc.kind == "Service":
        annotations = doc.annotations
        spec = doc.data.get("spec")
        headless = isinstance(spec, dict) and spec.get("clusterIP") == "None"
        if not is_global(annotations):
            return None
        # Cilium syncs EndpointSlices of headless global Services by default
        synced = _true(annotations.get(SYNC)) or (headless and SYNC not in annotations)
        return ServiceRecord(doc.namespace, doc.name, synced, doc.ref, doc.object_id)
    if doc.kind == "Ingress" and is_nginx_ingress(doc):
        spec = doc.data.get("spec")
        backends = tuple(_backends(spec)) if isinstance(spec, dict) else ()
        if backends:
            return IngressRecord(doc.namespace, _true(doc.annotations.get(UPSTREAM)), backends, doc.ref, doc.object_id)
    return None


def finish(records: list[Any], ctx: Context) -> Iterator[Violation]:
    services = {(r.namespace, r.name): r for r in records if isinstance(r, ServiceRecord)}
    reported_services: set[tuple[str, str]] = set()
    for ingress in (r for r in records if isinstance(r, IngressRecord)):
        global_backends = [(name, path) for name, path in ingress.backends if (ingress.namespace, name) in services]
        if not global_backends:
            continue
        if not ingress.upstream:
            names = ", ".join(sorted({name for name, _ in global_backends}))
            yield Violation(
                f"ingress-nginx routes to global Service(s) {names} but the Ingress lacks {UPSTREAM}: \"true\"; without it NGINX "
                "balances over pod endpoints itself instead of the Service ClusterIP that Cilium load-balances across "
                "clusters (cilium/cilium#25818)",
                path=("metadata",),
                ref=ingress.ref,
                object=ingress.object,
                fix=f'Add the annotation {UPSTREAM}: "true" to this Ingress.',
            )
        for name, _path in global_backends:
            service = services[(ingress.namespace, name)]
            if service.synced or (service.namespace, service.name) in reported_services:
                continue
            reported_services.add((service.namespace, service.name))
            yield Violation(
                f"global Service {name!r} backs the ingress-nginx Ingress {ingress.object} ({ingress.ref.file}) but lacks "
                f"{SYNC}: \"true\"; a third-party ingress controller sees only local endpoints without it",
                path=("metadata", "annotations"),
                ref=service.ref,
                object=service.object,
                fix=f'Add the annotation {SYNC}: "true" to this Service (and enable clustermesh.enableEndpointSliceSynchronization).',
            )


RULE = Rule(
    id="ingress-global-service",
    severity=Severity.ERROR,
    scope="scope",
    kinds=frozenset({"Service", "Ingress"}),
    summary="A Cilium global Service behind an ingress-nginx Ingress syncs its EndpointSlices, and the Ingress uses the service upstream.",
    rationale=(
        "ingress-nginx balances over the EndpointSlices of a Service, which hold only local pods unless Cilium syncs "
        "the remote ones (`service.cilium.io/global-sync-endpoint-slices: \"true\"`). The CERN Cluster Mesh setup also "
        "needed `nginx.ingress.kubernetes.io/service-upstream: \"true\"` on the Ingress so that NGINX sends traffic to "
        "the Service's ClusterIP, which Cilium load-balances across clusters (cilium/cilium#25818). Without either, the "
        "ingress never fails over to the other cluster. Service and Ingress are joined within one scope."
    ),
    fix='Annotate the Service with service.cilium.io/global-sync-endpoint-slices: "true" and the Ingress with nginx.ingress.kubernetes.io/service-upstream: "true".',
    collect=collect,
    finish=finish,
    example="""\
apiVersion: v1
kind: Service
metadata:
  name: api-service
  annotations: {service.cilium.io/global: "true"}
spec:
  ports: [{name: http, port: 8080, targetPort: 80}]
  selector: {app: api-service}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: sample-http-ingress}
spec:
  ingressClassName: nginx
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api-service, port: {number: 8080}}}}
""",
    good_example="""\
apiVersion: v1
kind: Service
metadata:
  name: api-service
  annotations:
    service.cilium.io/global: "true"
    service.cilium.io/global-sync-endpoint-slices: "true"
spec:
  ports: [{name: http, port: 8080, targetPort: 80}]
  selector: {app: api-service}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: sample-http-ingress
  annotations: {nginx.ingress.kubernetes.io/service-upstream: "true"}
spec:
  ingressClassName: nginx
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api-service, port: {number: 8080}}}}
""",
    references=("https://github.com/cilium/cilium/issues/25818", "https://docs.cilium.io/en/stable/network/clustermesh/services/"),
)
