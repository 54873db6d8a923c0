"""Pull-request mode: which overlays and files a change since a git revision affects.

`select(changes, index)` is pure: it maps changed paths through a `RepoIndex` (the kustomization
graph plus the Flux Kustomizations that point at overlays) to the top-level overlays and plain
files to validate. The I/O lives at the edges: `build_index` reads the work tree (or an exported
revision), `git_changes` asks git (gitpython, imported only here) what changed.

Why each rule: an overlay renders everything its kustomization closure reads, so a change to any
of those files (or a file appearing in one of its directories) changes the render; a Flux
Kustomization decides which overlay is deployed and with which `postBuild` variables, so a change
to it or to a ConfigMap/Secret it substitutes from re-validates that overlay; an Argo CD Application
reads its Helm values from `$values/<path>` files, so a change to such a file re-validates the
Application (and the overlay holding it); `.sops.yaml` decides
whether every encrypted file below it is still correctly encrypted; `.gitops-kit.yaml` changes
targets, rules and the fleet for everything, so it means a full run.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from .errors import UserError

CONFIG_FILES = frozenset({".gitops-kit.yaml", ".gitops-kit.yml"})
SOPS_CONFIG_FILES = frozenset({".sops.yaml", ".sops.yml"})
_YAML = (".yaml", ".yml")


@dataclass(frozen=True)
class Facts:
    """What a file says that matters for the mapping (read from the work tree or, if deleted, from REF)."""

    #: spec.path (normalised) of each Flux Kustomization in the file
    flux_paths: tuple[str, ...] = ()
    #: (kind, name) of each ConfigMap/Secret in the file: possible postBuild.substituteFrom sources
    sources: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Change:
    path: str  # relative to the repository root, POSIX; the new path of a rename
    status: str = "M"  # A added, M modified, D deleted, R renamed, T type change, U untracked
    old_path: str | None = None  # the path at REF for a rename
    old_facts: Facts = Facts()  # facts of the REF version (deleted or renamed files)

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, self.old_path) if self.old_path and self.old_path != self.path else (self.path,)


@dataclass(frozen=True)
class FluxRef:
    file: str
    path: str  # the overlay root its spec.path names
    substitute_from: tuple[tuple[str, str], ...] = ()  # (kind, name)


@dataclass
class RepoIndex:
    """The resource graph as the mapping needs it; built by `build_index`, or by hand in tests."""

    #: top-level overlay root → every file its render reads (kustomization files and inputs)
    reads: dict[str, frozenset[str]] = field(default_factory=dict)
    #: top-level overlay root → the kustomization directories of its closure
    dirs: dict[str, frozenset[str]] = field(default_factory=dict)
    flux: list[FluxRef] = field(default_factory=list)
    #: (kind, name) → files defining such a ConfigMap/Secret (only for names some Flux Kustomization uses)
    sources: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    #: files holding a SOPS `sops:` block
    encrypted: frozenset[str] = frozenset()
    #: facts of the work-tree version of files (Flux Kustomizations and substitution sources)
    facts: dict[str, Facts] = field(default_factory=dict)
    #: files that exist and are YAML (validated when changed)
    yaml_files: frozenset[str] = frozenset()
    #: Argo CD values file (`$values/<path>` of some Application) → the files holding those Applications
    value_readers: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.reads)


@dataclass
class Selection:
    overlays: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    total: int = 0
    full: bool = False
    reason: str = ""
    changed: int = 0

    def paths(self) -> list[str]:
        """What to hand to `validate`: overlay directories first, then plain files."""
        return ["."] if self.full else [*self.overlays, *self.files]

    def summary(self, ref: str) -> str:
        files = f"{self.changed} changed file{'s' if self.changed != 1 else ''} since {ref}"
        if self.full:
            return f"{files}: {self.reason}; all {self.total} overlays affected, whole repository validated"
        return f"{files}: {len(self.overlays)} of {self.total} overlays affected, {len(self.files)} other file(s) validated"


def _dir(path: str) -> str:
    return posixpath.dirname(path) or "."


def _under(path: str, directory: str) -> bool:
    return directory == "." or path == directory or path.startswith(directory + "/")


def select(changes: Iterable[Change], index: RepoIndex) -> Selection:
    """Changed paths → affected top-level overlays and the plain files to validate (pure)."""
    from .flux_vars import closest

    changes = list(changes)
    selection = Selection(total=index.total, changed=len(changes))
    for change in changes:
        for path in change.paths:
            if path in CONFIG_FILES:
                selection.full, selection.reason = True, f"{path} changed"
                selection.overlays = sorted(index.reads)
                return selection
    overlays: set[str] = set()
    files: set[str] = set()
    flux_paths: set[str] = set()
    changed_paths: set[str] = set()
    gone_sources: set[tuple[str, str]] = set()
    for change in changes:
        for path in change.paths:
            if path in index.yaml_files:
                files.add(path)  # load problems (syntax, duplicate keys) of the file itself
            name = path.rpartition("/")[2]
            if name in SOPS_CONFIG_FILES:
                scope = _dir(path)
                files.update(f for f in index.encrypted if _under(f, scope))
            parent = _dir(path)
            for root, reads in index.reads.items():
                if path in reads or parent in index.dirs[root]:
                    overlays.add(root)
            changed_paths.add(path)
            flux_paths.update(index.facts.get(path, Facts()).flux_paths)
            if path in index.value_readers:
                for reader in index.value_readers[path]:
                    files.add(reader)  # the Application whose Helm values changed
                    overlays.update(root for root, reads in index.reads.items() if reader in reads)
                # the same chart's values of every other cluster: plain files, cheap to load, and what
                # the fleet rules compare (cluster ids, pod CIDRs, mesh peers)
                name = path.rpartition("/")[2]
                files.update(p for p in index.value_readers if p.rpartition("/")[2] == name)
        # a deleted or renamed Flux Kustomization / ConfigMap still affects what it used to name
        flux_paths.update(change.old_facts.flux_paths)
        gone_sources.update(change.old_facts.sources)
    overlays.update(p for p in flux_paths if p in index.reads)
    for ref in index.flux:
        for source in ref.substitute_from:
            used = closest(index.sources.get(source, ()), ref.file)
            if (changed_paths.intersection(used) or source in gone_sources) and ref.path in index.reads:
                overlays.add(ref.path)
    # an overlay deployed by a Flux Kustomization renders with its postBuild variables: validate the
    # Kustomization and its substitution sources along, or every ${VAR} would look unset
    for ref in index.flux:
        if ref.path in overlays:
            files.add(ref.file)
            for source in ref.substitute_from:
                files.update(closest(index.sources.get(source, ()), ref.file))
    selection.overlays = sorted(overlays)
    selection.files = sorted(f for f in files if not any(_under(f, root) for root in overlays))
    return selection


# -- edges: reading the tree and asking git ------------------------------------------------------


def file_facts(text: str) -> tuple[Facts, bool]:
    """Facts of one YAML file's text, and whether it holds a SOPS block."""
    from .loader import parse_chunk, split_documents
    from .model import DocRef, Document

    flux_paths: list[str] = []
    sources: list[tuple[str, str]] = []
    encrypted = False
    for index, chunk in enumerate(split_documents(text)):
        data, _problems = parse_chunk(chunk)
        if not isinstance(data, dict):
            continue
        encrypted = encrypted or isinstance(data.get("sops"), dict)
        doc = Document(data, DocRef("", "", index, 1))
        if doc.kind == "Kustomization" and str(doc.api_version).startswith("kustomize.toolkit.fluxcd.io/"):
            from .flux_vars import flux_kustomization

            flux = flux_kustomization(doc)
            if flux is not None:
                flux_paths.append(flux.path)
        elif doc.kind in ("ConfigMap", "Secret") and doc.name:
            sources.append((doc.kind, doc.name))
    return Facts(tuple(flux_paths), tuple(sources)), encrypted


def value_file_paths(text: str) -> list[str]:
    """The repository files Argo CD Applications in `text` read values from (`$<ref>/<path>` entries
    of `helm.valueFiles`; templated paths are skipped: they name no single file)."""
    from .loader import parse_chunk, split_documents
    from .rules._helm import argo_sources, repository_value_file

    paths = []
    for chunk in split_documents(text):
        data, _problems = parse_chunk(chunk)
        spec = data.get("spec") if isinstance(data, dict) and str(data.get("apiVersion", "")).startswith("argoproj.io/") else None
        if not isinstance(spec, dict):
            continue
        for source, _path in argo_sources(spec):
            helm = source.get("helm")
            entries = helm.get("valueFiles") if isinstance(helm, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                named = repository_value_file(entry)
                if named is not None:
                    path = posixpath.normpath(named[1])
                    if not path.startswith(".."):
                        paths.append(path)
    return paths


def _flux_refs(file: str, text: str) -> list[FluxRef]:
    from .loader import parse_chunk, split_documents
    from .model import DocRef, Document
    from .flux_vars import flux_kustomization

    refs = []
    for index, chunk in enumerate(split_documents(text)):
        data, _problems = parse_chunk(chunk)
        if not isinstance(data, dict):
            continue
        flux = flux_kustomization(Document(data, DocRef("", file, index, 1)))
        if flux is not None:
            sources = tuple((str(s.get("kind", "")), str(s.get("name", ""))) for s in flux.substitute_from)
            refs.append(FluxRef(file, flux.path, sources))
    return refs


def build_index(root: Path, config) -> RepoIndex:
    """Read the repository at `root`: kustomization graph, Flux Kustomizations, encrypted files."""
    from .discover import discover
    from .render.graph import build_graph

    discovery = discover([root], config)
    texts: dict[str, str] = {}
    index = RepoIndex(yaml_files=frozenset(s.file for s in discovery.files))
    encrypted: set[str] = set()
    candidates: list[tuple[str, str]] = []
    for source in discovery.files:
        try:
            raw = Path(source.path).read_bytes()
        except OSError:
            continue
        if len(raw) > config.limits.max_file_bytes:
            continue
        if b"sops:" in raw or b"kustomize.toolkit.fluxcd.io" in raw or b"ConfigMap" in raw or b"Secret" in raw:
            text = raw.decode("utf-8", "replace")
            texts[source.file] = text
            facts, is_encrypted = file_facts(text)
            if is_encrypted:
                encrypted.add(source.file)
            if facts.flux_paths or facts.sources:
                index.facts[source.file] = facts
            if facts.flux_paths:
                index.flux.extend(_flux_refs(source.file, text))
            if facts.sources:
                candidates.append((source.file, text))
    readers: dict[str, set[str]] = {}
    for source in discovery.files:
        text = texts.get(source.file)
        if text is None and source.file not in texts:
            try:
                raw = Path(source.path).read_bytes()
            except OSError:
                continue
            if b"valueFiles" not in raw or b"argoproj.io" not in raw or len(raw) > config.limits.max_file_bytes:
                continue
            text = raw.decode("utf-8", "replace")
        if text is not None and "valueFiles" in text and "argoproj.io" in text:
            for path in value_file_paths(text):
                readers.setdefault(path, set()).add(source.file)
    index.value_readers = {path: frozenset(files) for path, files in readers.items()}
    used = {s for ref in index.flux for s in ref.substitute_from}
    sources: dict[tuple[str, str], list[str]] = {}
    for file, _text in candidates:
        for source in index.facts[file].sources:
            if source in used:
                sources.setdefault(source, []).append(file)
    index.sources = {k: tuple(v) for k, v in sources.items()}
    index.encrypted = frozenset(encrypted)
    graph = build_graph(root.resolve(), discovery.kustomization_roots, {ref.path for ref in index.flux})
    for top in graph.top_level:
        closure = graph.closure(top)
        index.reads[top] = frozenset({k.file for k in closure} | {f for k in closure for f in k.inputs})
        index.dirs[top] = frozenset(k.root for k in closure)
    return index


class RevisionError(UserError):
    """An unknown revision or a path that is not in a git repository (exit 2)."""


def open_repo(root: Path, ref: str):
    """The git repository holding `root` and the commit `ref` names; a clear `RevisionError` otherwise."""
    import git

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise RevisionError(f"--changed-since/--base: {root} is not inside a git repository") from None
    from .tools import git_timeout

    if ref.startswith("-"):  # never let a revision be read as an option of git
        raise RevisionError(f"{ref!r}: not a git revision")
    try:
        # `git rev-parse` with a timeout, not GitPython's object database (a long-lived `git cat-file`
        # process that no timeout covers)
        sha = repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}", kill_after_timeout=git_timeout()).strip()
    except git.GitCommandError as err:
        if err.status is not None and err.status < 0 or "timed out" in str(err).lower():
            raise RevisionError(f"git rev-parse {ref!r}: no answer after {git_timeout():g}s; git was killed") from None
        raise RevisionError(f"{ref!r}: unknown git revision (fetch it first, e.g. `git fetch origin {ref}`)") from None
    return repo, Revision(sha)


class Revision:
    """A resolved commit: only its full sha (everything else asks git with a timeout)."""

    __slots__ = ("hexsha",)

    def __init__(self, hexsha: str) -> None:
        self.hexsha = hexsha


def git_changes(root: Path, ref: str, limits=None) -> list[Change]:
    """Everything that differs between `ref` and the work tree under `root`: committed, staged,
    unstaged and untracked changes, renames paired, deleted files with the facts of their REF version."""
    repo, commit = open_repo(root, ref)
    top = Path(repo.working_tree_dir).resolve()
    base = root.resolve()

    def relative(git_path: str | None) -> str | None:
        if git_path is None:
            return None
        absolute = top / git_path
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:
            return None  # outside the validated repository root

    import git

    from .tools import git_timeout

    timeout = git_timeout()

    def run_git(*args: str) -> str:
        # every git process gets a timeout (GitPython kills it after `kill_after_timeout` seconds)
        try:
            command = getattr(repo.git, args[0].replace("-", "_"))  # the git GitPython was configured with
            return command(*args[1:], kill_after_timeout=timeout, strip_newline_in_stdout=False)
        except git.GitCommandError as err:
            detail = (err.stderr or str(err)).strip().splitlines()
            raise RevisionError(f"git {args[0]} failed: {detail[-1] if detail else err}") from None

    def old_facts(git_path: str) -> Facts:
        if not git_path.endswith(_YAML):
            return Facts()
        try:
            text = run_git("show", f"{commit.hexsha}:{git_path}")
        except RevisionError:
            return Facts()
        return file_facts(text)[0]

    changes: list[Change] = []
    # NUL-separated name-status: STATUS\0PATH\0 (renames: R100\0OLD\0NEW\0), paths as git stores them
    fields = run_git("diff", "--name-status", "-M", "-z", "--no-ext-diff", commit.hexsha, "--").split("\0")
    position = 0
    while position < len(fields) and fields[position]:
        status = fields[position][0]
        if status in "RC":
            old_path, new_path = fields[position + 1], fields[position + 2]
            position += 3
        else:
            old_path = new_path = fields[position + 1]
            position += 2
        new, old = relative(new_path), relative(old_path)
        if status == "D":
            if old is not None:
                changes.append(Change(old, "D", None, old_facts(old_path)))
        elif status == "R":
            if new is not None or old is not None:
                changes.append(Change(new or old, "R", old, old_facts(old_path)))
        elif new is not None:
            changes.append(Change(new, "A" if status == "C" else status))
    for path in run_git("ls-files", "--others", "--exclude-standard", "-z").split("\0"):
        rel = relative(path) if path else None
        if rel is not None:
            changes.append(Change(rel, "U"))
    return sorted(set(changes), key=lambda c: c.path)


def restrict(changes: Iterable[Change], scopes: Mapping[str, None] | Iterable[str]) -> list[Change]:
    """Only the changes under the given relative paths ("." keeps everything)."""
    scopes = list(scopes)
    return [c for c in changes if any(_under(p, s) for p in c.paths for s in scopes)]
