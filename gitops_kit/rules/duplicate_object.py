"""duplicate-object: the same object (group, kind, namespace, name) twice in one scope."""

from __future__ import annotations

from ..model import Document, Severity, Violation, object_label
from ..rulebase import Context, Rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

    from ..model import DocRef

    Seen = tuple[tuple[str, str, str, str], DocRef]  # (group, kind, namespace, name), where


def collect(doc: Document, ctx: Context) -> Seen | None:
    data = doc.data
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        return None  # object-identity reports it
    name = metadata.get("name")
    kind = doc.kind
    if not name or not isinstance(name, str) or not kind:
        return None
    namespace = metadata.get("namespace")
    api = data.get("apiVersion")
    group = api.rpartition("/")[0] if isinstance(api, str) else ""
    return ((group, kind, namespace if isinstance(namespace, str) else "", name), doc.ref)


def finish(records: list[Seen], ctx: Context) -> Iterator[Violation]:
    first: dict[tuple[str, str, str, str], DocRef] = {}
    for key, ref in records:
        earlier = first.get(key)
        if earlier is None:
            first[key] = ref
            continue
        group, kind, namespace, name = key
        yield Violation(
            f"defined twice in this scope (API group {group or 'core'}); first definition at {earlier.file}:{earlier.line}",
            ref=ref,
            object=object_label(kind, namespace, name),
        )


RULE = Rule(
    id="duplicate-object",
    severity=Severity.ERROR,
    scope="scope",
    summary="The same object (API group, kind, namespace, name) is defined twice in one scope.",
    rationale=(
        "Two definitions of one object fight each other: kustomize refuses to build (\"may not add resource with "
        "an already registered id\"), and when applied separately the last writer wins and the other is silently "
        "lost. A scope is one rendered overlay, or one directory of plain manifests."
    ),
    fix="Keep one definition; use a kustomize patch to change it per overlay instead of copying it.",
    collect=collect,
    finish=finish,
    example="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: web}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: web}
""",
    good_example="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: web}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings-extra, namespace: web}
""",
)
