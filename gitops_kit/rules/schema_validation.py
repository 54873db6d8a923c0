"""schema-validation: an object does not match the schema of its kind (built-in, bundled CRD, user or repo CRD)."""

from __future__ import annotations

from ..errors import UserError
from ..model import Document, Severity, Violation
from ..rulebase import Context, Record, Rule
from ..schemas import SchemaIssue, Validator, crd_schemas, service_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator


class Failed(Record):
    """A document with schema errors (kept: only failing documents, for overlay merging)."""

    __slots__ = ()

    doc: Document
    issues: list[SchemaIssue]


class Pending(Record):
    """An object with no known schema yet: a CustomResourceDefinition later in the tree may define it."""

    __slots__ = ()

    doc: Document


class Definitions(Record):
    """The schemas a repository CRD defines, plus the CRD's own schema errors (and the CRD, if any)."""

    __slots__ = ()

    schemas: dict[tuple[str, str], dict[str, Any]]
    failed: Failed | None = None


def collect(doc: Document, ctx: Context) -> Any:
    # Two phases: a CRD in file B must validate a CR in file A that was loaded first, so objects
    # without a schema wait for finish(). Valid objects leave no record at all.
    kind, api_version = doc.kind, doc.api_version
    if not api_version or not kind:
        return None  # object-identity reports it
    service = service_for(ctx.services, ctx.root, ctx.targets)
    try:
        issues = service.validate(doc.data, api_version, kind)
    except UserError as err:
        # a broken user schema file or a failing kubeconform run: located at the object, run goes on
        return Failed(doc, [SchemaIssue(f"not validated: {err}", ())])
    if kind == "CustomResourceDefinition" and doc.group == "apiextensions.k8s.io":
        found = crd_schemas(doc.data)
        failed = Failed(doc, issues) if issues else None
        return Definitions(found, failed) if found or failed else None
    if issues is None:
        return Pending(doc)
    return Failed(doc, issues) if issues else None


def finish(records: list[Any], ctx: Context) -> Iterator[Violation]:
    repo_schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        if isinstance(record, Definitions):
            repo_schemas.update(record.schemas)
            if record.failed is not None:
                yield from _violations(record.failed.doc, record.failed.issues)
    validators: dict[tuple[str, str], Validator] = {}
    for record in records:
        if isinstance(record, Failed):
            yield from _violations(record.doc, record.issues)
        elif isinstance(record, Pending):
            key = (record.doc.api_version, record.doc.kind)
            if key not in repo_schemas:
                continue  # schema-missing reports it
            if key not in validators:
                validators[key] = Validator.build(repo_schemas[key])
            from ..schemas import prepare

            yield from _violations(record.doc, validators[key].issues(prepare(record.doc.data)))


def _violations(doc: Document, issues: list[SchemaIssue]) -> Iterator[Violation]:
    for issue in issues:
        yield Violation(issue.message, path=issue.path, doc=doc)


RULE = Rule(
    id="schema-validation",
    severity=Severity.ERROR,
    scope="repository",
    summary="An object does not match the schema of its kind (unknown field, wrong type, missing required field).",
    rationale=(
        "The API server rejects such an object, or (without strict field validation) silently drops the unknown "
        "field, so a misspelt `imagePullPolicy` or HelmRelease `valuez` never takes effect and the reconciliation "
        "fails or drifts only once it reaches the cluster. Schemas are the Kubernetes ones for the target version, "
        "bundled CRDs (Flux, Argo CD, Cilium, cert-manager, …), schema folders you add, and CustomResourceDefinitions "
        "found in the repository; all offline."
    ),
    fix="Correct the field named in the message (check the spelling suggestion and the kind's API reference).",
    collect=collect,
    finish=finish,
    example="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: three
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          imagePullPolice: Always
""",
    good_example="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          imagePullPolicy: Always
""",
)
