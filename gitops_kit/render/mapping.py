"""Rendered object → the source document the user edits.

kustomize rewrites names (`namePrefix`/`nameSuffix`, applied outermost-last) and namespaces, so a
rendered object is matched back by group, kind and its name with the prefixes and suffixes of the
kustomizations between the overlay and the resource file undone. Secrets a KSOPS generator emits map
to their encrypted file. Objects with no source (other generated ConfigMaps/Secrets, remote resources)
point at the overlay's kustomization file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..loader import annotation_ignores, load_file
from ..model import DocRef, Document
from .graph import Graph


@dataclass(frozen=True)
class Source:
    ref: DocRef
    object_id: str


def _identity(data: Any) -> tuple[str, str, str] | None:
    if not isinstance(data, dict):
        return None
    api = data.get("apiVersion")
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    group = api.rpartition("/")[0] if isinstance(api, str) and "/" in api else ""
    return group, kind, name


class SourceIndex:
    def __init__(self, repo: Path, graph: Graph) -> None:
        self.repo = repo
        self.graph = graph
        self._docs: dict[str, list[Document]] = {}
        #: overlay root → (group, kind, rendered name) → source
        self._by_root: dict[str, dict[tuple[str, str, str], Source]] = {}
        #: overlay root → (group, kind) → sources, for names a transformer we do not model changed
        self._loose: dict[str, dict[tuple[str, str], list[tuple[str, Source]]]] = {}
        #: overlay root → (group, kind) → (patch name, where, patch data) of strategic-merge patches
        self._patches: dict[str, dict[tuple[str, str], list[tuple[str, DocRef, Any]]]] = {}
        #: kustomization root → files a generator emits as they are (KSOPS): sources like resources
        self._generated: dict[str, list[str]] = {}

    def add_generated(self, root: str, files: list[str]) -> None:
        """Objects a generator of `root` copies from `files` map back to those files (call before rendering)."""
        known = self._generated.setdefault(root, [])
        known.extend(f for f in files if f not in known)

    def _load(self, file: str) -> list[Document]:
        if file not in self._docs:
            docs, _problems = load_file(str(self.repo / file), file)
            self._docs[file] = docs
        return self._docs[file]

    def _index(self, root: str) -> None:
        exact: dict[tuple[str, str, str], Source] = {}
        patches: dict[tuple[str, str], list[tuple[str, DocRef, Any]]] = {}
        loose: dict[tuple[str, str], list[tuple[str, Source]]] = {}
        # (kustomization root, accumulated prefix, accumulated suffix); inner prefixes come first
        stack = [(root, "", "")]
        seen: set[str] = set()
        while stack:
            current, outer_prefix, outer_suffix = stack.pop()
            kfile = self.graph.files.get(current)
            if kfile is None or current in seen:
                continue
            seen.add(current)
            prefix = outer_prefix + kfile.name_prefix
            suffix = kfile.name_suffix + outer_suffix
            for file in [*kfile.resource_files, *self._generated.get(current, ())]:
                for doc in self._load(file):
                    identity = _identity(doc.data)
                    if identity is None:
                        continue
                    group, kind, name = identity
                    source = Source(doc.ref, doc.object_id)
                    exact.setdefault((group, kind, prefix + name + suffix), source)
                    loose.setdefault((group, kind), []).append((name, source))
            for file in kfile.patch_files:
                for doc in self._load(file):
                    identity = _identity(doc.data)  # JSON 6902 patches are lists: no identity, skipped
                    if identity is not None:
                        patches.setdefault(identity[:2], []).append((identity[2], doc.ref, doc.data))
            stack.extend((inc, prefix, suffix) for inc in kfile.includes)
        self._by_root[root] = exact
        self._patches[root] = patches
        self._loose[root] = loose

    def source(self, root: str, data: Any) -> Source | None:
        if root not in self._by_root:
            self._index(root)
        identity = _identity(data)
        if identity is None:
            return None
        group, kind, name = identity
        found = self._by_root[root].get(identity)
        if found is not None:
            return found
        # e.g. a generator's hash suffix or a prefix set by a component: the longest contained name wins
        candidates = [(len(src_name), src) for src_name, src in self._loose[root].get((group, kind), []) if src_name in name]
        return max(candidates, key=lambda item: item[0])[1] if candidates else None

    def document(self, root: str, data: Any) -> Document:
        source = self.source(root, data)
        ignored = annotation_ignores(data)
        patches = self._patches_for(root, data)
        if source is not None:
            ref = DocRef(source.ref.path, source.ref.file, source.ref.index, source.ref.line, source.ref.ignored | ignored)
            return Document(data, ref, overlay=root, source_object=source.object_id, patches=patches)
        kfile = self.graph.files[root]
        return Document(data, DocRef(kfile.path, kfile.file, 0, 1, ignored), overlay=root, patches=patches)

    def _patches_for(self, root: str, data: Any) -> tuple[tuple[DocRef, Any], ...]:
        identity = _identity(data)
        if identity is None:
            return ()
        # patch names are written before the overlay's name prefix/suffix: containment is the test
        candidates = self._patches.get(root, {}).get(identity[:2], [])
        return tuple((ref, patch) for name, ref, patch in candidates if name in identity[2])


def _merge_key(item: Any) -> Any:
    """Strategic merge matches list items by their merge key; `name` covers containers, volumes, env, ports."""
    if isinstance(item, dict):
        for key in ("name", "mountPath", "containerPort", "ip"):
            if key in item:
                return (key, item[key])
    return None


def _path_in_patch(patch: Any, rendered: Any, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """`path` (in the rendered object) translated into the patch, if the patch sets that exact field."""
    translated: list[Any] = []
    for part in path:
        if isinstance(part, int):
            if not (isinstance(patch, list) and isinstance(rendered, list) and 0 <= part < len(rendered)):
                return None
            key = _merge_key(rendered[part])
            matches = [i for i, item in enumerate(patch) if key is not None and _merge_key(item) == key]
            if not matches:
                return None
            translated.append(matches[0])
            patch, rendered = patch[matches[0]], rendered[part]
        else:
            if not (isinstance(patch, dict) and part in patch):
                return None
            translated.append(part)
            patch = patch[part]
            rendered = rendered.get(part) if isinstance(rendered, dict) else None
    return tuple(translated)


def patch_location(doc: Document, path: tuple[Any, ...]) -> tuple[DocRef, tuple[Any, ...]] | None:
    """The last strategic-merge patch of `doc` that sets `path`, with the path inside that patch."""
    if path[:1] in (("apiVersion",), ("kind",)) or path[:2] in (("metadata", "name"), ("metadata", "namespace")):
        return None  # a patch repeats the identity to select its target; it does not set it
    for ref, data in reversed(doc.patches):
        translated = _path_in_patch(data, doc.data, path)
        if translated is not None:
            return ref, translated
    return None
