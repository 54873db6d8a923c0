"""KSOPS (viaduct-ai/kustomize-sops): how an Argo CD repository hands SOPS files to kustomize.

A KSOPS repository (one users write: the generated Argo CD repository reads its secrets through the
`sops-decrypt` Config Management Plugin instead, see docs/secrets.md) has this shape: a kustomization that
needs secrets lists `generators: [secret-generator.yaml]`, and that file is

    apiVersion: viaduct.ai/v1
    kind: ksops
    metadata:
      name: secret-generator
      annotations:
        config.kubernetes.io/function: |
          exec:
            path: ksops
    files:
      - ./db.sops.yaml

`files` are relative to the kustomization's folder (KSOPS runs there). Encrypted files are never listed
under `resources:`: kustomize would pass the ciphertext through and Argo CD would apply it.
Pure functions over parsed data; the one reader (`read_first_document`) is for callers at the edge.
"""

from __future__ import annotations

import posixpath

from ..rulebase import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

API_VERSION = "viaduct.ai/v1"
KIND = "ksops"
FUNCTION_ANNOTATION = "config.kubernetes.io/function"


class Listed(Record):
    """One file a KSOPS generator lists (a Record, not a NamedTuple: no `typing` at import time, a bar)."""

    __slots__ = ()
    index: int
    value: str  # as written
    path: tuple[str | int, ...]  # where it is written in the generator document


def is_ksops(data: Any) -> bool:
    return isinstance(data, dict) and data.get("apiVersion") == API_VERSION and data.get("kind") == KIND


def function_exec_path(data: dict[str, Any]) -> str | None:
    """`exec.path` of the `config.kubernetes.io/function` annotation, or None when it is missing/unreadable."""
    meta = data.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    text = annotations.get(FUNCTION_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(text, str):
        return None
    from .._native import yaml_error, yaml_loads

    try:
        spec = yaml_loads(text)
    except (yaml_error(), RecursionError):
        return None
    exec_spec = spec.get("exec") if isinstance(spec, dict) else None
    path = exec_spec.get("path") if isinstance(exec_spec, dict) else None
    return path if isinstance(path, str) and path else None


def listed_files(data: dict[str, Any]) -> list[Listed]:
    """Every encrypted file the generator reads: `files`, and the files of each `secretFrom` entry."""
    found: list[Listed] = []
    files = data.get("files")
    if isinstance(files, list):
        for index, value in enumerate(files):
            if isinstance(value, str):
                found.append(Listed(index, value, ("files", index)))
    secret_from = data.get("secretFrom")
    if isinstance(secret_from, list):
        for outer, item in enumerate(secret_from):
            if not isinstance(item, dict):
                continue
            for field in ("files", "binaryFiles", "envs"):
                values = item.get(field)
                if isinstance(values, list):
                    for index, value in enumerate(values):
                        if isinstance(value, str):
                            # `key=path` names the data key explicitly, as in a secretGenerator
                            found.append(Listed(index, value.rpartition("=")[2], ("secretFrom", outer, field, index)))
    return found


def resolve(folder: str, value: str) -> str | None:
    """A listed path relative to the repository root (`folder` is the kustomization's, "" or "." = root).

    None for a path that leaves the repository: KSOPS would read it, gitops-kit never does.
    """
    base = "" if folder in ("", ".") else folder
    joined = posixpath.normpath(posixpath.join(base, value))
    if posixpath.isabs(value) or joined == ".." or joined.startswith("../"):
        return None
    return joined


def is_builtin_plugin(data: Any) -> bool:
    """Kustomize's own generator/transformer configs (`apiVersion: builtin`): they run no program."""
    return isinstance(data, dict) and data.get("apiVersion") == "builtin"


def read_documents(path: str) -> list[Any] | None:
    """Parsed documents of a file, or None when it cannot be read or parsed (callers report that)."""
    from ..loader import load_file

    try:
        docs, problems = load_file(path, path)
    except OSError:
        return None
    if problems and not docs:
        return None
    return [doc.data for doc in docs]


def is_encrypted_documents(docs: list[Any]) -> bool:
    """sops (and so KSOPS) reads the metadata of the first document only."""
    return bool(docs) and isinstance(docs[0], dict) and isinstance(docs[0].get("sops"), dict)


_YAML_SUFFIXES = (".yaml", ".yml")
#: how each sops store marks an encrypted file: the MAC under its metadata (dotenv, ini, JSON/binary)
_STORE_MARKERS = (b"sops_mac=ENC[", b"[sops]", b'"mac": "ENC[')


def is_encrypted_file(path: str) -> bool:
    """Whether sops would decrypt this file: YAML by its first document, other stores by their metadata.

    KSOPS `files` are YAML manifests; `secretFrom` may also read dotenv, ini, JSON or binary-store files.
    """
    if path.lower().endswith(_YAML_SUFFIXES):
        docs = read_documents(path)
        return bool(docs) and is_encrypted_documents(docs)
    try:
        with open(path, "rb") as handle:
            head = handle.read(4 << 20)
    except OSError:
        return False
    return any(marker in head for marker in _STORE_MARKERS)
