"""Work `new cluster` would otherwise wait for, done while it waits on something else.

The git commit runs in a worker process started with the run (gitcommit.CommitWorker), so GitPython is
imported on the other core rather than under this process's interpreter lock. Once cookiecutter has
rendered the clusters' folders of a new repository, their overlays start building (`render_ahead`,
render.ahead) while the rest renders; while those builds (or sops, when it still encrypts) run, the main
thread loads the rule modules and schemas the validation of the new repository will need
(`warm_validator`). Best effort only: a failure here is dropped, and the real call later raises it where
it always did, with its usual message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable


class Prefetch:
    def __init__(self, *, git: bool) -> None:
        """`git`: start the commit worker."""
        self._committer = _commit_worker() if git else None
        self._rendering_ahead = False

    def render_ahead(self, folder: Path, repo: Path) -> None:
        """Start building the overlays in `folder` (the new repository being rendered: what is there is
        final) for its validation to take (render.ahead), with `repo`'s render settings. What nobody took
        is stopped in `wait`."""
        from ..config import ConfigError, load_config
        from ..render import ahead

        try:
            config = load_config(repo)
        except ConfigError:
            return  # reported where the configuration is read for real
        self._rendering_ahead = True
        ahead.start(folder, config)

    @staticmethod
    def rendering_ahead() -> bool:
        """Whether a build started by `render_ahead` is still running."""
        from ..render import ahead

        return ahead.busy()

    @staticmethod
    def warm_validator(repo: Path, files: dict[str, bytes], skip: frozenset[str], keep_going: Callable[[], bool]) -> None:
        """Load what validating `files` (the repository at `repo` as it will be) needs, on this thread,
        while `keep_going()` (sops is still encrypting, or builds started ahead still run): see `_warm_validator`."""
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

    def stop_rendering_ahead(self) -> None:
        """Stop the builds started by `render_ahead` that nobody took."""
        if self._rendering_ahead:
            from ..render import ahead

            ahead.discard()
            self._rendering_ahead = False

    def wait(self) -> None:
        self.stop_rendering_ahead()
        if self._committer is not None:
            self._committer.close()  # never asked: stopped


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

    Runs on the main thread while sops encrypts or the builds started ahead run (the time would otherwise
    be spent waiting) and stops once `keep_going()` says they are done: the validator loads whatever is
    left when it needs it.
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
