"""Committing generated files with GitPython: only the paths gitops-kit wrote, never the user's staged work."""

from __future__ import annotations

import os
from pathlib import Path

from .names import GenerateError

# used only when the user has no git identity configured (fresh CI machines, containers)
_FALLBACK_IDENTITY = {"GIT_AUTHOR_NAME": "gitops-kit", "GIT_AUTHOR_EMAIL": "gitops-kit@localhost"}


class CommitError(GenerateError):
    """git failed; `detail` is git's own last line (or why git is not usable)."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


def import_gitpython() -> None:
    """Import GitPython ahead of `commit_paths` (the worker does it before its request arrives)."""
    try:
        import git  # noqa: F401
    except Exception:  # noqa: BLE001 - no usable git: commit_paths' own import says so in one line
        pass


class CommitWorker:
    """`commit_paths` in a child process, started before there is anything to commit.

    Importing GitPython costs ~0.05 s of CPU. In-process that time holds the interpreter lock, so it
    would stretch whatever else `new cluster` does in Python meanwhile (rendering templates, then
    checking the new repository); in a child started at the beginning of the run it is spent on the
    other core while the templates render, and the commit later only waits on a pipe. One commit per
    worker; `close()` stops a worker that was never asked (and one whose parent dies sees the end of its
    input and exits)."""

    def __init__(self) -> None:
        import sys

        from ..tools import start

        # the same gitops_kit as this process, whatever sys.path or install made it importable
        package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        code = "import sys; sys.path.insert(0, sys.argv[1]); from gitops_kit.generate.gitcommit import serve; sys.exit(serve())"
        self._worker = start([sys.executable, "-c", code, package_parent], stdin=True, tool="git commit worker")
        self._finished = False

    def commit(self, repo_dir: Path, paths: list[str], message: str) -> str:
        """As `commit_paths`, in the worker; raises CommitError the same way. A worker that never came up
        (`sys.executable` is not a Python that can import gitops_kit: an embedding program, say) never
        read the request, so the commit is made in this process instead."""
        import json

        from ..tools import DEFAULT_TIMEOUT, ToolError

        request = json.dumps({"repo": os.path.abspath(repo_dir), "paths": paths, "message": message}).encode("utf-8")
        self._finished = True
        try:
            result = self._worker.finish(request, timeout=DEFAULT_TIMEOUT)
        except ToolError as err:  # killed after the timeout
            raise CommitError(f"git commit in {repo_dir} failed: {err}", str(err)) from None
        if not result.stdout.startswith(READY):
            return commit_paths(repo_dir, paths, message)
        try:
            answer = json.loads(result.stdout[len(READY):])
        except ValueError:
            lines = result.error_text.splitlines()
            detail = lines[-1] if lines else f"the commit worker exited with code {result.returncode}"
            raise CommitError(f"git commit in {repo_dir} failed: {detail}", detail) from None
        if "sha" in answer:
            return str(answer["sha"])
        raise CommitError(str(answer["error"]), str(answer["detail"]))

    def close(self) -> None:
        """End a worker that was never asked (a run with nothing to commit, or one that stopped on an
        error): it holds no work of ours, so it is stopped rather than waited for."""
        if self._finished:
            return
        self._finished = True
        self._worker.kill()


#: the worker's first output: it is up and will read the request (anything else: it never came up)
READY = b"gitops-kit commit worker\n"


def serve() -> int:
    """The worker's side: import GitPython, then run the one request read from stdin (none: exit)."""
    import json
    import sys

    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    import_gitpython()
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        return 0
    request = json.loads(raw)
    try:
        sha = commit_paths(Path(request["repo"]), list(request["paths"]), str(request["message"]))
    except CommitError as err:
        answer: dict[str, str] = {"error": str(err), "detail": err.detail}
    else:
        answer = {"sha": sha}
    sys.stdout.write(json.dumps(answer))
    return 0


def commit_paths(repo_dir: Path, paths: list[str], message: str) -> str:
    """`git init` if needed, then commit exactly `paths`; returns the new commit's hex sha."""
    try:
        import git
    except ImportError as err:  # GitPython refuses to import without a working git executable
        detail = str(err).strip().splitlines()[0] if str(err).strip() else "git not found"
        detail = f"git is not usable ({detail}); install git or run with --no-commit"
        raise CommitError(f"git commit in {repo_dir} failed: {detail}", detail) from None

    try:
        repo = git.Repo(repo_dir) if (repo_dir / ".git").exists() else git.Repo.init(repo_dir)
        env = _identity_env(repo)
        existing = [p for p in paths if (repo_dir / p).exists()]
        removed = [p for p in paths if not (repo_dir / p).exists()]
        from ..tools import git_timeout

        timeout = git_timeout()  # every git process is killed if it hangs (a lock, a credential prompt)
        if existing:
            repo.git.add("--", *existing, kill_after_timeout=timeout)
        if removed:
            repo.git.rm("--cached", "--ignore-unmatch", "--quiet", "--", *removed, kill_after_timeout=timeout)
        with repo.git.custom_environment(**env):
            repo.git.commit("-m", message, "--no-verify", "--", *paths, kill_after_timeout=timeout)
        from git.refs.symbolic import SymbolicReference

        # read from the ref files: `repo.head.commit` would start a `git cat-file` process to learn its type
        return SymbolicReference.dereference_recursive(repo, "HEAD")
    except git.GitCommandError as err:
        lines = (err.stderr or str(err)).strip().splitlines()
        detail = lines[-1] if lines else str(err)
        raise CommitError(f"git commit in {repo_dir} failed: {detail} (files were written; commit them yourself)", detail) from None


def _identity_env(repo: object) -> dict[str, str]:
    reader = repo.config_reader()  # type: ignore[attr-defined]
    env: dict[str, str] = {}
    if not (os.environ.get("GIT_AUTHOR_NAME") or reader.has_option("user", "name")):
        env.update(GIT_AUTHOR_NAME=_FALLBACK_IDENTITY["GIT_AUTHOR_NAME"], GIT_COMMITTER_NAME=_FALLBACK_IDENTITY["GIT_AUTHOR_NAME"])
    if not (os.environ.get("GIT_AUTHOR_EMAIL") or reader.has_option("user", "email")):
        env.update(GIT_AUTHOR_EMAIL=_FALLBACK_IDENTITY["GIT_AUTHOR_EMAIL"], GIT_COMMITTER_EMAIL=_FALLBACK_IDENTITY["GIT_AUTHOR_EMAIL"])
    return env
