"""Kustomization files → what they include: which roots are top-level and which files are inputs.

A root included by another kustomization (a base or a component) is not rendered on its own: Flux
and Argo CD apply what the *including* overlay renders, and a base validated alone would report
every finding once more without an overlay name. Roots nobody includes, and roots a Flux
Kustomization's `spec.path` points at, are top-level. Files read by a kustomization (resources,
patches, generator inputs…) are validated through the renders, never as plain files (a patch is a
partial object).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .._native import yaml_error, yaml_loads
from ..discover import KUSTOMIZATION_NAMES

#: list fields whose items are paths (files or directories) read by kustomize
_PATH_LISTS = ("resources", "bases", "components", "crds", "configurations", "transformers", "generators", "validators")
_REMOTE = ("http://", "https://", "git@", "github.com/", "gitlab.com/", "ssh://", "oci://")


@dataclass
class Entry:
    """One path a kustomization names, with where it is named (for locating errors)."""

    value: str
    yaml_path: tuple[str | int, ...]
    field: str


@dataclass
class KustomizationFile:
    root: str  # relative directory, "." for the repository root
    file: str  # relative path of the kustomization file
    path: str  # absolute path of the kustomization file
    data: dict[str, Any] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    readable: bool = True
    #: roots (relative dirs) this one includes as resources/bases/components
    includes: list[str] = field(default_factory=list)
    #: files (relative paths) this one reads directly
    inputs: list[str] = field(default_factory=list)
    #: inputs that hold whole objects (resources), as opposed to patches or generator inputs
    resource_files: list[str] = field(default_factory=list)
    #: strategic-merge patch files (partial objects)
    patch_files: list[str] = field(default_factory=list)

    @property
    def name_prefix(self) -> str:
        value = self.data.get("namePrefix")
        return value if isinstance(value, str) else ""

    @property
    def name_suffix(self) -> str:
        value = self.data.get("nameSuffix")
        return value if isinstance(value, str) else ""


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _entries(data: dict[str, Any]) -> Iterator[Entry]:
    for name in _PATH_LISTS:
        items = data.get(name)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, str):
                    yield Entry(item, (name, index), name)
    strategic = data.get("patchesStrategicMerge")
    if isinstance(strategic, list):
        for index, item in enumerate(strategic):
            # an inline patch is YAML text, not a path
            if isinstance(item, str) and "\n" not in item:
                yield Entry(item, ("patchesStrategicMerge", index), "patch")
    for name in ("patches", "patchesJson6902", "replacements"):
        items = data.get(name)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    kind = "patch" if name != "replacements" else "input"
                    yield Entry(item["path"], (name, index, "path"), kind)
    for name in ("configMapGenerator", "secretGenerator"):
        items = data.get(name)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                for key in ("files", "envs"):
                    values = item.get(key)
                    if isinstance(values, list):
                        for position, value in enumerate(values):
                            if isinstance(value, str):
                                # `key=path` names the data key explicitly
                                yield Entry(value.rpartition("=")[2], (name, index, key, position), "input")
                if isinstance(item.get("env"), str):
                    yield Entry(item["env"], (name, index, "env"), "input")
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield Entry(openapi["path"], ("openapi", "path"), "input")


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system, say: not a folder; kustomize reports the entry
        return False


def read_kustomization(repo: Path, root: str) -> KustomizationFile | None:
    directory = repo / root if root != "." else repo
    found = kustomization_file(directory)
    if found is None:
        return None
    rel_file = found.relative_to(repo).as_posix()
    result = KustomizationFile(root=root, file=rel_file, path=str(found))
    try:
        data = yaml_loads(found.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml_error(), RecursionError):
        result.readable = False  # the loader reports the syntax error; kustomize reports the build error
        return result
    if not isinstance(data, dict):
        return result
    result.data = data
    result.entries = list(_entries(data))
    for entry in result.entries:
        if entry.value.startswith(_REMOTE) or "://" in entry.value:
            continue
        joined = posixpath.normpath(posixpath.join(root, entry.value)) if root != "." else posixpath.normpath(entry.value)
        target = repo / joined
        if entry.field in ("resources", "bases", "components") and _is_dir(target):
            if kustomization_file(target) is not None:
                result.includes.append(joined)
            continue
        result.inputs.append(joined)
        if entry.field in ("resources", "bases"):
            result.resource_files.append(joined)
        elif entry.field == "patch":
            result.patch_files.append(joined)
    return result


@dataclass
class Graph:
    files: dict[str, KustomizationFile]
    top_level: list[str]

    def closure(self, root: str) -> list[KustomizationFile]:
        """The kustomization of `root` and every kustomization it includes, transitively."""
        seen: dict[str, KustomizationFile] = {}
        stack = [root]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.files:
                continue
            seen[current] = self.files[current]
            stack.extend(self.files[current].includes)
        return list(seen.values())

    def input_files(self) -> set[str]:
        return {path for kfile in self.files.values() for path in kfile.inputs}


def build_graph(repo: Path, roots: list[str], flux_paths: set[str] = frozenset()) -> Graph:
    """Read every kustomization (and the ones they include, even outside `roots`)."""
    files: dict[str, KustomizationFile] = {}
    pending = list(roots)
    while pending:
        root = pending.pop()
        if root in files:
            continue
        kfile = read_kustomization(repo, root)
        if kfile is None:
            continue
        files[root] = kfile
        pending.extend(kfile.includes)
    included = {inc for kfile in files.values() for inc in kfile.includes}
    top = sorted(root for root in roots if root in files and (root not in included or root in flux_paths))
    return Graph(files, top)
