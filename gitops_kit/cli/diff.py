"""`gitops-kit diff --base REF [PATH…]`: what the change does to the rendered objects."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_RENDER_FAILED = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="object-level diff of the rendered overlays a change affects (for pull-request comments)",
        description=(
            "Render every overlay affected by the changes since git revision REF (committed, staged, unstaged "
            "and untracked), once at REF and once in the work tree, and print the added, removed and changed "
            "objects with their field changes, then the changes of the merged Helm values of every Argo CD Application "
            "whose values change (its own file or a $values file it reads). Secret values (data/stringData, SOPS "
            "ENC[...] values, Helm values under secret-looking keys or from *.sops.yaml values files) are masked. "
            "Exit 0 whether or not there are differences; 2 on errors (unknown REF, not a git repository, an "
            "overlay that does not render, a missing kubectl/kustomize)."
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="only changes under these paths (default: all)")
    parser.add_argument("--base", required=True, metavar="REF", help="git revision to compare with, e.g. origin/main")
    parser.add_argument(
        "-f", "--format", choices=["text", "markdown", "json"], default="text",
        help=(
            "text (default), markdown (a pull-request comment, one collapsible section per overlay and per "
            "Application whose Helm values change) or json"
        ),
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the diff to FILE (atomically) instead of stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import find_root, load_config
    from ..diff import FORMATS
    from ..progress import progress
    from ._output import emit

    paths = [Path(p) for p in args.paths]
    start = paths[0] if paths and paths[0].exists() else Path.cwd()
    root = Path(find_root(start))
    config = load_config(root)
    with progress("diff", quiet=args.quiet) as bar:
        overlays, notes, failed, values = compare(root, config, args.base, paths, bar)
    emit(FORMATS[args.format](overlays, args.base, notes, values), args.output)
    return EXIT_RENDER_FAILED if failed else 0


def compare(root: Path, config, ref: str, scopes: list[Path], bar=None):
    """(overlay diffs, notes, whether some overlay failed to render, Helm values diffs) for the changes
    since `ref`."""
    import tempfile

    from ..changes import build_index, git_changes, open_repo, restrict, select
    from ..config import load_config, relative_posix
    from ..diff import diff_overlay

    changes = git_changes(root, ref)
    if scopes:
        changes = restrict(changes, [relative_posix(p.resolve(), root.resolve()) for p in scopes])
    repo, commit = open_repo(root, ref)
    with tempfile.TemporaryDirectory(prefix="gitops-kit-diff-") as temp:
        old_root = _export(repo, commit, root, Path(temp))
        old_config = load_config(old_root) if old_root.is_dir() else None
        new_index = build_index(root, config)
        old_index = build_index(old_root, old_config) if old_config is not None else None
        new_sel = select(changes, new_index)
        old_sel = select(changes, old_index) if old_index is not None else None
        names = sorted(set(new_sel.overlays) | set(old_sel.overlays if old_sel else ()))
        if bar is not None:
            bar.start(2, f"rendering {len(names)} overlay(s) at {ref} and in the work tree")
        old, old_problems = _render(old_root, old_config, old_sel.paths() if old_sel and names else [])
        if bar is not None:
            bar.advance()
        new, new_problems = _render(root, config, new_sel.paths() if names else [])
        if bar is not None:
            bar.advance()
        # the Applications of the affected overlays and files, on each side with that side's values files
        # (the export is deleted when this block ends)
        values, value_notes = _values_diffs(
            _applications(old_root, old, _plain_files(old_sel, old_index) if old_sel else [], old_config),
            _applications(root, new, _plain_files(new_sel, new_index), config),
            ref,
        )
    notes = [f"{len(changes)} changed file(s) since {ref}: {len(names)} of {new_sel.total} overlays affected", *value_notes]
    results = []
    failed = False
    # an overlay deployed by two Flux Kustomizations renders twice ("root (ns/name)"): compare each
    for name in sorted(set(old) | set(new) | set(old_problems) | set(new_problems)):
        overlay = diff_overlay(name, old.get(name), new.get(name))
        for side, problems in ((f"at {ref}", old_problems), ("in the work tree", new_problems)):
            for problem in problems.get(name, []):
                overlay.problems.append(f"{side}: {problem}")
                overlay.status = "failed"
                failed = True
        results.append(overlay)
    return results, notes, failed, values


def _export(repo, commit, root: Path, target: Path) -> Path:
    """The tree of `commit` as files under `target` (git archive: no change to the repository)."""
    import io
    import tarfile

    buffer = io.BytesIO()
    from ..tools import git_timeout

    repo.archive(buffer, treeish=commit.hexsha, format="tar", kill_after_timeout=git_timeout())
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as archive:
        archive.extractall(target, filter="data")
    top = Path(repo.working_tree_dir).resolve()
    return target / root.resolve().relative_to(top)


def _render(root: Path, config, paths: list[str]) -> tuple[dict[str, list[dict]], dict[str, list[str]]]:
    """Rendered objects (plain data, Flux substitution applied) per overlay, and build errors per overlay."""
    if not paths or config is None:
        return {}, {}
    from ..discover import discover
    from ..render import find_renderer, render_overlays
    from ..render.settings import parse_settings

    find_renderer(parse_settings(config))  # a missing kubectl/kustomize is an error here, not a note
    existing = [root / p if p != "." else root for p in paths if (root / p).exists()]
    if not existing:
        return {}, {}
    result = render_overlays(discover(existing, config), config)
    problems: dict[str, list[str]] = {}
    for problem in result.problems:
        if problem.rule_id == "kustomize-build":
            overlay = problem.ref.file.rpartition("/")[0] or "."
            problems.setdefault(overlay, []).append(problem.message)
    rendered = {}
    for name, docs in result.overlays.items():
        rendered[name] = [doc.data for doc in docs if isinstance(doc.data, dict)]
    return rendered, problems


# -- Helm values of Argo CD Applications --------------------------------------------------------------


class _Root:
    """What `rules._helm` needs of a run's context: the root `$<ref>/<path>` values files are read from."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = str(root)


class _ChartValues:
    """The merged values one chart of one Application gets on one side, and why they may be incomplete."""

    __slots__ = ("chart", "version", "values", "encrypted", "problems")

    def __init__(self, chart, version, values, encrypted, problems) -> None:
        self.chart, self.version, self.values, self.encrypted, self.problems = chart, version, values, encrypted, problems


def _is_application(data) -> bool:
    return (
        isinstance(data, dict) and data.get("kind") == "Application"
        and isinstance(data.get("apiVersion"), str) and data["apiVersion"].startswith("argoproj.io/")
    )


def _plain_files(selection, index) -> list[str]:
    """The affected YAML files outside the rendered overlays; a full run (`.gitops-kit.yaml` changed) lists
    none, so then every such file of the repository (an Application there may read a changed values file)."""
    if not selection.full:
        return selection.files
    roots = list(index.reads)
    return sorted(
        f for f in index.yaml_files
        if not any(root == "." or f == root or f.startswith(root + "/") for root in roots)
    )


def _applications(root: Path, rendered: dict[str, list[dict]], files: list[str], config) -> dict[tuple, list[_ChartValues]]:
    """(where, object key) → the charts' values of each Argo CD Application of the rendered overlays (where:
    the overlay) and of the plain files (where: the file) on one side."""
    from ..diff import object_key
    from ..loader import parse_chunk, split_documents

    found: dict[tuple, dict] = {}
    for where, objects in rendered.items():
        for obj in objects:
            if _is_application(obj):
                found.setdefault((where, object_key(obj)), obj)
    limit = config.limits.max_file_bytes if config is not None else None
    for file in files:
        path = root / file
        if not file.endswith((".yaml", ".yml")) or not path.is_file() or (limit and path.stat().st_size > limit):
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # its load problem is validate's to report; the diff has no Application to read there
        for chunk in split_documents(text):
            data, _problems = parse_chunk(chunk)
            if _is_application(data):
                found.setdefault((file, object_key(data)), data)
    return {key: _chart_values(root, key[0], obj) for key, obj in found.items()}


def _chart_values(root: Path, where: str, obj: dict) -> list[_ChartValues]:
    from ..model import DocRef, Document
    from ..rules._helm import embedded_values

    result = []
    for values in embedded_values(Document(obj, DocRef(str(root / where), where, 0, 1)), _Root(root)):
        encrypted = tuple(
            layer.values for layer in values.layers
            if layer.ref is not None
            and (layer.ref.file.endswith((".sops.yaml", ".sops.yml")) or isinstance(layer.values.get("sops"), dict))
        )
        problems = tuple(_problem_note(root, obj, message, path) for message, path in values.problems)
        version = "" if values.version is None else str(values.version)
        result.append(_ChartValues(values.chart, version, values.values, encrypted, problems))
    return result


def _problem_note(root: Path, obj: dict, message: str, path: tuple) -> str:
    """A values-file problem located at the file (and, for a YAML error, its line) when it names one."""
    import posixpath

    entry = obj
    for part in path:
        try:
            entry = entry[part]
        except (KeyError, IndexError, TypeError):
            entry = None
            break
    message = message.split(" (see its yaml-syntax finding)")[0]
    if not isinstance(entry, str) or not entry.startswith("$") or "/" not in entry:
        return message
    file = posixpath.normpath(entry.partition("/")[2])
    line = _yaml_error_line(root / file) if "not valid YAML" in message else None
    message = message.replace(f"valueFiles entry {entry!r}: ", "").removeprefix(f"{entry.partition('/')[2]} ")
    return f"{file}{f':{line}' if line else ''}: {message}"


def _yaml_error_line(path: Path) -> int | None:
    from ..loader import parse_chunk, split_documents

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    for chunk in split_documents(text):
        _data, problems = parse_chunk(chunk)
        if problems:
            return problems[0].line  # the line only: a parser's message may quote the file's content
    return None


def _values_diffs(old: dict[tuple, list[_ChartValues]], new: dict[tuple, list[_ChartValues]], ref: str):
    """Values diffs of the Applications present on both sides, and notes for values that cannot be compared.
    Added and removed Applications are named by the object diff; their values are not listed."""
    from ..diff import ValuesDiff, diff_values

    diffs, notes = [], []
    for key in sorted(old.keys() & new.keys()):
        where, object_key = key
        label = f"{object_key[2] + '/' if object_key[2] else ''}{object_key[3]}"
        before = _by_chart(old[key])
        for chart_key, after in _by_chart(new[key]).items():
            previous = before.get(chart_key)
            if previous is None:
                continue  # a chart source added to the Application: the object diff shows it
            if previous.problems or after.problems:
                for side, problems in ((f"at {ref}", previous.problems), ("in the work tree", after.problems)):
                    notes.extend(
                        f"{problem} ({side}; Helm values of Application {label} in {where} not compared)"
                        for problem in problems if not (side.startswith("at") and problem in after.problems)
                    )
                if set(previous.problems) != set(after.problems):
                    continue  # a layer is missing on one side only: every key it sets would look changed
            fields = diff_values(previous.values, after.values, previous.encrypted + after.encrypted)
            if fields:
                diffs.append(ValuesDiff("Application", label, after.chart, after.version or previous.version, where, fields))
    return diffs, notes


def _by_chart(charts: list[_ChartValues]) -> dict[tuple[str, int], _ChartValues]:
    seen: dict[str, int] = {}
    result = {}
    for chart in charts:
        seen[chart.chart] = seen.get(chart.chart, -1) + 1
        result[(chart.chart, seen[chart.chart])] = chart
    return result
