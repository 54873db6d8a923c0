"""Work `new cluster` would otherwise wait for, done while it waits on something else.

sops and kustomize/kubectl are asked for their versions while the templates render, and the git commit
runs in a worker process started at the same time (gitcommit.CommitWorker), so GitPython is imported on
the other core rather than under this process's interpreter lock. While sops encrypts, the main thread
loads the rule modules and schemas the validation of the new repository will need.

Both version answers are remembered for the process (`secrets.sops.find_sops`, the renderer's version behind
`render.find_renderer`) and each costs a process start of ~0.04 s that would otherwise sit on the path
between rendering and validating. Rendering the templates is pure Python on one core; the second core
runs these meanwhile. Best effort only: a failure here is dropped, and the real call later raises it
where it always did, with its usual message.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable


class Prefetch:
    def __init__(self, repo: Path, *, tools: bool, git: bool) -> None:
        """`tools`: ask sops and the renderer for their versions; `git`: start the commit worker."""
        self._committer = _commit_worker() if git else None
        self._threads: list[threading.Thread] = []
        if tools:
            # the renderer's version: the repository's own render settings may name another kustomize
            renderer = _prefetch_renderer(repo)
            if renderer is not None:
                self._threads.append(renderer)
            # sops's: imported here, as render.prefetch_renderer does for its own (a Ctrl-C that lands
            # while two threads import at once can leave Python's import lock held)
            from ..secrets.sops import find_sops

            # not a daemon: parallel.py does not fork while it may hold tools' lock (it ends long before
            # validation reaches its file checks), and `wait` joins it at the end of the run anyway
            thread = threading.Thread(target=_quietly, args=(find_sops,), name="gitops-kit-prefetch")
            self._threads.append(thread)
            thread.start()

    @staticmethod
    def warm_validator(repo: Path, files: dict[str, bytes], skip: frozenset[str], keep_going: Callable[[], bool]) -> None:
        """Load what validating `files` (the repository at `repo` as it will be) needs, on this thread,
        while `keep_going()` (sops is still encrypting): see `_warm_validator`."""
        _warm_validator(repo, files, skip, keep_going)

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
            self._committer.close()  # never asked: stopped


def _prefetch_renderer(repo: Path) -> threading.Thread | None:
    from ..config import ConfigError, load_config
    from ..render import prefetch_renderer

    try:
        return prefetch_renderer(load_config(repo))
    except ConfigError:
        return None  # reported where the configuration is read for real


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - see the module docstring: the real call reports it
        pass


def _commit_worker():
    """A started CommitWorker, or None when no worker process can start here (then `commit` commits
    in this process, as before workers existed)."""
    from ..errors import ToolError
    from .gitcommit import CommitWorker

    try:
        return CommitWorker()
    except (ToolError, OSError):
        return None


def _warm_validator(repo: Path, files: dict[str, bytes], skip: frozenset[str], keep_going: Callable[[], bool]) -> None:
    """Import every rule module and resolve the schema of every kind among the generated manifests.

    Runs on the main thread while sops encrypts (the time would otherwise be spent waiting) and stops
    once `keep_going()` says sops is done: the validator loads whatever is left when it needs it.
    Without it the validator pays these loads (~0.03-0.05 s: rule modules, the schema bundle) when it
    checks the first rendered overlay, after the kustomize builds. Files in `skip` (Secrets to be
    encrypted) are not read. Best effort: a problem here is left for the validator to report."""
    from .._native import yaml_loads
    from ..config import CONFIG_NAME, parse_config
    from ..rulebase import load_rule, rule_entries
    from ..schemas import service_from_config

    try:
        for rule_id in rule_entries():
            if not keep_going():
                return
            load_rule(rule_id)
        config = parse_config(yaml_loads(files[CONFIG_NAME].decode("utf-8")), str(repo))
        service = service_from_config(config)
        kinds: set[tuple[str, str]] = set()
        for path, content in files.items():
            if path in skip or not path.endswith((".yaml", ".yml")) or b"apiVersion" not in content:
                continue
            for chunk in content.decode("utf-8").split("\n---"):
                try:
                    document = yaml_loads(chunk)
                except Exception:  # noqa: BLE001 - not a manifest to warm; the validator reports it
                    continue
                if isinstance(document, dict) and isinstance(document.get("apiVersion"), str) and isinstance(document.get("kind"), str):
                    kinds.add((document["apiVersion"], document["kind"]))
        for api_version, kind in sorted(kinds):
            if not keep_going():
                return
            service.validator(api_version, kind)
    except Exception:  # noqa: BLE001 - see the docstring
        pass
