"""schema-missing: no schema is known for an object's apiVersion and kind, so it is not validated."""

from __future__ import annotations

from ..errors import UserError
from ..model import DocRef, Document, Severity, Violation
from ..rulebase import Context, Record, Rule
from ..schemas import NOT_API_GROUPS, crd_schemas, service_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator


class Missing(Record):
    __slots__ = ()
    key: tuple[str, str]
    ref: DocRef
    object: str
    strict: bool


class Defined(Record):
    __slots__ = ()
    keys: frozenset[tuple[str, str]]


# (the run's Context, the (apiVersion, kind) pairs known to have a schema): most objects are of a
# handful of kinds, answered by one set lookup instead of asking the schema service every time
_with_schema: list = [None, set()]


def collect(doc: Document, ctx: Context) -> Any:
    kind, api_version = doc.kind, doc.api_version
    if kind == "CustomResourceDefinition" and doc.group == "apiextensions.k8s.io":
        keys = frozenset(crd_schemas(doc.data))
        return Defined(keys) if keys else None
    if not api_version or not kind or api_version.rpartition("/")[0] in NOT_API_GROUPS:
        return None
    if _with_schema[0] is not ctx:
        _with_schema[0], _with_schema[1] = ctx, set()
    if (api_version, kind) in _with_schema[1]:
        return None
    service = service_for(ctx.services, ctx.root, ctx.targets)
    try:
        if service.validator(api_version, kind) is not None:
            _with_schema[1].add((api_version, kind))
            return None
    except UserError:
        return None  # schema-validation reports the broken schema at this object
    strict = bool(getattr(getattr(service, "settings", None), "strict_missing", False))
    return Missing((api_version, kind), doc.ref, doc.object_id, strict)


def finish(records: list[Any], ctx: Context) -> Iterator[Violation]:
    defined: set[tuple[str, str]] = set()
    for record in records:
        if isinstance(record, Defined):
            defined |= record.keys
    for record in records:
        if isinstance(record, Missing) and record.key not in defined:
            api_version, kind = record.key
            yield Violation(
                f"no schema for {kind} {api_version}: the object is not validated",
                ref=record.ref,
                object=record.object,
                severity=Severity.ERROR if record.strict else None,
            )


RULE = Rule(
    id="schema-missing",
    severity=Severity.WARNING,
    scope="repository",
    summary="No schema is known for an object's apiVersion and kind, so its fields are not validated.",
    rationale=(
        "An object without a schema can hold any typo and still pass. It is usually a CRD whose schema is not "
        "bundled, a removed API version (extensions/v1beta1), or a misspelt apiVersion or kind. "
        "`--strict-schemas` makes this an error."
    ),
    fix=(
        "Check the apiVersion and kind; for a CRD, add its CustomResourceDefinition to the repository or a schema "
        "folder with `schemas.locations` / `--schema-location`."
    ),
    collect=collect,
    finish=finish,
    example="""\
apiVersion: example.org/v1
kind: Widget
metadata: {name: w}
spec: {size: 3}
""",
    good_example="""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.org}
spec:
  group: example.org
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
---
apiVersion: example.org/v1
kind: Widget
metadata: {name: w}
spec: {size: 3}
""",
)
