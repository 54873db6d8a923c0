"""Object-level diff of rendered overlays, with secret values masked, as text, Markdown or JSON.

Pure functions over rendered objects (plain dicts); `gitops_kit/cli/diff.py` renders the two sides.
Objects are matched by (API group, kind, namespace, name), so an apiVersion bump is a field change,
not a remove + add. Values under a Secret's `data`/`stringData`, under a `sops` block, and any
`ENC[...]` value are never shown: the diff says only that they changed, so neither plaintext nor
ciphertext reaches a pull-request comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

MASK = "***"
_MISSING = object()
_VALUE_WIDTH = 80
JSON_VERSION = 1


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any = _MISSING
    new: Any = _MISSING
    masked: bool = False

    @property
    def kind(self) -> str:
        if self.old is _MISSING:
            return "added"
        if self.new is _MISSING:
            return "removed"
        return "changed"

    def text(self) -> str:
        if self.masked:
            return f"{self.path}: {self.kind} (value hidden)"
        if self.kind == "added":
            return f"{self.path}: added {_show(self.new)}"
        if self.kind == "removed":
            return f"{self.path}: removed (was {_show(self.old)})"
        return f"{self.path}: {_show(self.old)} → {_show(self.new)}"

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"path": self.path, "change": self.kind, "masked": self.masked}
        if not self.masked:
            if self.old is not _MISSING:
                result["old"] = self.old
            if self.new is not _MISSING:
                result["new"] = self.new
        return result


@dataclass
class ObjectDiff:
    id: str  # e.g. "Deployment.apps web/podinfo"
    change: str  # added | removed | changed
    fields: list[FieldChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.id, "change": self.change, "fields": [f.to_dict() for f in self.fields]}


@dataclass
class OverlayDiff:
    overlay: str
    status: str  # changed | unchanged | added | removed | failed
    objects: list[ObjectDiff] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {"added": 0, "removed": 0, "changed": 0}
        for obj in self.objects:
            counts[obj.change] += 1
        return counts

    def headline(self) -> str:
        if self.status == "failed":
            return "could not be rendered"
        counts = self.counts()
        parts = [f"{n} {label}" for label, n in counts.items() if n]
        prefix = {"added": "new overlay: ", "removed": "overlay removed: "}.get(self.status, "")
        return prefix + (", ".join(parts) if parts else "no differences")


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    api = obj.get("apiVersion")
    api = api if isinstance(api, str) else ""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "?"
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else ""
    name = meta.get("name") if isinstance(meta.get("name"), str) else "?"
    return (api.rpartition("/")[0] if "/" in api else "", kind, namespace, name)


def object_label(key: tuple[str, str, str, str]) -> str:
    group, kind, namespace, name = key
    return f"{kind}{'.' + group if group else ''} {namespace + '/' if namespace else ''}{name}"


def diff_objects(old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]]) -> list[ObjectDiff]:
    before = {object_key(o): o for o in old if isinstance(o, dict)}
    after = {object_key(o): o for o in new if isinstance(o, dict)}
    result = []
    for key in sorted(before.keys() | after.keys()):
        label = object_label(key)
        if key not in before:
            result.append(ObjectDiff(label, "added"))
        elif key not in after:
            result.append(ObjectDiff(label, "removed"))
        else:
            secret = key[1] == "Secret" and key[0] == ""
            changes = list(_fields(before[key], after[key], (), secret))
            if changes:
                result.append(ObjectDiff(label, "changed", changes))
    return result


def diff_overlay(name: str, old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None) -> OverlayDiff:
    if old is None and new is None:
        return OverlayDiff(name, "failed")
    status = "added" if old is None else "removed" if new is None else "changed"
    objects = diff_objects(old or [], new or [])
    return OverlayDiff(name, status if objects or status != "changed" else "unchanged", objects)


def _segment(path: tuple[str, ...], key: str) -> tuple[str, ...]:
    return (*path, key)


def _join(path: tuple[str, ...]) -> str:
    text = ""
    for part in path:
        if part.startswith("["):
            text += part
        else:
            plain = part.replace("_", "").replace("-", "").isalnum()
            text += (f".{part}" if text else part) if plain else f"[{json.dumps(part)}]"
    return text or "(root)"


def _secret_path(path: tuple[str, ...], secret: bool) -> bool:
    return bool(path) and (path[0] == "sops" or (secret and path[0] in ("data", "stringData")))


def _encrypted(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("ENC[") or "ENC[AES256_GCM" in value
    if isinstance(value, dict):
        return any(_encrypted(v) for v in value.values())
    if isinstance(value, list):
        return any(_encrypted(v) for v in value)
    return False


def _fields(old: Any, new: Any, path: tuple[str, ...], secret: bool) -> Iterable[FieldChange]:
    if old == new:
        return
    if _secret_path(path, secret) and not (isinstance(old, dict) and isinstance(new, dict)):
        yield FieldChange(_join(path), old, new, masked=True)
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            child = _segment(path, str(key))
            if key not in old:
                yield _leaf(child, _MISSING, new[key], secret)
            elif key not in new:
                yield _leaf(child, old[key], _MISSING, secret)
            else:
                yield from _fields(old[key], new[key], child, secret)
        return
    if isinstance(old, list) and isinstance(new, list):
        named_old, named_new = _by_name(old), _by_name(new)
        if named_old is not None and named_new is not None:
            for name in sorted(named_old.keys() | named_new.keys()):
                child = _segment(path, f"[name={name}]")
                yield from _fields(named_old.get(name, _MISSING), named_new.get(name, _MISSING), child, secret) if (
                    name in named_old and name in named_new
                ) else (_leaf(child, named_old.get(name, _MISSING), named_new.get(name, _MISSING), secret),)
            return
        if len(old) == len(new):
            for index, (a, b) in enumerate(zip(old, new)):
                yield from _fields(a, b, _segment(path, f"[{index}]"), secret)
            return
    yield _leaf(path, old, new, secret)


def _leaf(path: tuple[str, ...], old: Any, new: Any, secret: bool) -> FieldChange:
    masked = _secret_path(path, secret) or _encrypted(old) or _encrypted(new)
    return FieldChange(_join(path), old, new, masked=masked)


def _by_name(items: list[Any]) -> dict[str, Any] | None:
    """Lists of named items (containers, ports, env) are matched by name, so an insert is one change."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = {i["name"]: i for i in items}
    return names if len(names) == len(items) else None


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


# -- output ---------------------------------------------------------------------------------------


def _object_lines(obj: ObjectDiff) -> list[str]:
    sign = {"added": "+", "removed": "-", "changed": "~"}[obj.change]
    return [f"{sign} {obj.id}", *(f"    {change.text()}" for change in obj.fields)]


def summary(overlays: list[OverlayDiff], ref: str) -> str:
    differing = [o for o in overlays if o.status != "unchanged"]
    totals = {"added": 0, "removed": 0, "changed": 0}
    for overlay in overlays:
        for label, count in overlay.counts().items():
            totals[label] += count
    objects = ", ".join(f"{n} {label}" for label, n in totals.items())
    return (
        f"{len(overlays)} overlay{'s' if len(overlays) != 1 else ''} compared with {ref}, "
        f"{len(differing)} with differences — objects: {objects}"
    )


def render_text(overlays: list[OverlayDiff], ref: str, notes: list[str] = ()) -> str:
    lines: list[str] = []
    for overlay in overlays:
        if overlay.status == "unchanged":
            continue
        lines.append(f"overlay {overlay.overlay}: {overlay.headline()}")
        for problem in overlay.problems:
            lines.append(f"  error: {problem}")
        for obj in overlay.objects:
            lines.extend(f"  {line}" for line in _object_lines(obj))
    lines.extend(f"note: {note}" for note in notes)
    lines.append(summary(overlays, ref))
    return "\n".join(lines) + "\n"


def render_markdown(overlays: list[OverlayDiff], ref: str, notes: list[str] = ()) -> str:
    """A pull-request comment: one collapsible section per overlay with differences."""
    lines = [f"### gitops-kit: rendered diff against `{_code(ref)}`", "", summary(overlays, ref), ""]
    for overlay in overlays:
        if overlay.status == "unchanged":
            continue
        lines.append(f"<details><summary><code>{_html(overlay.overlay)}</code>: {_html(overlay.headline())}</summary>")
        lines.append("")
        lines.append("```diff")
        for problem in overlay.problems:
            lines.append(f"! {_fence(problem)}")
        for obj in overlay.objects:
            lines.extend(_fence(line) for line in _object_lines(obj))
        lines.append("```")
        lines.append("")
        lines.append("</details>")
        lines.append("")
    for note in notes:
        lines.append(f"> {_html(note)}")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_json(overlays: list[OverlayDiff], ref: str, notes: list[str] = ()) -> str:
    payload = {
        "version": JSON_VERSION,
        "base": ref,
        "summary": summary(overlays, ref),
        "overlays": [
            {
                "overlay": o.overlay,
                "status": o.status,
                "counts": o.counts(),
                "problems": list(o.problems),
                "objects": [obj.to_dict() for obj in o.objects],
            }
            for o in overlays
        ],
        "notifications": list(notes),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"


FORMATS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return text.replace("`", "'")


def _fence(text: str) -> str:
    return text.replace("```", "'''")  # a value must not close the code block
