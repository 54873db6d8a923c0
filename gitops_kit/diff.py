"""Object-level diff of rendered overlays, with secret values masked, as text, Markdown or JSON.

Pure functions over rendered objects (plain dicts); `gitops_kit/cli/diff.py` renders the two sides.
Objects are matched by (API group, kind, namespace, name), so an apiVersion bump is a field change,
not a remove + add. Values under a Secret's `data`/`stringData`, under a `sops` block, and any
`ENC[...]` value are never shown: the diff says only that they changed, so neither plaintext nor
ciphertext reaches a pull-request comment.

Helm values (an Argo CD Application's effective values, and the values written inside Application,
ApplicationSet and HelmRelease objects) are configuration that routinely carries credentials under
well-known key names, so there a value is also hidden when any key on its path, or any key inside
it, looks like a secret's name (`secret_key`), or when it comes from a SOPS-encrypted values file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

MASK = "***"
_MISSING = object()
_VALUE_WIDTH = 80
JSON_VERSION = 1
#: compatible additions to version 1 (readers of version 1 ignore unknown keys): 1 added `helm_values`
JSON_MINOR_VERSION = 1


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
        return _tally(obj.change for obj in self.objects)

    def headline(self) -> str:
        if self.status == "failed":
            return "could not be rendered"
        counts = self.counts()
        parts = [f"{n} {label}" for label, n in counts.items() if n]
        prefix = {"added": "new overlay: ", "removed": "overlay removed: "}.get(self.status, "")
        return prefix + (", ".join(parts) if parts else "no differences")


@dataclass
class ValuesDiff:
    """The change of the Helm values one chart of one Argo CD Application gets (its merged values)."""

    kind: str  # Application
    object: str  # namespace/name
    chart: str
    version: str  # the chart version as written (targetRevision), "" when not given
    where: str  # the overlay that renders the Application, or the file holding it
    fields: list[FieldChange] = field(default_factory=list)

    def title(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"Helm values of {self.kind} {self.object} (chart {self.chart}{version}) in {self.where}"

    def counts(self) -> dict[str, int]:
        return _tally(change.kind for change in self.fields)

    def headline(self) -> str:
        return ", ".join(f"{n} {label}" for label, n in self.counts().items() if n)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "object": self.object, "chart": self.chart, "version": self.version,
            "in": self.where, "counts": self.counts(), "fields": [f.to_dict() for f in self.fields],
        }


def _tally(changes: Iterable[str]) -> dict[str, int]:
    """How many of each change (added, removed, changed), in that order."""
    counts = {"added": 0, "removed": 0, "changed": 0}
    for change in changes:
        counts[change] += 1
    return counts


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
            changes = list(_fields(before[key], after[key], (), _object_mask(key)))
            if changes:
                result.append(ObjectDiff(label, "changed", changes))
    return result


def diff_values(
    old: dict[str, Any], new: dict[str, Any], encrypted: Iterable[dict[str, Any]] = ()
) -> list[FieldChange]:
    """Field changes between two merged Helm values mappings. `encrypted`: the values of SOPS-encrypted
    values files of either side; whatever they set is never shown."""
    return list(_fields(old, new, (), _Mask(values=_all_values, encrypted=tuple(encrypted))))


def diff_overlay(name: str, old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None) -> OverlayDiff:
    if old is None and new is None:
        return OverlayDiff(name, "failed")
    status = "added" if old is None else "removed" if new is None else "changed"
    objects = diff_objects(old or [], new or [])
    return OverlayDiff(name, status if objects or status != "changed" else "unchanged", objects)


# -- what is never shown ---------------------------------------------------------------------------

#: parts of a key name that mark a credential wherever they appear in it (`adminPassword`, `apikey`)
_SECRET_PARTS = ("password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "credential", "cert")
#: whole words of a key name (split at case changes, digits and punctuation) that mark key material
_SECRET_WORDS = frozenset({"key", "keys", "ca", "crt", "pem", "pwd", "pass", "salt", "jwt", "kubeconfig"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def secret_key(name: str) -> bool:
    """Whether a Helm values key (or a path segment such as `[name=auth.password]`) looks like the name of
    a secret. Errs on the side of hiding: `existingSecret`, `certValidityDuration`, `caBundle` count."""
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_PARTS):
        return True
    return any(word.lower() in _SECRET_WORDS for word in _WORD.findall(name))


def _all_values(path: tuple[str, ...]) -> int:
    return 0


def _argo_values(prefix: tuple[str, ...]):
    """Where Helm values start in a path of an Application (prefix `spec`) or ApplicationSet (its template):
    after `helm.valuesObject`, `helm.parameters` or `helm.fileParameters` of `source` or `sources[i]`;
    -1 for the YAML string `helm.values` (hidden whole: its keys cannot be told apart in a string)."""
    size = len(prefix)

    def start(path: tuple[str, ...]) -> int | None:
        if path[:size] != prefix or len(path) < size + 3:
            return None
        at = size + 1 if path[size] == "source" else size + 2 if path[size] == "sources" else None
        if at is None or len(path) < at + 2 or path[at] != "helm":
            return None
        field_name = path[at + 1]
        if field_name == "values":
            return -1
        if field_name in ("valuesObject", "parameters", "fileParameters"):
            return at + 2
        return None

    return start


def _helm_release_values(path: tuple[str, ...]) -> int | None:
    return 2 if path[:2] == ("spec", "values") else None


def _object_mask(key: tuple[str, str, str, str]) -> _Mask:
    group, kind = key[0], key[1]
    if group == "" and kind == "Secret":
        return _Mask(secret=True)
    if group == "argoproj.io" and kind == "Application":
        return _Mask(values=_argo_values(("spec",)))
    if group == "argoproj.io" and kind == "ApplicationSet":
        return _Mask(values=_argo_values(("spec", "template", "spec")))
    if group == "helm.toolkit.fluxcd.io" and kind == "HelmRelease":
        return _Mask(values=_helm_release_values)
    return _PLAIN


class _Mask:
    """Which values of one compared object (or values mapping) are never shown."""

    __slots__ = ("secret", "values", "encrypted")

    def __init__(self, secret: bool = False, values=None, encrypted: tuple[dict[str, Any], ...] = ()) -> None:
        #: a core Secret: everything under data/stringData
        self.secret = secret
        #: path → index where Helm values keys start in it (-1: a values string), None outside values
        self.values = values
        #: values set by SOPS-encrypted values files (paths relative to the values root)
        self.encrypted = encrypted

    def hides(self, path: tuple[str, ...]) -> bool:
        if not path:
            return False
        if path[0] == "sops" or (self.secret and path[0] in ("data", "stringData")):
            return True
        if self.values is not None:
            start = self.values(path)
            if start is not None and (start < 0 or any(secret_key(part) for part in path[start:])):
                return True
        return any(_sets(tree, path) for tree in self.encrypted)

    def hides_value(self, value: Any) -> bool:
        """For an added or removed value: a mapping or list that holds a secret-looking key is hidden whole
        inside an object with Helm values (an added `helm` block may carry a valuesObject)."""
        if self.values is None or not isinstance(value, (dict, list)):
            return False
        return _holds_secret_key(value)


_PLAIN = _Mask()


def _holds_secret_key(value: Any) -> bool:
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and secret_key(value["name"]):
            return True  # an env-style item {name: API_TOKEN, value: ...}, as `[name=API_TOKEN]` in a path
        for key, item in value.items():
            if secret_key(str(key)) or (key == "values" and isinstance(item, str)) or _holds_secret_key(item):
                return True
    elif isinstance(value, list):
        return any(_holds_secret_key(item) for item in value)
    return False


def _sets(tree: Any, path: tuple[str, ...]) -> bool:
    """Whether values `tree` sets the value at `path` or a value above or below it."""
    for part in path:
        if isinstance(tree, dict):
            match = [k for k in tree if str(k) == part]
            if not match:
                return False
            tree = tree[match[0]]
        elif isinstance(tree, list) and part.startswith("[") and part[1:-1].isdigit():
            index = int(part[1:-1])
            if index >= len(tree):
                return False
            tree = tree[index]
        else:
            return True  # the file sets a value above this path (or a list it replaces whole)
    return True


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


def _encrypted(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("ENC[") or "ENC[AES256_GCM" in value or "PRIVATE KEY-----" in value
    if isinstance(value, dict):
        return any(_encrypted(v) for v in value.values())
    if isinstance(value, list):
        return any(_encrypted(v) for v in value)
    return False


def _fields(old: Any, new: Any, path: tuple[str, ...], mask: _Mask) -> Iterable[FieldChange]:
    if old == new:
        return
    if mask.hides(path) and not (isinstance(old, dict) and isinstance(new, dict)):
        yield FieldChange(_join(path), old, new, masked=True)
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            child = _segment(path, str(key))
            if key not in old:
                yield _leaf(child, _MISSING, new[key], mask)
            elif key not in new:
                yield _leaf(child, old[key], _MISSING, mask)
            else:
                yield from _fields(old[key], new[key], child, mask)
        return
    if isinstance(old, list) and isinstance(new, list):
        named_old, named_new = _by_name(old), _by_name(new)
        if named_old is not None and named_new is not None:
            for name in sorted(named_old.keys() | named_new.keys()):
                child = _segment(path, f"[name={name}]")
                yield from _fields(named_old.get(name, _MISSING), named_new.get(name, _MISSING), child, mask) if (
                    name in named_old and name in named_new
                ) else (_leaf(child, named_old.get(name, _MISSING), named_new.get(name, _MISSING), mask),)
            return
        if len(old) == len(new):
            for index, (a, b) in enumerate(zip(old, new)):
                yield from _fields(a, b, _segment(path, f"[{index}]"), mask)
            return
    yield _leaf(path, old, new, mask)


def _leaf(path: tuple[str, ...], old: Any, new: Any, mask: _Mask) -> FieldChange:
    masked = (
        mask.hides(path) or _encrypted(old) or _encrypted(new) or mask.hides_value(old) or mask.hides_value(new)
    )
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


_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def _object_lines(obj: ObjectDiff) -> list[str]:
    return [f"{_SIGN[obj.change]} {obj.id}", *(f"    {change.text()}" for change in obj.fields)]


def _values_lines(values: ValuesDiff) -> list[str]:
    return [f"{_SIGN[change.kind]} {change.text()}" for change in values.fields]


def summary(overlays: list[OverlayDiff], ref: str, values: list[ValuesDiff] = ()) -> str:
    differing = [o for o in overlays if o.status != "unchanged"]
    totals = {"added": 0, "removed": 0, "changed": 0}
    for overlay in overlays:
        for label, count in overlay.counts().items():
            totals[label] += count
    objects = ", ".join(f"{n} {label}" for label, n in totals.items())
    # said only when there is something to say, so a diff without Helm values reads as before
    apps = len({(v.where, v.kind, v.object) for v in values})
    helm = f"; Helm values changed in {apps} Application{'s' if apps != 1 else ''}" if values else ""
    return (
        f"{len(overlays)} overlay{'s' if len(overlays) != 1 else ''} compared with {ref}, "
        f"{len(differing)} with differences — objects: {objects}{helm}"
    )


def render_text(overlays: list[OverlayDiff], ref: str, notes: list[str] = (), values: list[ValuesDiff] = ()) -> str:
    lines: list[str] = []
    for overlay in overlays:
        if overlay.status == "unchanged":
            continue
        lines.append(f"overlay {overlay.overlay}: {overlay.headline()}")
        for problem in overlay.problems:
            lines.append(f"  error: {problem}")
        for obj in overlay.objects:
            lines.extend(f"  {line}" for line in _object_lines(obj))
    for item in values:
        lines.append(f"{item.title()}: {item.headline()}")
        lines.extend(f"  {line}" for line in _values_lines(item))
    lines.extend(f"note: {note}" for note in notes)
    lines.append(summary(overlays, ref, values))
    return "\n".join(lines) + "\n"


def render_markdown(overlays: list[OverlayDiff], ref: str, notes: list[str] = (), values: list[ValuesDiff] = ()) -> str:
    """A pull-request comment: one collapsible section per overlay with differences, then one per
    Application whose Helm values changed."""
    lines = [f"### gitops-kit: rendered diff against `{_code(ref)}`", "", summary(overlays, ref, values), ""]
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
    for item in values:
        version = f" {item.version}" if item.version else ""
        lines.append(
            f"<details><summary>Helm values of {_html(item.kind)} <code>{_html(item.object)}</code> "
            f"(chart <code>{_html(item.chart + version)}</code>) in <code>{_html(item.where)}</code>: "
            f"{_html(item.headline())}</summary>"
        )
        lines.extend(["", "```diff", *(_fence(line) for line in _values_lines(item)), "```", "", "</details>", ""])
    for note in notes:
        lines.append(f"> {_html(note)}")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_json(overlays: list[OverlayDiff], ref: str, notes: list[str] = (), values: list[ValuesDiff] = ()) -> str:
    payload = {
        "version": JSON_VERSION,
        "minor_version": JSON_MINOR_VERSION,
        "base": ref,
        "summary": summary(overlays, ref, values),
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
        "helm_values": [item.to_dict() for item in values],
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
