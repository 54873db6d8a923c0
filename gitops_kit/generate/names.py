"""Checks of user-supplied names and choices. Every failure is one `GenerateError` before anything is written."""

from __future__ import annotations

import re

from ..errors import UserError

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# names that would collide with the generated layout (infrastructure/controllers/base, …)
RESERVED_NAMES = frozenset({"base", "flux-system", "argocd"})


class GenerateError(UserError):
    """Bad answers or a repository state generation cannot proceed from (exit 2, nothing written)."""


def check_cluster_name(name: str) -> str:
    if not name:
        raise GenerateError("cluster name is empty: give a DNS label such as cilium-001")
    if "\x00" in name:
        raise GenerateError("cluster name contains a NUL byte: give a DNS label such as cilium-001")
    shown = name.encode("unicode_escape").decode("ascii")
    if "/" in name or "\\" in name or ".." in name:
        raise GenerateError(f"cluster name {shown!r} contains a path separator or '..': give a DNS label such as cilium-001")
    if "{" in name or "}" in name or "%" in name:
        raise GenerateError(f"cluster name {shown!r} contains template syntax: give a DNS label such as cilium-001")
    if not _DNS_LABEL.match(name):
        raise GenerateError(
            f"cluster name {shown!r} is not a DNS label (lower-case letters, digits and '-', 1-63 characters, "
            "starting and ending with a letter or digit)"
        )
    if name in RESERVED_NAMES:
        raise GenerateError(f"cluster name {name!r} is reserved by the repository layout; choose another name")
    return name


def check_addons(requested: list[str], known: list[str]) -> list[str]:
    """Known add-ons in the order given, without duplicates."""
    unknown = [a for a in requested if a not in known]
    if unknown:
        raise GenerateError(f"unknown add-on {unknown[0]!r} (known: {', '.join(known)})")
    seen: list[str] = []
    for addon in requested:
        if addon not in seen:
            seen.append(addon)
    return seen


def parse_addons(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def check_kubernetes_version(version: str) -> str:
    if not re.fullmatch(r"1\.\d{1,2}", version):
        raise GenerateError(f"--kubernetes-version {version!r}: expected a minor version such as 1.33")
    return version
