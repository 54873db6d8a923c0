"""Paths → the YAML files to load and the kustomization roots to render.

Never follows a symlink that leaves the repository; skips `.git`, configured excludes and Helm
chart templates (Go templates are not YAML until `helm template` has run).
"""

from __future__ import annotations

import os

from .config import Config, relative_posix
from .errors import UserError
from .model import _Frozen, _Record, joined_path, split_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from os import PathLike
    from typing import Sequence

YAML_SUFFIXES = (".yaml", ".yml")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: files that are YAML but never Kubernetes objects: parsed for syntax, skipped by object rules
NON_MANIFEST_NAMES = frozenset(
    {
        *KUSTOMIZATION_NAMES,
        ".sops.yaml",
        ".sops.yml",
        ".gitops-kit.yaml",
        ".gitops-kit.yml",
        ".pre-commit-config.yaml",
        ".pre-commit-hooks.yaml",
        ".gitlab-ci.yml",
        ".yamllint",
        ".yamllint.yaml",
        "Chart.yaml",
        "action.yml",
        "action.yaml",
        "mkdocs.yml",
        "cookiecutter.json",
        "blueprint.yaml",
    }
)


class PathError(UserError):
    """A path given on the command line does not exist or cannot be read (exit 2)."""


class SourcePath(_Frozen):
    """A file to load: `path` absolute, `file` relative to the root (POSIX).

    `path` is rebuilt from `file` and a base shared by the repository's files (`model.split_path`):
    a large repository lists tens of thousands of files for the whole run."""

    _fields = ("path", "file")
    __slots__ = ("_base", "file")

    def __init__(self, path: str, file: str) -> None:
        object.__setattr__(self, "_base", split_path(path, file))
        object.__setattr__(self, "file", file)

    @property
    def path(self) -> str:
        return joined_path(self._base, self.file)

    @property
    def is_manifest(self) -> bool:
        name = self.file.rpartition("/")[2]
        return name not in NON_MANIFEST_NAMES and not self.file.startswith((".github/", ".gitlab/"))


class Discovery(_Record):
    """What to load; `kustomization_roots`: directories (relative, POSIX; "." for the root) that
    hold a kustomization file; `skipped`: notes about paths not followed."""

    __slots__ = _fields = ("files", "kustomization_roots", "skipped")

    def __init__(
        self, files: list[SourcePath] | None = None, kustomization_roots: list[str] | None = None, skipped: list[str] | None = None
    ) -> None:
        self.files = files if files is not None else []
        self.kustomization_roots = kustomization_roots if kustomization_roots is not None else []
        self.skipped = skipped if skipped is not None else []


def _inside(path: str, root: str) -> bool:
    """Whether `path` is `root` or under it (both resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk(
    top: str, rel_top: str, root: str, config: Config, result: Discovery, found: dict[str, SourcePath], roots: set[str]
) -> None:
    """`os.walk(top)` top-down in sorted order, with `os.scandir` entries so that telling files,
    directories and symlinks apart costs no system call per file (a repository has thousands)."""
    pending = [(top, "" if rel_top == "." else rel_top)]
    while pending:
        directory, rel_dir = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=_name)
        except OSError:
            continue  # unreadable: skipped, as os.walk does
        subdirs = []
        files = []
        children: list[tuple[str, str]] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows a symlink, like os.walk's classification
            except OSError:
                is_dir = False
            (subdirs if is_dir else files).append(entry)
        for entry in subdirs:
            sub = entry.name
            rel = f"{rel_dir}/{sub}" if rel_dir else sub
            if sub == ".git" or config.is_excluded(rel):
                continue
            if entry.is_symlink():
                if _inside(os.path.realpath(entry.path), root):
                    result.skipped.append(f"{rel}: symlinked directory, not followed (its target is walked itself)")
                else:
                    result.skipped.append(f"{rel}: symlink to outside the repository, not followed")
                continue
            if sub == "templates" and os.path.isfile(os.path.join(directory, "Chart.yaml")):
                result.skipped.append(f"{rel}: Helm chart templates (render them with helm first)")
                continue
            children.append((entry.path, rel))
        if any(entry.name in KUSTOMIZATION_NAMES for entry in files):
            roots.add(rel_dir or ".")
        for entry in files:
            name = entry.name
            if not (name.endswith(YAML_SUFFIXES) or name == "Kustomization"):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if config.is_excluded(rel):
                continue
            if entry.is_symlink() and not _inside(os.path.realpath(entry.path), root):
                result.skipped.append(f"{rel}: symlink to outside the repository, not followed")
                continue
            found.setdefault(rel, SourcePath(entry.path, rel))
        pending.extend(reversed(children))  # depth first in sorted order, as os.walk(topdown=True) visits them


def _name(entry: os.DirEntry) -> str:
    return entry.name


def discover(paths: Sequence[str | PathLike[str]], config: Config) -> Discovery:
    """Walk `paths` (files or directories) in sorted order; missing paths raise `PathError`."""
    root = os.path.realpath(config.root)
    found: dict[str, SourcePath] = {}
    roots: set[str] = set()
    result = Discovery()
    for given in map(os.fspath, paths):
        if not os.path.lexists(given):
            raise PathError(f"{given}: no such file or directory")
        absolute = os.path.abspath(given)
        if os.path.isfile(given):
            if os.path.islink(given) and not _inside(os.path.realpath(absolute), root):
                result.skipped.append(f"{given}: symlink to outside the repository, not followed")
                continue
            relative = relative_posix(absolute, root)
            found.setdefault(relative, SourcePath(absolute, relative))
            continue
        _walk(absolute, relative_posix(absolute, root), root, config, result, found, roots)
    result.files = [found[key] for key in sorted(found)]
    result.kustomization_roots = sorted(roots)
    return result
