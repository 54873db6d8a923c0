"""Work `new cluster` would otherwise wait for, done while it waits on something else.

sops and kustomize/kubectl are asked for their versions while the templates render, and GitPython is
imported while the validator waits on kubectl (adding a cluster to an existing repository).

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
    def __init__(self, repo: Path, *, sops: bool) -> None:
        self._threads = [threading.Thread(target=self._run, args=(repo, sops), name="gitops-kit-prefetch", daemon=True)]
        self._threads[0].start()

    def import_git(self) -> None:
        """Import GitPython (~0.03-0.05 s) while the validator waits on kubectl, not after it."""
        thread = threading.Thread(target=_import_git, name="gitops-kit-import-git", daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait(self) -> None:
        for thread in self._threads:
            thread.join()

    @staticmethod
    def _run(repo: Path, sops: bool) -> None:
        try:
            if sops:
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


def _import_git() -> None:
    from .gitcommit import import_gitpython

    import_gitpython()
