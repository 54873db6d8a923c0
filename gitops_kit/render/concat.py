"""Overlays that only gather files, built without starting kustomize.

A kustomization whose only field is `resources`, each entry a local file of whole objects or a folder
whose kustomization is of the same kind, builds to exactly those objects: kustomize applies no
transformer to them and only orders them (by kind), which no check depends on. A fleet repository has
many such overlays (a cluster's `infrastructure/configs/<cluster>` listing the add-ons' bases, say);
building one with kustomize is a process start (≈ 0.03 s of CPU), reading its files here is ≈ 1 ms.

Only what kustomize is certain to pass through unchanged is gathered here; anything else is left to
kustomize, so that its own error message reports it: any other field, a URL, a folder without a
kustomization, a missing or unreadable file, a symlink on the way, a document that is not one whole named
object (a `List`, a document that is only `null`, a Kustomization), two objects with one name and kind,
YAML that two parsers might read differently (anchors, aliases, tags, merge keys, directives), anything
kustomize's YAML 1.1 → JSON → YAML round trip may change (floats, leading zeros, dates, keys that are not
strings, kept final line breaks, escapes), annotations kustomize acts on, a character YAML does not allow, a
byte-order mark or carriage return, or a kustomization reached twice.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Any

from ..discover import KUSTOMIZATION_NAMES
from ..loader import Chunk, parse_chunk, split_documents
from .graph import Graph, KustomizationFile

#: files larger than this are left to kustomize (a gathered overlay is a few small files)
MAX_FILE_BYTES = 1 << 20
_FIELDS = frozenset({"apiVersion", "kind", "resources"})
#: what kustomize (go-yaml, YAML 1.1 in places, then JSON) may read differently: an anchor, alias or tag where
#: a node starts, a merge key, a directive, a document end marker, a number with a leading zero (legacy octal),
#: a date (a timestamp), a kept final line break (`|+`), escapes and line breaks beyond `\n`
_UNCERTAIN_TEXT = re.compile(
    r"(?:^|[\s\[{,])[&*!]|<<|^%|^\.\.\.|(?<![\w.])[-+]?0[\d_]|\d{4}-\d\d?-\d\d?|[|>][0-9]?\+|\\[/NLP_]|[\x85\u2028\u2029]",
    re.M,
).search
#: plain words YAML 1.1 reads as booleans or null
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ""})
#: annotations kustomize reads, strips or acts on (`local-config` drops the object)
_KUSTOMIZE_ANNOTATIONS = ("config.kubernetes.io/", "internal.config.kubernetes.io/", "config.k8s.io/", "alpha.config.kubernetes.io/")
#: a character YAML does not allow in a stream, even in a comment (kustomize refuses the file)
NOT_YAML_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]").search
_COMMENTS_ONLY = re.compile(r"(?:[ ]*(?:#[^\n]*)?\n)*[ ]*(?:#[^\n]*)?").fullmatch


def gathered(repo: Path, graph: Graph, root: str) -> bytes | None:
    """What `kustomize build root` outputs, objects in the order listed instead of kustomize's kind
    order, when the overlay only gathers files (see the module doc); None when kustomize must build it."""
    out: list[str] = []
    if not _gather(repo, graph, root, out, set()):
        return None
    identities: set[tuple[str, str, str]] = set()
    for text in out:
        data, problems = _parse_text(text)
        if problems or not _whole_object(data) or not _plain_values(data) or not _plain_annotations(data["metadata"]):
            return None
        # without the namespace, stricter than kustomize (which ignores it only for cluster-scoped kinds)
        identity = (data["apiVersion"].rpartition("/")[0], data["kind"], data["metadata"]["name"])
        if identity in identities:
            return None  # kustomize may refuse it ("already registered id"): it says so
        identities.add(identity)
    return "".join(f"---\n{text}" if text.endswith("\n") else f"---\n{text}\n" for text in out).encode("utf-8")


def _gather(repo: Path, graph: Graph, root: str, out: list[str], seen: set[str]) -> bool:
    kfile = graph.files.get(root)
    if kfile is None or root in seen or not _only_resources(kfile) or not _real(repo, root):
        return False
    seen.add(root)  # a kustomization reached twice would add its objects twice: kustomize refuses that
    for entry in kfile.data["resources"]:
        if not isinstance(entry, str):
            return False  # a URL is neither an include nor a resource file: it falls to the last branch
        target = posixpath.normpath(posixpath.join(root, entry)) if root != "." else posixpath.normpath(entry)
        if target in kfile.includes:
            if not _gather(repo, graph, target, out, seen):
                return False
        elif target in kfile.resource_files:
            if not _real(repo, target):
                return False
            documents = _documents(repo / target)
            if documents is None:
                return False
            out.extend(documents)
        else:
            return False  # a folder without a kustomization, a missing path: kustomize's error
    return True


def _real(repo: Path, relative: str) -> bool:
    """No symlink on the way: through one, kustomize resolves `..` on the file system, the graph as text."""
    if relative == ".":
        return True
    return os.path.realpath(repo / relative) == os.path.join(os.path.realpath(repo), relative)


def lists_only_resources(kfile: KustomizationFile) -> bool:
    """A readable kustomization, alone in its folder, that sets nothing but a `resources` list."""
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


def _only_resources(kfile: KustomizationFile) -> bool:
    if not lists_only_resources(kfile):
        return False
    try:
        with open(kfile.path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return False
    # kustomize reads its kustomization as YAML 1.1: `yes` is a boolean there, `\/` an error
    return (
        "\t" not in text and "\\" not in text and not _UNCERTAIN_TEXT(text)
        and not any(isinstance(entry, str) and entry.lower() in _YAML11_WORDS for entry in kfile.data["resources"])
    )


def _documents(path: Path) -> list[str] | None:
    """The text of each document of a resource file, or None when kustomize should read it itself."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text.startswith("\ufeff") or "\r" in text or NOT_YAML_PRINTABLE(text) is not None or _UNCERTAIN_TEXT(text):
        return None
    if not text.endswith("\n") and ("|" in text or ">" in text):
        return None  # a block scalar ending the file without a line break: joining files would add one
    # a document of nothing but comments is skipped by kustomize too (a tab before a `#` is its error)
    return [chunk.text for chunk in split_documents(text) if not _COMMENTS_ONLY(chunk.text)]


def _parse_text(text: str) -> tuple[Any, list]:
    return parse_chunk(Chunk(0, 1, text))


def _plain_values(value: Any) -> bool:
    """Only strings, booleans, nulls and integers JSON holds exactly, under string keys: what kustomize's
    YAML → JSON → YAML round trip gives back unchanged (a float may come back an integer, `.inf` fails)."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and key != "<<" and _plain_values(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_plain_values(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**53) < value < 2**53
    return value is None or isinstance(value, (str, bool))


def _plain_annotations(metadata: dict) -> bool:
    annotations = metadata.get("annotations")
    if annotations is None:
        return True
    return isinstance(annotations, dict) and all(
        isinstance(value, str) and not key.startswith(_KUSTOMIZE_ANNOTATIONS) for key, value in annotations.items()
    )


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
