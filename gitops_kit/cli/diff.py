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
            "objects with their field changes. Secret values (data/stringData, SOPS ENC[...] values) are masked. "
            "Exit 0 whether or not there are differences; 2 on errors (unknown REF, not a git repository, an "
            "overlay that does not render, a missing kubectl/kustomize)."
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="only changes under these paths (default: all)")
    parser.add_argument("--base", required=True, metavar="REF", help="git revision to compare with, e.g. origin/main")
    parser.add_argument(
        "-f", "--format", choices=["text", "markdown", "json"], default="text",
        help="text (default), markdown (a pull-request comment, one collapsible section per overlay) or json",
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
        overlays, notes, failed = compare(root, config, args.base, paths, bar)
    emit(FORMATS[args.format](overlays, args.base, notes), args.output)
    return EXIT_RENDER_FAILED if failed else 0


def compare(root: Path, config, ref: str, scopes: list[Path], bar=None):
    """(overlay diffs, notes, whether some overlay failed to render) for the changes since `ref`."""
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
        new_sel = select(changes, build_index(root, config))
        old_sel = select(changes, build_index(old_root, old_config)) if old_config is not None else None
        names = sorted(set(new_sel.overlays) | set(old_sel.overlays if old_sel else ()))
        if bar is not None:
            bar.start(2, f"rendering {len(names)} overlay(s) at {ref} and in the work tree")
        old, old_problems = _render(old_root, old_config, old_sel.paths() if old_sel and names else [])
        if bar is not None:
            bar.advance()
        new, new_problems = _render(root, config, new_sel.paths() if names else [])
        if bar is not None:
            bar.advance()
    notes = [f"{len(changes)} changed file(s) since {ref}: {len(names)} of {new_sel.total} overlays affected"]
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
    return results, notes, failed


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
