"""What a generation run would change, and which changes would overwrite the user's edits. Pure functions.

The manifest `.gitops-kit/generated.json` maps every generated file to the SHA-256 of the content gitops-kit
last wrote. A file whose current hash differs from the recorded one was edited by the user; a file that exists
but was never generated is the user's own. Neither is overwritten (or deleted) without `--force`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping

MANIFEST_PATH = ".gitops-kit/generated.json"


def digest(content: bytes) -> str:
    import hashlib  # here, not at import: `new cluster` forks its render child before it needs it (OpenSSL, ≈ 3 ms)

    return hashlib.sha256(content).hexdigest()


def parse_manifest(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}  # a damaged manifest protects nothing: every differing file then counts as the user's
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def render_manifest(files: Mapping[str, bytes]) -> bytes:
    body = {"version": 1, "generator": "gitops-kit new cluster", "files": {p: digest(c) for p, c in sorted(files.items())}}
    return (json.dumps(body, indent=2, sort_keys=False) + "\n").encode("utf-8")


@dataclass
class Plan:
    create: dict[str, bytes] = field(default_factory=dict)
    update: dict[str, bytes] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # path → (current content or None when the user deleted... , desired content or None for a deletion)
    conflicts: dict[str, tuple[bytes, bytes | None]] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(self.create or self.update or self.delete)

    def writes(self) -> dict[str, bytes]:
        return {**self.create, **self.update}


def make_plan(
    desired: Mapping[str, bytes],
    current: Mapping[str, bytes | None],
    manifest: Mapping[str, str],
    managed: frozenset[str] = frozenset(),
    force: bool = False,
    create_only: frozenset[str] = frozenset(),
) -> Plan:
    """Compare the desired files with the work tree.

    `current` holds the present content of every desired or previously generated path (None = missing).
    `managed` paths (the configuration and the manifest) are edited round-trip and never count as conflicts.
    `create_only` paths are written when missing and then belong to someone else (Flux's bootstrap
    placeholders, encrypted secrets whose ciphertext changes on every encryption).
    """
    plan = Plan()
    for path, content in sorted(desired.items()):
        existing = current.get(path)
        if existing is None:
            plan.create[path] = content
        elif existing == content or path in create_only:
            plan.unchanged.append(path)
        elif path in managed or force or manifest.get(path) == digest(existing):
            plan.update[path] = content
        else:
            plan.conflicts[path] = (existing, content)
    for path in sorted(set(manifest) - set(desired) - create_only):
        existing = current.get(path)
        if existing is None:
            continue
        if force or manifest[path] == digest(existing):
            plan.delete.append(path)
        else:
            plan.conflicts[path] = (existing, None)
    return plan


def unified_diff(path: str, old: bytes | None, new: bytes | None) -> str:
    old_lines = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new_lines = (new or b"").decode("utf-8", "replace").splitlines(keepends=True)
    import difflib

    diff = difflib.unified_diff(
        old_lines, new_lines, fromfile=f"a/{path}" if old is not None else "/dev/null", tofile=f"b/{path}" if new is not None else "/dev/null"
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in diff)
    return text
