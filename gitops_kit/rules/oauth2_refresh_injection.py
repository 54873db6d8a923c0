"""oauth2-refresh-injection: the to-inject annotation of CERN's oauth2-refresh-controller, checked across a scope."""

from __future__ import annotations

from ..model import DocRef, Document, PathPart, Severity, Violation
from ..rulebase import Context, Record, Rule
from ._workloads import WORKLOAD_KINDS, containers, pod_template

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

TO_INJECT = "oauth2-refresh-controller.cern.ch/to-inject"
IS_TOKEN = "oauth2-refresh-controller.cern.ch/is-token"


class Injection(Record):
    __slots__ = ()
    secret: str
    container: str
    template: str  # "" when unset
    index: int


class PodRecord(Record):
    __slots__ = ()
    ref: DocRef
    object: str
    namespace: str
    path: tuple[PathPart, ...]
    injections: tuple[Injection, ...]
    containers: frozenset[str]
    problems: tuple[str, ...]  # shape errors found while parsing the annotation


class NamedRecord(Record):
    __slots__ = ()
    kind: str  # Secret | ConfigMap
    namespace: str
    name: str
    is_token: bool


def parse_annotation(text: Any) -> tuple[tuple[Injection, ...], tuple[str, ...]]:
    """The injections the annotation asks for, and what is wrong with its shape."""
    if not isinstance(text, str):
        return (), ("must be a string holding a JSON list",)
    import json  # only objects carrying the annotation get here

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return (), (f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",)
    if not isinstance(value, list) or not value:
        return (), ("must be a non-empty JSON list of objects",)
    injections, problems = [], []
    for index, item in enumerate(value):
        where = f"entry {index}"
        if not isinstance(item, dict):
            problems.append(f"{where} is not an object")
            continue
        secret, container, owner = item.get("secretName"), item.get("container"), item.get("owner")
        template = item.get("templateConfigMapName", "")
        bad = []
        if not (isinstance(secret, str) and secret):
            bad.append("secretName must be a non-empty string")
        if not (isinstance(container, str) and container):
            bad.append("container must be a non-empty string")
        if isinstance(owner, bool) or not isinstance(owner, int) or owner < 0:
            bad.append("owner must be a non-negative integer (the token file's UID/GID), e.g. 0 or 1000")
        if not isinstance(template, str):
            bad.append("templateConfigMapName must be a string")
        if bad:
            problems.append(f"{where}: " + "; ".join(bad))
            continue
        injections.append(Injection(secret, container, template, index))
    return tuple(injections), tuple(problems)


def collect(doc: Document, ctx: Context) -> PodRecord | NamedRecord | None:
    kind = doc.kind
    if (kind == "Secret" or kind == "ConfigMap") and doc.api_version == "v1":
        # doc.namespace, doc.name and doc.annotations, reading metadata once: every Secret and ConfigMap gets here
        meta = doc.data.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        namespace, name, annotations = meta.get("namespace"), meta.get("name"), meta.get("annotations")
        token = annotations.get(IS_TOKEN, "") if isinstance(annotations, dict) else ""
        return NamedRecord(
            kind, namespace if isinstance(namespace, str) else "", name if isinstance(name, str) else "", str(token).lower() == "true"
        )
    pod = pod_template(doc)
    if pod is None or TO_INJECT not in pod.annotations:
        return None
    injections, problems = parse_annotation(pod.annotations[TO_INJECT])
    names = frozenset(c.name for c in containers(pod) if c.list_name != "ephemeralContainers")
    return PodRecord(doc.ref, doc.object_id, doc.namespace, pod.annotations_path + (TO_INJECT,), injections, names, problems)


def _same_namespace(a: str, b: str) -> bool:
    # an unset namespace is filled in at apply time (kustomize namespace, Flux targetNamespace)
    return a == b or not a or not b


def finish(records: list[Any], ctx: Context) -> Iterator[Violation]:
    named = [r for r in records if isinstance(r, NamedRecord)]
    for pod in (r for r in records if isinstance(r, PodRecord)):
        def violation(message: str, fix: str, severity: Severity | None = None) -> Violation:
            return Violation(f"{TO_INJECT}: {message}", path=pod.path, ref=pod.ref, object=pod.object, fix=fix, severity=severity)

        for problem in pod.problems:
            yield violation(problem, 'Write a JSON list like [{"secretName": "my-token", "container": "app", "owner": 0}].')
        for item in pod.injections:
            if item.container not in pod.containers:
                known = ", ".join(sorted(pod.containers)) or "none"
                yield violation(
                    f"entry {item.index} injects into container {item.container!r}, which this pod does not have (containers: {known})",
                    "Name one of the pod's containers in \"container\".",
                )
            secrets = [r for r in named if r.kind == "Secret" and r.name == item.secret and _same_namespace(r.namespace, pod.namespace)]
            if secrets and not any(s.is_token for s in secrets):
                yield violation(
                    f"Secret {item.secret} is not annotated {IS_TOKEN}: \"true\", so the controller never refreshes it",
                    f"Add the annotation {IS_TOKEN}: \"true\" to Secret {item.secret}.",
                )
            if item.template and not any(
                r.kind == "ConfigMap" and r.name == item.template and _same_namespace(r.namespace, pod.namespace) for r in named
            ):
                yield violation(
                    f"entry {item.index} uses templateConfigMapName {item.template!r}, but no such ConfigMap is defined here",
                    f"Add ConfigMap {item.template} (key template, e.g. oauth2:$(ACCESS_TOKEN):auth.cern.ch/...) next to the pod.",
                    Severity.WARNING,
                )


RULE = Rule(
    id="oauth2-refresh-injection",
    severity=Severity.ERROR,
    scope="scope",
    kinds=WORKLOAD_KINDS | {"Secret", "ConfigMap"},
    summary="The oauth2-refresh-controller.cern.ch/to-inject annotation is not a valid JSON list, names a missing container or template ConfigMap, or points at a Secret without is-token.",
    rationale=(
        "CERN's oauth2-refresh-controller injects and rotates OAuth2 tokens in pods named by the to-inject "
        "annotation: a JSON list of {secretName, container, owner, templateConfigMapName?}. A malformed value, a "
        "container name that does not exist or a Secret without oauth2-refresh-controller.cern.ch/is-token: "
        "\"true\" means the token file never appears and the job fails at run time with an authentication error. "
        "Secrets and ConfigMaps are looked up among the objects rendered together (one overlay or directory); a "
        "Secret defined elsewhere is not reported, a template ConfigMap that is missing is a warning."
    ),
    fix="Make the annotation a JSON list of objects naming an existing container, an integer owner and an is-token Secret.",
    collect=collect,
    finish=finish,
    example="""\
apiVersion: v1
kind: Pod
metadata:
  name: token-printer-pod
  annotations:
    oauth2-refresh-controller.cern.ch/to-inject: |
      [{"secretName": "hello-token", "container": "printer", "owner": "root"}]
spec:
  containers:
  - {name: token-printer, image: busybox}
""",
    good_example="""\
apiVersion: v1
kind: Pod
metadata:
  name: token-printer-pod
  annotations:
    oauth2-refresh-controller.cern.ch/to-inject: |
      [{"secretName": "hello-token", "container": "token-printer", "owner": 0}]
spec:
  containers:
  - {name: token-printer, image: busybox}
""",
)
