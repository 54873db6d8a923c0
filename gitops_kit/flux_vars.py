"""Flux `postBuild` variable substitution, applied offline the way kustomize-controller does.

kustomize-controller substitutes `${VAR}` in the objects a Flux Kustomization's `spec.path`
renders, with values from `spec.postBuild.substituteFrom` (ConfigMaps and Secrets, later entries
win) and then `spec.postBuild.substitute` (wins over all). `${VAR:=default}` / `${VAR:-default}`
fall back to a default, `$${VAR}` is an escape for a literal `${VAR}`, and objects annotated or
labelled `kustomize.toolkit.fluxcd.io/substitute: disabled` are left alone. Values of a
SOPS-encrypted Secret are "present but unknown": never decrypted, the placeholder is kept.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .model import DocRef, Document

FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
DISABLE_KEY = "kustomize.toolkit.fluxcd.io/substitute"
#: `$${VAR}` (escape), `${VAR}`, `${VAR:=default}`, `${VAR:-default}`, `${VAR=default}`
_VARIABLE = re.compile(r"\$(\$?)\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[=-])([^}]*))?\}")


class Unknown:
    """A variable whose value exists but is encrypted (SOPS): substituted by nothing, reported by nothing."""


UNKNOWN = Unknown()
Value = str | Unknown


@dataclass
class FluxKustomization:
    name: str
    namespace: str
    path: str  # relative to the repository root, normalised, "." for the root
    substitute: dict[str, str] = field(default_factory=dict)
    substitute_from: list[Mapping[str, Any]] = field(default_factory=list)
    ref: DocRef | None = None
    has_post_build: bool = False

    @property
    def label(self) -> str:
        return f"Kustomization {self.namespace}/{self.name}" if self.namespace else f"Kustomization {self.name}"


def flux_kustomization(doc: Document) -> FluxKustomization | None:
    if doc.kind != "Kustomization" or doc.group != FLUX_KUSTOMIZE_GROUP:
        return None
    spec = doc.data.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("path", "./"), str):
        return None
    path = posixpath.normpath(str(spec.get("path") or ".").lstrip("/")) or "."
    post = spec.get("postBuild")
    result = FluxKustomization(doc.name, doc.namespace, path, ref=doc.ref, has_post_build=isinstance(post, dict))
    if isinstance(post, dict):
        substitute = post.get("substitute")
        if isinstance(substitute, dict):
            result.substitute = {str(k): _text(v) for k, v in substitute.items()}
        sources = post.get("substituteFrom")
        if isinstance(sources, list):
            result.substitute_from = [s for s in sources if isinstance(s, dict)]
    return result


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def value_source(doc: Document) -> dict[str, Value] | None:
    """The variables a ConfigMap or Secret provides, or None if `doc` is neither."""
    data = doc.data
    if doc.kind == "ConfigMap" and doc.api_version == "v1":
        values = data.get("data")
        return {str(k): _text(v) for k, v in values.items()} if isinstance(values, dict) else {}
    if doc.kind != "Secret" or doc.api_version != "v1":
        return None
    encrypted = isinstance(data.get("sops"), dict)
    result: dict[str, Value] = {}
    for key in ("data", "stringData"):
        values = data.get(key)
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            if encrypted:
                result[str(name)] = UNKNOWN
            elif key == "data":
                try:
                    result[str(name)] = base64.b64decode(_text(value), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    result[str(name)] = UNKNOWN  # invalid base64 is another rule's finding
            else:
                result[str(name)] = _text(value)
    return result


@dataclass
class Resolution:
    variables: dict[str, Value]
    #: substituteFrom entries that are missing and not optional
    missing_sources: list[str] = field(default_factory=list)


def resolve(kustomization: FluxKustomization, sources: Mapping[tuple[str, str, str], Any]) -> Resolution:
    """Variables for one Flux Kustomization.

    `sources` maps (kind, namespace, name) → variables, or → candidates `[(file, variables), …]` (what
    `find` returns): in a fleet every cluster has its own `flux-system/cluster-vars`, and the one
    nearest to the Flux Kustomization's file (sharing the longest folder prefix) is the one it reads.
    """
    variables: dict[str, Value] = {}
    missing = []
    here = kustomization.ref.file if kustomization.ref is not None else ""
    for entry in kustomization.substitute_from:
        kind, name = str(entry.get("kind", "")), str(entry.get("name", ""))
        found = _nearest(sources.get((kind, kustomization.namespace, name)), here)
        if found is None:
            # a namespace transformer may set the namespace: accept a unique match by name
            matches = [v for (k, _ns, n), v in sources.items() if k == kind and n == name]
            found = _nearest(matches[0], here) if len(matches) == 1 else None
        if found is None:
            if entry.get("optional") is not True:
                missing.append(f"{kind}/{name}")
            continue
        variables.update(found)
    variables.update(kustomization.substitute)
    return Resolution(variables, missing)


def substitution_disabled(data: Any) -> bool:
    meta = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        return False
    for key in ("annotations", "labels"):
        values = meta.get(key)
        if isinstance(values, dict) and str(values.get(DISABLE_KEY, "")).lower() == "disabled":
            return True
    return False


def substitute(data: Any, variables: Mapping[str, Value]) -> tuple[Any, list[tuple[str, tuple[str | int, ...]]]]:
    """A substituted copy of `data` and the (variable, path) of every unresolved `${VAR}`."""
    unresolved: list[tuple[str, tuple[str | int, ...]]] = []

    def replace_text(text: str, path: tuple[str | int, ...]) -> str:
        if "${" not in text:
            return text

        def one(match: re.Match[str]) -> str:
            escaped, name, operator, default = match.groups()
            if escaped:
                return match.group(0)[1:]
            value = variables.get(name)
            if isinstance(value, Unknown):
                return match.group(0)
            if value is not None and not (value == "" and operator and operator.startswith(":")):
                return value
            if operator is not None:
                return default or ""
            unresolved.append((name, path))
            return ""

        return _VARIABLE.sub(one, text)

    def walk(node: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, dict):
            return {replace_text(k, path) if isinstance(k, str) else k: walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, (*path, index)) for index, item in enumerate(node)]
        if isinstance(node, str):
            return replace_text(node, path)
        return node

    return walk(data, ()), unresolved


Candidates = list[tuple[str, dict[str, Value]]]


def find(documents: Iterable[Document]) -> tuple[list[FluxKustomization], dict[tuple[str, str, str], Candidates]]:
    """Flux Kustomizations, and the variables of every ConfigMap/Secret among `documents`, as
    (kind, namespace, name) → [(file, variables), …] in the order found."""
    kustomizations = []
    sources: dict[tuple[str, str, str], Candidates] = {}
    for doc in documents:
        flux = flux_kustomization(doc)
        if flux is not None:
            kustomizations.append(flux)
            continue
        values = value_source(doc)
        if values is not None and doc.name:
            sources.setdefault((doc.kind, doc.namespace, doc.name), []).append((doc.ref.file, values))
    return kustomizations, sources


def _nearest(found: Any, file: str) -> dict[str, Value] | None:
    """One source's variables: itself, or of its candidates the first of those `closest` to `file`."""
    if found is None or isinstance(found, dict):
        return found
    if not found:
        return None
    first = closest([path for path, _variables in found], file)[0]
    return next(variables for path, variables in found if path == first)


def closest(paths: Iterable[str], file: str) -> list[str]:
    """Of `paths` (files holding a substitution source of one name: each cluster has its own
    `cluster-vars`), those sharing the longest folder prefix with `file`, in their order. Rendering
    uses the first; pull-request mode (changes.py) re-validates an overlay when any of them changes."""
    paths = list(paths)
    folders = file.split("/")[:-1]

    def shared(path: str) -> int:
        count = 0
        for mine, theirs in zip(folders, path.split("/")[:-1]):
            if mine != theirs:
                break
            count += 1
        return count

    if not paths:
        return []
    longest = max(shared(path) for path in paths)
    return [path for path in paths if shared(path) == longest]
