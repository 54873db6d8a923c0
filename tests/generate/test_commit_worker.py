"""The git commit worker `new cluster` starts ahead of time (a real child process and real git)."""

from __future__ import annotations

import os
import signal

import git
import pytest

from gitops_kit.generate.gitcommit import CommitError, CommitWorker


@pytest.fixture
def identity(monkeypatch):
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "Test")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(name, "test@example.org")


def test_worker_commits_exactly_the_given_paths(tmp_path, identity):
    worker = CommitWorker()
    (tmp_path / "a.yaml").write_text("a: 1\n")
    (tmp_path / "b.yaml").write_text("b: 1\n")  # not asked for: stays untracked
    sha = worker.commit(tmp_path, ["a.yaml"], "first")
    worker.close()
    repo = git.Repo(tmp_path)
    assert repo.head.commit.hexsha == sha and repo.head.commit.message.strip() == "first"
    assert [item.path for item in repo.head.commit.tree.traverse()] == ["a.yaml"]
    assert repo.untracked_files == ["b.yaml"]


def test_git_failure_is_a_commit_error_with_gits_own_words(tmp_path, identity):
    git.Repo.init(tmp_path)
    (tmp_path / ".git" / "index.lock").write_bytes(b"")  # another git process holds the index
    (tmp_path / "a.yaml").write_text("a: 1\n")
    worker = CommitWorker()
    with pytest.raises(CommitError) as caught:
        worker.commit(tmp_path, ["a.yaml"], "first")
    worker.close()
    # the same error as commit_paths in-process: git's last line
    assert "remove the file manually" in caught.value.detail and "Traceback" not in str(caught.value)


def test_a_worker_that_died_is_one_clear_error(tmp_path):
    import select

    worker = CommitWorker()
    process = worker._worker._process
    select.select([process.stdout], [], [], 30)  # it is up (READY is waiting in the pipe, unread)
    os.kill(process.pid, signal.SIGKILL)  # then dies on its own, as after an out-of-memory kill
    process.wait()
    with pytest.raises(CommitError) as caught:
        worker.commit(tmp_path, ["a.yaml"], "first")
    assert f"git commit in {tmp_path} failed" in str(caught.value) and "exited with code" in caught.value.detail
    assert not (tmp_path / ".git").exists()  # not retried in-process: the request may have reached git


def test_a_worker_that_never_came_up_commits_in_process(tmp_path, identity, monkeypatch):
    """sys.executable is not a Python that runs gitops_kit (an embedding program): the commit still happens."""
    import sys

    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.symlink_to("/bin/false")
    monkeypatch.setattr(sys, "executable", str(fake))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.yaml").write_text("a: 1\n")
    worker = CommitWorker()
    sha = worker.commit(repo, ["a.yaml"], "first")
    assert git.Repo(repo).head.commit.hexsha == sha


def test_an_unused_worker_is_stopped_when_closed():
    worker = CommitWorker()
    worker.close()
    assert worker._worker._process.returncode is not None  # gone and reaped, not left running


def test_without_a_worker_the_commit_happens_in_process(tmp_path, identity, monkeypatch):
    """No usable interpreter for a worker (an embedded Python, say): new cluster still commits."""
    import sys

    from gitops_kit.generate.prefetch import Prefetch

    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    prefetch = Prefetch(git=True)
    (tmp_path / "a.yaml").write_text("a: 1\n")
    sha = prefetch.commit(tmp_path, ["a.yaml"], "first")
    prefetch.wait()
    assert git.Repo(tmp_path).head.commit.hexsha == sha
