"""duplicate-object: the same object (group, kind, namespace, name) twice in one scope."""

from __future__ import annotations

from typing import Iterator, NamedTuple

from ..model import DocRef, Document, Severity, Violation
from ..rulebase import Context, Rule


class Seen(NamedTuple):
    key: tuple[str, str, str, str]
    ref: DocRef
    object: str
    overlay: str | None


def collect(doc: Document, ctx: Context) -> Seen | None:
    if not doc.name or not doc.kind:
        return None  # object-identity reports it
    return Seen((doc.group, doc.kind, doc.namespace, doc.name), doc.ref, doc.object_id, doc.overlay)


def finish(records: list[Seen], ctx: Context) -> Iterator[Violation]:
    first: dict[tuple[str, str, str, str], Seen] = {}
    for record in records:
        earlier = first.get(record.key)
        if earlier is None:
            first[record.key] = record
            continue
        group = record.key[0] or "core"
        yield Violation(
            f"defined twice in this scope (API group {group}); first definition at {earlier.ref.file}:{earlier.ref.line}",
            ref=record.ref,
            object=record.object,
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
