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
    from typing import Iterable, Iterator, Sequence

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


def _source(base: str | tuple[str], file: str) -> SourcePath:
    source = object.__new__(SourcePath)
    object.__setattr__(source, "_base", base)
    object.__setattr__(source, "file", file)
    return source


def _file(source: SourcePath) -> str:
    return source.file


def _directory_and_name(file: str) -> tuple[str, str]:
    """A relative file's directory ("" for the root) and name: files are checked grouped by directory."""
    directory, _, name = file.rpartition("/")
    return directory, name


class _Folder:
    """Files of one directory that share a base: their names as one string ("/" cannot be in a name)."""

    __slots__ = ("base", "prefix", "directory", "names", "count")

    def __init__(self, base: str | tuple[str], prefix: str, directory: str, names: list[str]) -> None:
        self.base, self.prefix, self.directory = base, prefix, directory
        self.names = "/".join(names)
        self.count = len(names)

    def __iter__(self) -> Iterator[SourcePath]:
        base, prefix = self.base, self.prefix
        for name in self.names.split("/"):
            yield _source(base, prefix + name)


class Files:
    """Whole directories of files in check order (each directory's files together, by name), built into
    `SourcePath`s as they are read: a run over tens of thousands of files holds none of them at once.
    What `FileList.by_directory` gives and `parallel` cuts into chunks (`directories`)."""

    __slots__ = ("folders", "_count")

    def __init__(self, folders: list[_Folder]) -> None:
        self.folders = folders
        self._count = sum(folder.count for folder in folders)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[SourcePath]:
        for folder in self.folders:
            yield from folder

    def __getitem__(self, index: int) -> SourcePath:
        if index < 0:
            index += self._count
        for folder in self.folders:
            if 0 <= index < folder.count:
                return _source(folder.base, folder.prefix + folder.names.split("/")[index])
            index -= folder.count
        raise IndexError("Files index out of range")

    def directories(self) -> list[Files]:
        """One `Files` per directory, in order (the units a chunk of work is made of)."""
        runs: list[list[_Folder]] = []
        previous = None
        for folder in self.folders:
            if runs and folder.directory == previous:
                runs[-1].append(folder)
            else:
                runs.append([folder])
            previous = folder.directory
        return [Files(run) for run in runs]

    def __repr__(self) -> str:
        return f"Files({len(self)} files in {len(self.directories())} directories)"


class FileList:
    """The discovered files as a read-only sequence of `SourcePath`, sorted by `file`.

    A large repository has tens of thousands of files and a run keeps this list to its end, so it is
    stored per directory (the shared base, the relative prefix, the names as one string: ≈ 20 bytes
    a file) and each `SourcePath` is built when it is read. `by_directory()` gives the files in the
    order they are checked."""

    __slots__ = ("_folders", "_count", "_in_file_order")

    def __init__(self, sources: Iterable[SourcePath] = ()) -> None:
        found: dict[str, dict[str, str | tuple[str]]] = {}
        for source in sources:
            directory, name = _directory_and_name(source.file)
            found.setdefault(directory, {}).setdefault(name, source._base)
        self._build(found)

    @classmethod
    def _of(cls, found: dict[str, dict[str, str | tuple[str]]]) -> FileList:
        """From directory → {name: base} (what discovery collects: no object per file on the way)."""
        files = cls.__new__(cls)
        files._build(found)
        return files

    def _build(self, found: dict[str, dict[str, str | tuple[str]]]) -> None:
        folders: list[_Folder] = []
        in_file_order = True
        previous = ""
        for directory in sorted(found):
            bases = found[directory]
            prefix = f"{directory}/" if directory else ""
            names = sorted(bases)
            # by directory, then name; the same as sorted by file unless a file sorts after a subdirectory
            if folders and previous >= prefix + names[0]:
                in_file_order = False
            previous = prefix + names[-1]
            start = 0
            for index in range(1, len(names) + 1):
                if index == len(names) or bases[names[index]] != bases[names[start]]:
                    folders.append(_Folder(bases[names[start]], prefix, directory, names[start:index]))
                    start = index
        self._folders = folders
        self._count = sum(folder.count for folder in folders)
        self._in_file_order = in_file_order

    def by_directory(self) -> Files:
        return Files(self._folders)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[SourcePath]:
        files = self.by_directory()
        return iter(files) if self._in_file_order else iter(sorted(files, key=_file))

    def __getitem__(self, index: int | slice) -> SourcePath | list[SourcePath]:
        if self._in_file_order and isinstance(index, int):
            return self.by_directory()[index]
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (FileList, list, tuple)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FileList({list(self)!r})"


class Discovery(_Record):
    """What to load; `kustomization_roots`: directories (relative, POSIX; "." for the root) that
    hold a kustomization file; `skipped`: notes about paths not followed."""

    __slots__ = _fields = ("files", "kustomization_roots", "skipped")

    def __init__(
        self,
        files: FileList | list[SourcePath] | None = None,
        kustomization_roots: list[str] | None = None,
        skipped: list[str] | None = None,
    ) -> None:
        self.files = files if files is not None else FileList()
        self.kustomization_roots = kustomization_roots if kustomization_roots is not None else []
        self.skipped = skipped if skipped is not None else []


def _inside(path: str, root: str) -> bool:
    """Whether `path` is `root` or under it (both resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk(
    top: str,
    rel_top: str,
    root: str,
    config: Config,
    result: Discovery,
    found: dict[str, dict[str, str | tuple[str]]],
    roots: set[str],
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
        names = None
        base: str | tuple[str] = ""
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
            if not _regular(entry):
                # reading a FIFO waits for a writer that may never come
                result.skipped.append(f"{rel}: not a regular file (a FIFO, socket or device), not read")
                continue
            if names is None:
                names = found.setdefault(rel_dir, {})
                base = split_path(entry.path, rel)  # the same for every file of the directory, if a string
            names.setdefault(name, base if base.__class__ is str else split_path(entry.path, rel))
        pending.extend(reversed(children))  # depth first in sorted order, as os.walk(topdown=True) visits them


def _regular(entry: os.DirEntry) -> bool:
    """A regular file, or a name that does not resolve (a dangling symlink: reading it reports the error).
    Free for a plain file: the directory listing already says what it is."""
    try:
        return entry.is_file() or not os.path.exists(entry.path)
    except OSError:
        return True


def _name(entry: os.DirEntry) -> str:
    return entry.name


def discover(paths: Sequence[str | PathLike[str]], config: Config) -> Discovery:
    """Walk `paths` (files or directories) in sorted order; missing paths raise `PathError`."""
    root = os.path.realpath(config.root)
    found: dict[str, dict[str, str | tuple[str]]] = {}  # directory → {name: base}, the first path given wins
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
            directory, name = _directory_and_name(relative)
            found.setdefault(directory, {}).setdefault(name, split_path(absolute, relative))
            continue
        _walk(absolute, relative_posix(absolute, root), root, config, result, found, roots)
    result.files = FileList._of(found)
    result.kustomization_roots = sorted(roots)
    return result
