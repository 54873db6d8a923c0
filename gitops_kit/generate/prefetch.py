"""Work `new cluster` would otherwise wait for, done while it waits on something else.

cookiecutter renders in a forked child (generate.worker) while this process makes the Secrets and starts
sops, then imports GitPython for the commit (`prepare_commit`) and loads the rule modules and schemas the
validation will need (`warm_validator`, which stops when the child has something), instead of doing each
after the other on one core. Once the clusters' folders of a new repository are rendered, their overlays
start building (`render_ahead`, render.ahead) while the rest renders and while the validator checks the
files. Best effort only: a failure here is dropped, and the real call later raises it where it always
did, with its usual message.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

if TYPE_CHECKING:
    from .fleet import Fleet
    from .worker import RenderWorker


class Prefetch:
    def __init__(self, *, worker: bool) -> None:
        """`worker`: render in a forked child (`start_render`); else `rendered` says the caller renders."""
        self._use_worker = worker
        self._worker: RenderWorker | None = None
        self._rendering_ahead = False

    def start_render(self, fleet: Fleet, into: Path | None) -> None:
        """Have a child render `fleet` (as `render_fleet(fleet, into=into)`) from now; `rendered` collects it."""
        from ..fileio import SignalsHeld

        if self._use_worker and self._worker is None:
            with SignalsHeld():  # Ctrl-C or SIGTERM lands once the child is ours to stop, never in between
                self._worker = _render_worker(fleet, into)

    def rendering(self) -> bool:
        """Whether the render `start_render` started has nothing to hand over yet."""
        return self._worker is not None and self._worker.quiet()

    def rendered(self, clusters_rendered: Callable[[dict[str, bytes]], None] | None) -> dict[str, bytes] | None:
        """The files of the render `start_render` started, `clusters_rendered` called on the way (see
        `render_fleet`); None when no child renders (the caller renders itself)."""
        if self._worker is None:
            return None
        try:
            return self._worker.rendered(clusters_rendered)
        finally:
            self._worker.close()  # done already when it answered; whatever happened, it is gone now
            self._worker = None

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
    def warm_validator(
        repo: Path, files: Mapping[str, bytes], skip: frozenset[str], keep_going: Callable[[], bool],
        kinds: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Load what validating `files` (the repository at `repo` as it will be) needs, and the schemas of
        `kinds`, on this thread, while `keep_going()` (the child still renders, or sops still encrypts): see
        `_warm_validator`."""
        _warm_validator(repo, files, skip, keep_going, kinds)

    @staticmethod
    def prepare_commit() -> None:
        """Import GitPython now (≈ 0.05 s) on this thread: while the render runs rather than when committing,
        and never on the commit's own thread (tests/reliability/test_thread_imports.py says why)."""
        from .gitcommit import import_gitpython

        import_gitpython()

    @staticmethod
    def commit(repo_dir: Path, paths: list[str], message: str) -> str:
        """`gitcommit.commit_paths` (raises CommitError)."""
        from .gitcommit import commit_paths

        return commit_paths(repo_dir, paths, message)

    def stop_rendering_ahead(self) -> None:
        """Stop the builds started by `render_ahead` that nobody took."""
        if self._rendering_ahead:
            from ..render import ahead

            ahead.discard()
            self._rendering_ahead = False

    def wait(self) -> None:
        """Stop whatever still runs: the builds nobody took and the render, even half done (the folder it
        renders into is about to be removed)."""
        self.stop_rendering_ahead()
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _render_worker(fleet: Fleet, into: Path | None) -> RenderWorker | None:
    """A child rendering `fleet`, or None when none can be forked here (then this process renders)."""
    from .worker import RenderWorker

    try:
        return RenderWorker(fleet, into)
    except (OSError, RuntimeError):
        return None


def _warm_validator(
    repo: Path, files: Mapping[str, bytes], skip: frozenset[str], keep_going: Callable[[], bool], kinds: Iterable[tuple[str, str]],
) -> None:
    """Import every rule module and resolve the schema of every kind in `kinds` and among the manifests of
    `files` (`.gitops-kit.yaml` among them). With an empty schema cache, resolving the first kind alone reads
    the bundle (≈ 25 ms): done after the builds, that would be the run's last step, on one core.

    Runs on the main thread while the child renders or sops encrypts (the time would otherwise be spent
    waiting) and stops once `keep_going()` says they are done: the validator loads whatever is left when it
    needs it, while the builds started ahead run. Files in `skip` (Secrets to be encrypted) are not read.
    Best effort: a problem here is left for the validator to report."""
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
        kinds = set(kinds)
        for api_version, kind in sorted(kinds):  # first: no need to read `files` for them
            if not keep_going():
                return
            service.validator(api_version, kind)
        for path, content in files.items():
            if path in skip or not path.endswith((".yaml", ".yml")) or b"apiVersion" not in content:
                continue
            for chunk in content.decode("utf-8").split("\n---"):
                try:
                    document = yaml_loads(chunk)
                except Exception:  # noqa: BLE001 - not a manifest to warm; the validator reports it
                    continue
                if isinstance(document, dict) and isinstance(document.get("apiVersion"), str) and isinstance(document.get("kind"), str):
                    found = (document["apiVersion"], document["kind"])
                    if found not in kinds:
                        if not keep_going():
                            return
                        kinds.add(found)
                        service.validator(*found)
    except Exception:  # noqa: BLE001 - see the docstring
        pass
