"""cilium-global-service: Cluster Mesh service annotations carry values Cilium understands."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator

GLOBAL = "service.cilium.io/global"
#: annotation → its current name (Cilium still reads the legacy `io.cilium/*` aliases)
_BOOLEAN = {
    GLOBAL: GLOBAL,
    "io.cilium/global-service": GLOBAL,
    "service.cilium.io/shared": "service.cilium.io/shared",
    "io.cilium/shared-service": "service.cilium.io/shared",
    "service.cilium.io/global-sync-endpoint-slices": "service.cilium.io/global-sync-endpoint-slices",
}
_AFFINITY = {"service.cilium.io/affinity": "service.cilium.io/affinity", "io.cilium/service-affinity": "service.cilium.io/affinity"}
AFFINITY_VALUES = ("local", "remote", "none")
#: these only act on a global service; on any other Service they are silently ignored
_NEEDS_GLOBAL = {"service.cilium.io/shared", "service.cilium.io/affinity", "service.cilium.io/global-sync-endpoint-slices"}


def is_global(annotations: dict[str, Any] | Any) -> bool:
    """Cilium compares the lower-cased value with "true" (pkg/annotation)."""
    if not annotations or not isinstance(annotations, dict):
        return False  # most Services: no annotations at all, answered without a generator
    return any(isinstance(annotations.get(key), str) and annotations[key].lower() == "true" for key in (GLOBAL, "io.cilium/global-service"))


def _value_problem(key: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return f"annotation {key} must be a quoted string ({' or '.join(repr(a) for a in allowed)}), got {value!r}"
    if value.lower() not in allowed:
        return f"annotation {key} is {value!r}; Cilium understands only {', '.join(allowed)} and treats anything else as the default"
    return None


def check(doc: Document, ctx: Context) -> Iterable[Violation]:
    annotations = doc.annotations
    # most Services carry none of these annotations: no generator for them
    return _check(annotations) if any(key in _BOOLEAN or key in _AFFINITY for key in annotations) else ()


def _check(annotations: dict[str, Any]) -> Iterator[Violation]:
    global_service = is_global(annotations)
    for key, value in annotations.items():
        current = _BOOLEAN.get(key) or _AFFINITY.get(key)
        if current is None:
            continue
        path = ("metadata", "annotations", key)
        allowed = AFFINITY_VALUES if key in _AFFINITY else ("true", "false")
        problem = _value_problem(key, value, allowed)
        if problem:
            yield Violation(problem, path=path)
            continue
        if current != key:
            yield Violation(f"annotation {key} is a legacy alias; use {current}", path=path, severity=Severity.INFO, fix=f"Rename the annotation to {current}.")
        if current in _NEEDS_GLOBAL and not global_service:
            yield Violation(
                f"annotation {key} has no effect because the Service is not global ({GLOBAL}: \"true\" is missing)",
                path=path,
                severity=Severity.WARNING,
                fix=f'Add {GLOBAL}: "true" (in every cluster that serves it) or remove {key}.',
            )


RULE = Rule(
    id="cilium-global-service",
    severity=Severity.ERROR,
    kinds=frozenset({"Service"}),
    summary="Cilium Cluster Mesh annotations on a Service have values Cilium understands.",
    rationale=(
        "Cilium reads `service.cilium.io/global`, `/shared` and `/global-sync-endpoint-slices` as \"true\"/\"false\" "
        "and `/affinity` as local|remote|none; any other value (\"yes\", \"enabled\", \"Local-first\") is silently "
        "treated as the default, so the Service quietly stops load-balancing across clusters or sends traffic to the "
        "wrong side. `/shared`, `/affinity` and `/global-sync-endpoint-slices` do nothing unless the Service is global."
    ),
    fix='Quote the value and use "true"/"false" (affinity: local, remote or none).',
    check=check,
    example="""\
apiVersion: v1
kind: Service
metadata:
  name: api-service
  annotations:
    service.cilium.io/global: "yes"
    service.cilium.io/affinity: "local-first"
spec:
  ports: [{name: http, port: 8080, targetPort: 80}]
  selector: {app: api-service}
""",
    good_example="""\
apiVersion: v1
kind: Service
metadata:
  name: api-service
  annotations:
    service.cilium.io/global: "true"
    service.cilium.io/affinity: "local"
spec:
  ports: [{name: http, port: 8080, targetPort: 80}]
  selector: {app: api-service}
""",
    references=("https://docs.cilium.io/en/stable/network/clustermesh/services/",),
)
