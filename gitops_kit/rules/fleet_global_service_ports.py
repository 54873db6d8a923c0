"""fleet-global-service-ports: a Cilium global Service exposes the same ports in every cluster."""

from __future__ import annotations

from ..model import DocRef, Document, Severity, Violation
from ..rulebase import Context, Record, Rule
from ._fleet import cluster_of
from .cilium_global_service import is_global

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator


class GlobalService(Record):
    __slots__ = ()
    cluster: str
    key: tuple[str, str]
    ports: tuple[tuple[str, Any, str], ...]
    ref: DocRef
    object: str


def collect(doc: Document, ctx: Context) -> GlobalService | None:
    if not is_global(doc.annotations):
        return None
    cluster = cluster_of(doc, ctx.services.get("fleet"))
    if cluster is None:
        return None
    spec = doc.data.get("spec")
    ports = spec.get("ports") if isinstance(spec, dict) else None
    normalized = sorted(
        (
            (str(p.get("name") or ""), p.get("port"), str(p.get("protocol") or "TCP"))
            for p in (ports if isinstance(ports, list) else [])
            if isinstance(p, dict)
        ),
        key=lambda item: (item[0], str(item[1]), item[2]),
    )
    return GlobalService(cluster, (doc.namespace, doc.name), tuple(normalized), doc.ref, doc.object_id)


def _describe(ports: tuple[tuple[str, Any, str], ...]) -> str:
    return ", ".join(f"{name + ':' if name else ''}{port}/{protocol}" for name, port, protocol in ports) or "no ports"


def finish(records: list[GlobalService], ctx: Context) -> Iterator[Violation]:
    first: dict[tuple[str, str], GlobalService] = {}
    for record in records:
        earlier = first.setdefault(record.key, record)
        if earlier is record or earlier.cluster == record.cluster or earlier.ports == record.ports:
            continue
        yield Violation(
            f"global Service {record.object} has ports [{_describe(record.ports)}] in cluster {record.cluster!r} but "
            f"[{_describe(earlier.ports)}] in cluster {earlier.cluster!r} ({earlier.ref.file}); Cilium merges the "
            "backends of all clusters by port, so mismatched ports drop traffic",
            path=("spec", "ports"),
            ref=record.ref,
            object=record.object,
        )


RULE = Rule(
    id="fleet-global-service-ports",
    severity=Severity.ERROR,
    scope="repository",
    kinds=frozenset({"Service"}),
    summary="A Cilium global Service has the same ports in every cluster that defines it.",
    rationale=(
        "A global Service is one Service per cluster with the same name and namespace; Cilium load-balances a "
        "frontend port to the backends of every cluster that expose that port. If the clusters disagree on ports, "
        "requests on a port some clusters lack fail there, and failover silently stops working. The cluster of an "
        "object is its overlay or file under `clusters/<name>/`, or a folder named after a fleet cluster (e.g. "
        "`infrastructure/configs/<name>`)."
    ),
    fix="Define the same ports (name, port, protocol) for the Service in every cluster, ideally from one shared base.",
    collect=collect,
    finish=finish,
    example="""\
# clusters/cilium-001/api-service.yaml
apiVersion: v1
kind: Service
metadata: {name: api-service, annotations: {service.cilium.io/global: "true"}}
spec: {ports: [{name: http, port: 8080, targetPort: 80}], selector: {app: api-service}}
# clusters/cilium-002/api-service.yaml
apiVersion: v1
kind: Service
metadata: {name: api-service, annotations: {service.cilium.io/global: "true"}}
spec: {ports: [{name: http, port: 80, targetPort: 80}], selector: {app: api-service}}
""",
    good_example="""\
# clusters/cilium-001/api-service.yaml and clusters/cilium-002/api-service.yaml, identical:
apiVersion: v1
kind: Service
metadata: {name: api-service, annotations: {service.cilium.io/global: "true"}}
spec: {ports: [{name: http, port: 8080, targetPort: 80}], selector: {app: api-service}}
""",
    references=("https://docs.cilium.io/en/stable/network/clustermesh/services/",),
)
