"""Work `new cluster` would otherwise wait for, done while it waits on something else.

sops and kustomize/kubectl are asked for their versions while the templates render, and the git commit
runs in a worker process started at the same time (gitcommit.CommitWorker), so GitPython is imported on
the other core rather than under this process's interpreter lock.

Both version answers are remembered for the process (`secrets.sops.find_sops`, the renderer's version behind
`render.find_renderer`) and each costs a process start of ~0.04 s that would otherwise sit on the path
between rendering and validating. Rendering the templates is pure Python on one core; the second core
runs these meanwhile. Best effort only: a failure here is dropped, and the real call later raises it
where it always did, with its usual message.
"""

from __future__ import annotations

import threading
from pathlib import Path


class Prefetch:
    def __init__(self, repo: Path, *, tools: bool, git: bool) -> None:
        """`tools`: ask sops and the renderer for their versions; `git`: start the commit worker."""
        from .gitcommit import CommitWorker

        self._committer = CommitWorker() if git else None
        self._threads = [threading.Thread(target=self._run, args=(repo,), name="gitops-kit-prefetch", daemon=True)] if tools else []
        for thread in self._threads:
            thread.start()

    def commit(self, repo_dir: Path, paths: list[str], message: str) -> str:
        """`gitcommit.commit_paths`, through the worker when there is one (raises CommitError alike)."""
        if self._committer is None:
            from .gitcommit import commit_paths

            return commit_paths(repo_dir, paths, message)
        committer, self._committer = self._committer, None  # one commit per worker
        try:
            return committer.commit(repo_dir, paths, message)
        finally:
            committer.close()

    def wait(self) -> None:
        for thread in self._threads:
            thread.join()
        if self._committer is not None:
            self._committer.close()  # never asked: it exits on end of input

    @staticmethod
    def _run(repo: Path) -> None:
        try:
            from ..secrets.sops import find_sops

            find_sops()
            from ..config import CONFIG_NAME, load_config
            from ..render import find_renderer
            from ..render.settings import RenderSettings, parse_settings

            # the repository's own render settings may name another kustomize binary
            settings = parse_settings(load_config(repo)) if (repo / CONFIG_NAME).is_file() else RenderSettings()
            find_renderer(settings)
        except Exception:  # noqa: BLE001 - see the module docstring: the real call reports it
            pass
