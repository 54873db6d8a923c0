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


#: why GitPython could not be imported, once that was tried and failed: never tried again (a second try
#: could be on the commit's thread, and imports stay on the main thread)
_UNUSABLE: str | None = None


def import_gitpython() -> None:
    """Import GitPython ahead of `commit_paths`, on the calling thread (`new cluster` does it on its main
    thread while cookiecutter renders). A failure is remembered for `commit_paths` to report."""
    global _UNUSABLE
    if _UNUSABLE is not None:
        return
    try:
        import git  # noqa: F401
        import git.refs.symbolic  # noqa: F401 - what commit_paths imports besides
    except Exception as err:  # noqa: BLE001 - GitPython refuses to import without a working git executable
        text = str(err).strip()
        _UNUSABLE = text.splitlines()[0] if text else "git not found"


def commit_paths(repo_dir: Path, paths: list[str], message: str) -> str:
    """`git init` if needed, then commit exactly `paths`; returns the new commit's hex sha."""
    import_gitpython()
    if _UNUSABLE is not None:
        detail = f"git is not usable ({_UNUSABLE}); install git or run with --no-commit"
        raise CommitError(f"git commit in {repo_dir} failed: {detail}", detail)
    import git

    from ..tools import git_timeout

    timeout = git_timeout()  # every git process is killed if it hangs (a lock, a credential prompt)
    repo = None
    staged = False
    head_before: str | None = None
    try:
        repo = git.Repo(repo_dir) if (repo_dir / ".git").exists() else git.Repo.init(repo_dir)
        env = _identity_env(repo)
        existing = [p for p in paths if (repo_dir / p).exists()]
        removed = [p for p in paths if not (repo_dir / p).exists()]
        head_before = _head(repo)
        staged = True
        if existing:
            repo.git.add("--", *existing, kill_after_timeout=timeout)
        if removed:
            repo.git.rm("--cached", "--ignore-unmatch", "--quiet", "--", *removed, kill_after_timeout=timeout)
        with repo.git.custom_environment(**env):
            repo.git.commit("-m", message, "--no-verify", "--", *paths, kill_after_timeout=timeout)
        # read from the ref files: `repo.head.commit` would start a `git cat-file` process to learn its type
        sha = _head(repo)
        if sha is None:
            raise ValueError("HEAD names no commit after `git commit`")
        return sha
    except git.GitCommandError as err:
        landed = _landed(repo, head_before, message) if staged and repo is not None else None
        if landed is not None:
            # git made the commit and failed (or was stopped) afterwards: a post-commit hook, its
            # `maintenance --auto`, an interrupt. The commit is there; taking the files back would undo it.
            return landed
        if staged and repo is not None:
            _unstage(repo, paths, timeout)
        lines = (err.stderr or str(err)).strip().splitlines()
        detail = lines[-1] if lines else str(err)
        if (repo_dir / ".git" / "index.lock").exists():
            detail += "; git left .git/index.lock behind (it was stopped): remove it before running git again"
        raise CommitError(f"git commit in {repo_dir} failed: {detail}", detail) from None
    except (git.GitError, OSError, ValueError) as err:  # `.git` not a repository, unreadable, a broken ref …
        if staged and repo is not None:
            _unstage(repo, paths, timeout)
        detail = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else 'no detail'}"
        raise CommitError(f"git commit in {repo_dir} failed: {detail}", detail) from None
    finally:
        if repo is not None:
            repo.close()  # its readers and git processes go now, not in a finaliser a signal could interrupt


def _head(repo: object) -> str | None:
    """The commit HEAD names, read from the ref files (None before the first commit)."""
    from git.refs.symbolic import SymbolicReference

    try:
        return SymbolicReference.dereference_recursive(repo, "HEAD")
    except (ValueError, OSError):
        return None


def _landed(repo: object, before: str | None, message: str) -> str | None:
    """The sha of our commit when HEAD moved to it despite git's failure, else None."""
    after = _head(repo)
    if after is None or after == before:
        return None
    try:
        made = repo.commit(after).message  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - unreadable: not known to be ours, so it is not treated as made
        return None
    return after if str(made).strip() == message.strip() else None


def _unstage(repo: object, paths: list[str], timeout: float) -> None:
    """Put the index entries of `paths` back as HEAD has them (none, in a repository without commits,
    which `git reset` handles too): a commit that failed after `git add` must not leave this run's files
    staged. Best effort: the error reported is the commit's."""
    import git

    try:
        repo.git.reset("-q", "--", *paths, kill_after_timeout=timeout)  # type: ignore[attr-defined]
    except git.GitError:
        pass


def _identity_env(repo: object) -> dict[str, str]:
    env: dict[str, str] = {}
    with repo.config_reader() as reader:  # type: ignore[attr-defined]  # released here, not by the collector
        if not (os.environ.get("GIT_AUTHOR_NAME") or reader.has_option("user", "name")):
            env.update(GIT_AUTHOR_NAME=_FALLBACK_IDENTITY["GIT_AUTHOR_NAME"], GIT_COMMITTER_NAME=_FALLBACK_IDENTITY["GIT_AUTHOR_NAME"])
        if not (os.environ.get("GIT_AUTHOR_EMAIL") or reader.has_option("user", "email")):
            env.update(GIT_AUTHOR_EMAIL=_FALLBACK_IDENTITY["GIT_AUTHOR_EMAIL"], GIT_COMMITTER_EMAIL=_FALLBACK_IDENTITY["GIT_AUTHOR_EMAIL"])
    return env
