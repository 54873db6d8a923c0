"""The forked child that renders the fleet for `new cluster` (real fork, real cookiecutter, real git)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import git
import pytest

from gitops_kit.cli import main
from gitops_kit.generate import blueprints as blueprints_module
from gitops_kit.generate import render as render_module
from gitops_kit.generate.fleet import Fleet, cluster_for
from gitops_kit.generate.gitcommit import CommitError, commit_paths
from gitops_kit.generate.names import GenerateError
from gitops_kit.generate.prefetch import Prefetch
from gitops_kit.generate.render import render_fleet
from gitops_kit.generate.worker import RenderWorker

ADDONS = ["mesh", "storage", "gpu", "runners", "kepler"]


def two_clusters(flavor: str) -> Fleet:
    fleet = Fleet(flavor, "10.96.0.0/12", "fd00:10::/48")
    for name in ("c-001", "c-002"):
        fleet = fleet.with_cluster(cluster_for(fleet, name, ADDONS, gpu_model="A100-40GB"))
    return fleet


def gone(pid: int) -> bool:
    """The child was reaped: no zombie left behind."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.fixture
def identity(monkeypatch):
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "Test")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(name, "test@example.org")


@pytest.mark.parametrize("flavor", ["flux", "argocd"])
def test_the_child_renders_what_render_fleet_renders(flavor, tmp_path):
    fleet = two_clusters(flavor)
    assert RenderWorker(fleet, None).rendered(None) == render_fleet(fleet)

    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    seen_here: list[dict] = []
    seen_there: list[dict] = []
    expected = render_fleet(fleet, into=here, clusters_rendered=seen_here.append)
    worker = RenderWorker(fleet, there)
    assert worker.rendered(seen_there.append) == expected
    assert seen_there == seen_here and len(seen_there) == 1  # the clusters' folders, once, before the rest
    on_disk = {p.relative_to(there).as_posix(): p.read_bytes() for p in there.rglob("*") if p.is_file()}
    assert on_disk == expected
    assert gone(worker.pid)


def test_a_template_error_is_the_message_an_in_process_render_gives(tmp_path, monkeypatch):
    copied = tmp_path / "blueprints"
    shutil.copytree(blueprints_module.blueprints_path(), copied)
    values = copied / "kepler" / "cluster" / "values.yaml"
    values.write_text(values.read_text() + "broken: {{ cookiecutter.cluster.name \n")
    monkeypatch.setattr(blueprints_module, "blueprints_path", lambda *parts: copied.joinpath(*parts))
    blueprints_module.load_blueprints.cache_clear()
    try:
        fleet = two_clusters("flux")
        with pytest.raises(GenerateError) as in_process:
            render_fleet(fleet)
        with pytest.raises(GenerateError) as in_child:
            RenderWorker(fleet, None).rendered(None)
    finally:
        blueprints_module.load_blueprints.cache_clear()
    assert str(in_child.value) == str(in_process.value)
    assert "rendering template" in str(in_child.value) and "\n" not in str(in_child.value)


def test_a_file_system_error_in_the_child_is_the_same_oserror(tmp_path):
    fleet = two_clusters("flux")
    for name in ("here", "there"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "infrastructure").write_text("a file where a folder goes\n")
    with pytest.raises(OSError) as in_process:
        render_fleet(fleet, into=tmp_path / "here")
    with pytest.raises(OSError) as in_child:
        RenderWorker(fleet, tmp_path / "there").rendered(None)
    assert in_child.value.errno == in_process.value.errno
    assert in_child.value.strerror == in_process.value.strerror


def test_a_child_that_dies_is_one_clear_error(monkeypatch):
    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would

    monkeypatch.setattr(render_module, "render_fleet", killed)
    worker = RenderWorker(two_clusters("flux"), None)
    with pytest.raises(GenerateError) as caught:
        worker.rendered(None)
    assert str(caught.value) == "rendering the repository failed: the render process exited with code -9; nothing was written"
    assert gone(worker.pid)


def test_a_bug_in_the_child_is_reported_in_one_line(monkeypatch):
    def buggy(*args, **kwargs):
        raise KeyError("fleet")

    monkeypatch.setattr(render_module, "render_fleet", buggy)
    with pytest.raises(GenerateError) as caught:
        RenderWorker(two_clusters("flux"), None).rendered(None)
    assert "KeyError: 'fleet'" in str(caught.value) and "please report" in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_child_that_hangs_is_stopped_after_the_timeout(monkeypatch):
    monkeypatch.setattr(render_module, "render_fleet", lambda *a, **k: time.sleep(60))
    monkeypatch.setenv("GITOPS_KIT_TOOL_TIMEOUT", "0.5")
    worker = RenderWorker(two_clusters("flux"), None)
    started = time.monotonic()
    with pytest.raises(GenerateError) as caught:
        worker.rendered(None)
    assert "no answer from the render process after 0.5s" in str(caught.value)
    assert time.monotonic() - started < 30 and gone(worker.pid)


def test_close_stops_a_child_mid_render_and_reaps_it(monkeypatch):
    monkeypatch.setattr(render_module, "render_fleet", lambda *a, **k: time.sleep(60))
    worker = RenderWorker(two_clusters("flux"), None)
    assert worker.quiet()
    worker.close()
    worker.close()  # twice is harmless
    assert gone(worker.pid) and not worker.quiet()


def test_nothing_the_child_prints_reaches_the_terminal(monkeypatch, capfd):
    def chatty(*args, **kwargs):
        print("from the child's stdout")
        os.write(2, b"from the child's stderr\n")
        return {}

    monkeypatch.setattr(render_module, "render_fleet", chatty)
    assert RenderWorker(two_clusters("flux"), None).rendered(None) == {}
    out, err = capfd.readouterr()
    assert "from the child" not in out + err


def test_with_other_threads_running_the_render_happens_in_process(tmp_path, monkeypatch):
    """A library caller's threads: forking would copy their locks, so nothing is forked; new cluster still works."""
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        prefetch = Prefetch(worker=True)
        prefetch.start_render(two_clusters("flux"), None)
        assert prefetch.rendered(None) is None  # the caller renders
        assert main(["new", "cluster", "c-001", "--repo", str(tmp_path / "fleet"), "--no-input", "--no-commit"]) == 0
    finally:
        release.set()
        thread.join()
    assert (tmp_path / "fleet" / "infrastructure" / "controllers" / "c-001" / "kustomization.yaml").is_file()


def test_new_cluster_renders_in_the_child(tmp_path, monkeypatch):
    """Without threads, `new cluster` forks: its render is the child's (one fork per run)."""
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    made: list[int] = []
    real_init = RenderWorker.__init__

    def counting(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(self.pid)

    monkeypatch.setattr(RenderWorker, "__init__", counting)
    assert main(["new", "cluster", "c-001", "--repo", str(tmp_path / "fleet"), "--no-input", "--no-commit"]) == 0
    assert len(made) == 1 and gone(made[0])


def test_commit_paths_commits_exactly_the_given_paths(tmp_path, identity):
    (tmp_path / "a.yaml").write_text("a: 1\n")
    (tmp_path / "b.yaml").write_text("b: 1\n")  # not asked for: stays untracked
    sha = commit_paths(tmp_path, ["a.yaml"], "first")
    repo = git.Repo(tmp_path)
    assert repo.head.commit.hexsha == sha and repo.head.commit.message.strip() == "first"
    assert [item.path for item in repo.head.commit.tree.traverse()] == ["a.yaml"]
    assert repo.untracked_files == ["b.yaml"]


def test_a_git_failure_is_a_commit_error_with_gits_own_words(tmp_path, identity):
    git.Repo.init(tmp_path)
    (tmp_path / ".git" / "index.lock").write_bytes(b"")  # another git process holds the index
    (tmp_path / "a.yaml").write_text("a: 1\n")
    with pytest.raises(CommitError) as caught:
        commit_paths(tmp_path, ["a.yaml"], "first")
    assert "remove the file manually" in caught.value.detail and "Traceback" not in str(caught.value)
