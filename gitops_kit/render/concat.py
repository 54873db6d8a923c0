"""Overlays that only gather files, built without starting kustomize.

A kustomization whose only field is `resources`, each entry a local file of whole objects or a folder
whose kustomization is of the same kind, builds to exactly those objects: kustomize applies no
transformer to them and only orders them (by kind), which no check depends on. A fleet repository has
many such overlays (a cluster's `infrastructure/configs/<cluster>` listing the add-ons' bases, say);
building one with kustomize is a process start (≈ 0.03 s of CPU), reading its files here is ≈ 1 ms.

Only what kustomize is certain to pass through unchanged is gathered here; anything else is left to
kustomize, so that its own error message reports it: any other field, a URL, a folder without a
kustomization, a missing or unreadable file, a document that is not one whole named object (a `List`,
a document that is only `null`, a Kustomization), two objects with the same identity, YAML that two parsers might
read differently (anchors, aliases, tags, merge keys, directives), a character YAML does not allow, or a kustomization reached twice.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Any

from ..discover import KUSTOMIZATION_NAMES
from ..loader import parse_chunk, split_documents
from .graph import Graph, KustomizationFile

#: files larger than this are left to kustomize (a gathered overlay is a few small files)
MAX_FILE_BYTES = 1 << 20
_FIELDS = frozenset({"apiVersion", "kind", "resources"})
#: an anchor, alias or tag where a node starts, a merge key, a directive or a document end marker
_UNCERTAIN = re.compile(r"(?:^|[\s\[{,])[&*!][^\s]|<<\s*:|^%|^\.\.\.", re.M)
#: a character YAML does not allow in a stream, even in a comment (kustomize refuses the file)
_NOT_YAML_PRINTABLE = re.compile("[^\t\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]").search
_COMMENTS_ONLY = re.compile(r"(?:[ ]*(?:#[^\n]*)?\n)*[ ]*(?:#[^\n]*)?").fullmatch


def gathered(repo: Path, graph: Graph, root: str) -> bytes | None:
    """What `kustomize build root` outputs, objects in the order listed instead of kustomize's kind
    order, when the overlay only gathers files (see the module doc); None when kustomize must build it."""
    out: list[str] = []
    if not _gather(repo, graph, root, out, set()):
        return None
    identities: set[tuple[str, str, str, str]] = set()
    for text in out:
        data, problems = _parse_text(text)
        if problems or not _whole_object(data):
            return None
        metadata = data["metadata"]
        namespace = metadata.get("namespace") or "default"
        identity = (data["apiVersion"].rpartition("/")[0], data["kind"], namespace, metadata["name"])
        if identity in identities:
            return None  # kustomize refuses it ("already registered id"): it says so
        identities.add(identity)
    return "".join(f"---\n{text}\n" for text in out).encode("utf-8")


def _gather(repo: Path, graph: Graph, root: str, out: list[str], seen: set[str]) -> bool:
    kfile = graph.files.get(root)
    if kfile is None or root in seen or not _only_resources(kfile):
        return False
    seen.add(root)  # a kustomization reached twice would add its objects twice: kustomize refuses that
    for entry in kfile.data["resources"]:
        if not isinstance(entry, str) or "://" in entry or entry.startswith(("git@", "github.com/", "gitlab.com/")):
            return False
        target = posixpath.normpath(posixpath.join(root, entry)) if root != "." else posixpath.normpath(entry)
        if target in kfile.includes:
            if not _gather(repo, graph, target, out, seen):
                return False
        elif target in kfile.resource_files:
            documents = _documents(repo / target)
            if documents is None:
                return False
            out.extend(documents)
        else:
            return False  # a folder without a kustomization, a missing path: kustomize's error
    return True


def _only_resources(kfile: KustomizationFile) -> bool:
    data = kfile.data
    folder = os.path.dirname(kfile.path)
    return (
        kfile.readable
        and isinstance(data.get("resources"), list)
        and set(data) <= _FIELDS
        and data.get("apiVersion", "kustomize.config.k8s.io/v1beta1") == "kustomize.config.k8s.io/v1beta1"
        and data.get("kind", "Kustomization") == "Kustomization"
        # more than one kustomization file in a folder is kustomize's own error
        and sum(os.path.exists(os.path.join(folder, name)) for name in KUSTOMIZATION_NAMES) == 1
    )


def _documents(path: Path) -> list[str] | None:
    """The text of each document of a resource file, or None when kustomize should read it itself."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text.startswith("\ufeff") or "\r" in text or _NOT_YAML_PRINTABLE(text) is not None or _UNCERTAIN.search(text):
        return None
    # a document of nothing but comments is skipped by kustomize too (a tab before a `#` is its error)
    return [chunk.text for chunk in split_documents(text) if not _COMMENTS_ONLY(chunk.text)]


def _parse_text(text: str) -> tuple[Any, list]:
    from ..loader import Chunk

    return parse_chunk(Chunk(0, 1, text))


def _whole_object(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    api_version, kind, metadata = data.get("apiVersion"), data.get("kind"), data.get("metadata")
    return (
        isinstance(api_version, str) and bool(api_version)
        and isinstance(kind, str) and bool(kind) and not kind.endswith("List")
        and not api_version.startswith("kustomize.config.k8s.io/")
        and isinstance(metadata, dict)
        and isinstance(metadata.get("name"), str) and bool(metadata["name"])
        and isinstance(metadata.get("namespace", ""), str)
    )
