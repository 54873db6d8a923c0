"""Paths → the YAML files to load and the kustomization roots to render.

Never follows a symlink that leaves the repository; skips `.git`, configured excludes and Helm
chart templates (Go templates are not YAML until `helm template` has run).
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import Config, relative_posix
from .errors import UserError
from .model import _Frozen, _Record

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
    """A file to load: `path` absolute, `file` relative to the root (POSIX)."""

    __slots__ = _fields = ("path", "file")

    def __init__(self, path: str, file: str) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "file", file)

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


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def discover(paths: list[Path], config: Config) -> Discovery:
    """Walk `paths` (files or directories) in sorted order; missing paths raise `PathError`."""
    root = config.root.resolve()
    found: dict[str, SourcePath] = {}
    roots: set[str] = set()
    result = Discovery()
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise PathError(f"{given}: no such file or directory")
        absolute = given.absolute()
        if given.is_file():
            resolved = absolute.resolve()
            if given.is_symlink() and not _inside(resolved, root):
                result.skipped.append(f"{given}: symlink to outside the repository, not followed")
                continue
            relative = relative_posix(absolute, root)
            found.setdefault(relative, SourcePath(str(absolute), relative))
            continue
        for directory, subdirs, files in os.walk(absolute, followlinks=False):
            dir_path = Path(directory)
            rel_dir = relative_posix(dir_path, root)
            rel_dir = "" if rel_dir == "." else rel_dir
            keep = []
            for sub in sorted(subdirs):
                rel = f"{rel_dir}/{sub}" if rel_dir else sub
                sub_path = dir_path / sub
                if sub == ".git" or config.is_excluded(rel):
                    continue
                if sub_path.is_symlink():
                    if _inside(sub_path.resolve(), root):
                        result.skipped.append(f"{rel}: symlinked directory, not followed (its target is walked itself)")
                    else:
                        result.skipped.append(f"{rel}: symlink to outside the repository, not followed")
                    continue
                if sub == "templates" and (dir_path / "Chart.yaml").is_file():
                    result.skipped.append(f"{rel}: Helm chart templates (render them with helm first)")
                    continue
                keep.append(sub)
            subdirs[:] = keep
            names = set(files)
            if any(name in names for name in KUSTOMIZATION_NAMES):
                roots.add(rel_dir or ".")
            for name in sorted(files):
                if not (name.endswith(YAML_SUFFIXES) or name == "Kustomization"):
                    continue
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if config.is_excluded(rel):
                    continue
                file_path = dir_path / name
                if file_path.is_symlink() and not _inside(file_path.resolve(), root):
                    result.skipped.append(f"{rel}: symlink to outside the repository, not followed")
                    continue
                found.setdefault(rel, SourcePath(str(file_path), rel))
    result.files = [found[key] for key in sorted(found)]
    result.kustomization_roots = sorted(roots)
    return result
