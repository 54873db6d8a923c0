"""Renders started before the validator asks for them.

`new cluster` knows the overlays it will validate as soon as cookiecutter has rendered the clusters'
folders into the new repository's folder (their Secrets put there as ciphertext), well before the
repository is complete and discovered. It starts their `kustomize build`s there (`start`) while it goes on
rendering and writing. The render stage then takes a build from here (`take`) instead of starting its own.

A render ahead is keyed like a render-cache entry (`cache.input_key`: the relative path and content of
every input, the renderer's identity, the flags), so it is only ever used for an overlay whose inputs are,
byte for byte, the ones it was built from; any other overlay renders as it always does. A build that
failed is not used either: the render stage builds it again in the real repository, so its message
names the real paths.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .. import tools
from ..config import Config
from ..discover import KUSTOMIZATION_NAMES

_LOCK = threading.Lock()
_STARTED: dict[str, tools.Running] = {}


def start(folder: Path, config: Config) -> list[str]:
    """Start building the top-level overlays of `folder` (a partial copy of a repository) that are complete
    and not in the render cache: at most twice `render.jobs` of them, slowest first. Returns the roots started.

    An overlay is complete when every file its kustomizations name exists. Best effort: a problem here
    (no renderer, an unreadable kustomization) starts nothing, and the render stage reports it itself."""
    from . import _overlay_key, _nothing_to_build, _pending_bootstrap, _slowest_first, cache, find_renderer
    from .concat import gathered
    from .graph import build_graph
    from .settings import parse_settings

    try:
        settings = parse_settings(config)
        renderer = find_renderer(settings)
    except Exception:  # noqa: BLE001 - see the docstring
        return []
    roots = sorted({_parent(p) for p in _files(folder) if p.rpartition("/")[2] in KUSTOMIZATION_NAMES})
    graph = build_graph(folder, roots)
    started = []
    for root in _slowest_first(graph, graph.top_level):
        if len(started) >= 2 * settings.jobs:  # a new repository has a few; more would only wait for a core
            break
        kfile = graph.files[root]
        if _nothing_to_build(kfile) or _pending_bootstrap(folder, kfile) or not _complete(folder, graph, root):
            continue
        if gathered(folder, graph, root) is not None:
            continue  # the render stage gathers its files itself: no build to start
        key = _overlay_key(folder, graph, root, renderer)
        if (settings.cache and cache.load(key) is not None) or key in _STARTED:
            continue
        directory = folder / root if root != "." else folder
        try:
            running = tools.start(renderer.args(directory), cwd=folder, env=tools.minimal_env(tools.go_batch_env()))
        except tools.ToolError:
            break
        with _LOCK:
            _STARTED[key] = running
        started.append(root)
    return started


def take(key: str, timeout: float) -> tools.Result | None:
    """The build started ahead for this key, once it has finished successfully; None when there is none
    (or it failed: the caller builds it itself). A timeout raises `tools.ToolTimeout`, as a build does."""
    with _LOCK:
        running = _STARTED.pop(key, None)
    if running is None:
        return None
    result = running.finish(timeout=timeout)
    return result if result.returncode == 0 else None


def waiting() -> bool:
    """Whether any build ahead is left to take: the render stage then computes keys even without the cache."""
    with _LOCK:
        return bool(_STARTED)


def discard() -> None:
    """Stop the builds nobody took (the run ended early, or validated something else)."""
    with _LOCK:
        left = list(_STARTED.values())
        _STARTED.clear()
    for running in left:
        running.kill()


def _complete(folder: Path, graph, root: str) -> bool:
    return all((folder / name).exists() for kfile in graph.closure(root) for name in kfile.inputs)


def _files(folder: Path):
    for current, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".git"]
        relative = os.path.relpath(current, folder)
        for name in names:
            yield name if relative == "." else f"{Path(relative).as_posix()}/{name}"


def _parent(path: str) -> str:
    return path.rpartition("/")[0] or "."
