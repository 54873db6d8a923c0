"""The forked child that renders the fleet for `new cluster` (real fork, real cookiecutter, real git)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

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


@pytest.mark.parametrize("existing", [False, True])
def test_new_cluster_renders_in_the_child_before_sops_starts(tmp_path, monkeypatch, existing):
    """Without threads, `new cluster` forks once, before the first sops encryption, and the render is the
    child's: this process's own `render_fleet` is never called (it fails here)."""
    from gitops_kit import tools
    from gitops_kit.generate import generator

    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "fleet"
    if existing:
        assert main(["new", "cluster", "c-001", "--repo", str(repo), "--no-input"]) == 0
    events: list[str] = []
    made: list[RenderWorker] = []
    real_init, real_start = RenderWorker.__init__, tools.start

    def forking(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        events.append("fork")
        made.append(self)

    def start(args, **kwargs):
        if "encrypt" in args:
            events.append("sops")
        return real_start(args, **kwargs)

    def not_here(*args, **kwargs):
        raise AssertionError("rendered in the parent")

    monkeypatch.setattr(RenderWorker, "__init__", forking)
    monkeypatch.setattr(tools, "start", start)
    monkeypatch.setattr(generator, "render_fleet", not_here)
    assert main(["new", "cluster", "c-002", "--repo", str(repo), "--no-input"]) == 0
    assert events[0] == "fork" and events.count("fork") == 1 and "sops" in events
    assert gone(made[0].pid) and not Path(made[0]._work.path).exists()
    assert git.Repo(repo).head.commit.message.strip() == "gitops-kit: new cluster c-002"


def test_a_failing_callback_stops_the_child_and_removes_its_work_folder(tmp_path):
    """The parent fails while handling the clusters' files (a disk error writing a Secret, say): the child,
    still rendering the rest into the folder, is stopped and its own work folder goes too."""
    worker = RenderWorker(two_clusters("flux"), tmp_path)

    def fails(partial):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        worker.rendered(fails)
    assert gone(worker.pid) and not Path(worker._work.path).exists()


def test_a_file_system_error_without_an_errno_keeps_its_message(monkeypatch):
    """shutil.copytree's error (a list of failed copies) has no errno: its text is what the user sees."""

    def copy_failed(*args, **kwargs):
        raise shutil.Error([("blueprints/mesh/a.yaml", "out/a.yaml", "[Errno 28] No space left on device")])

    monkeypatch.setattr(render_module, "render_fleet", copy_failed)
    with pytest.raises(OSError) as caught:
        RenderWorker(two_clusters("flux"), None).rendered(None)
    assert "No space left on device" in str(caught.value) and "None" not in str(caught.value)


def test_a_failed_fork_leaks_no_descriptor_and_no_folder(tmp_path, monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(OSError):
            RenderWorker(two_clusters("flux"), None)
    assert len(os.listdir("/proc/self/fd")) == before and list(tmp_path.iterdir()) == []


def test_a_thread_that_threading_does_not_know_also_prevents_the_fork():
    import _thread

    release = _thread.allocate_lock()
    release.acquire()
    _thread.start_new_thread(release.acquire, ())
    try:
        with pytest.raises(RuntimeError, match="threads"):
            RenderWorker(two_clusters("flux"), None)
    finally:
        release.release()


def test_a_git_error_that_is_not_a_git_command_is_one_line_and_undoes_the_writes(tmp_path, monkeypatch, capsys):
    """`.git` is an empty folder (not a repository): GitPython raises its own error, not git's."""
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "fleet"
    assert main(["new", "cluster", "c-001", "--repo", str(repo), "--no-input"]) == 0
    shutil.rmtree(repo / ".git")
    (repo / ".git").mkdir()
    capsys.readouterr()
    assert main(["new", "cluster", "c-002", "--repo", str(repo), "--no-input"]) == 2
    err = capsys.readouterr().err
    assert "InvalidGitRepositoryError" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (repo / "infrastructure" / "controllers" / "c-002").exists()  # taken back out


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


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if text.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_at_any_moment_leaves_nothing_behind(tmp_path, signum):
    """Ctrl-C (SIGINT to the whole process group, the child included) or SIGTERM at moments spread over a
    run: no temporary folder, no half-built repository beside --repo, no process left running."""
    import subprocess
    import sys

    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "GITOPS_KIT_KEY_DIR": str(tmp_path / "keys")}
    for index, delay in enumerate((0.05, 0.12, 0.2, 0.28, 0.36, 0.45)):
        repo = tmp_path / f"fleet-{signum}-{index}"
        process = subprocess.Popen(
            [sys.executable, "-m", "gitops_kit", "new", "cluster", "c-001", "--repo", str(repo), "--no-input"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        time.sleep(delay)
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass  # finished first
        _, err = process.communicate(timeout=120)
        assert b"Traceback" not in err, err.decode()
        assert list(temp.iterdir()) == [], f"left in TMPDIR after {delay}s: {[p.name for p in temp.iterdir()]}"
        assert not list(tmp_path.glob(f".{repo.name}.gitops-kit-*")), f"half-built repository left after {delay}s"
        deadline = time.monotonic() + 5
        while _processes_mentioning(str(repo)) and time.monotonic() < deadline:
            time.sleep(0.05)  # a killed child is reaped by then, or it was left running
        assert _processes_mentioning(str(repo)) == []
        if process.returncode == 0 or repo.exists():  # it got that far: all of it, committed
            assert git.Repo(repo).head.commit.message.strip() == "gitops-kit: new cluster c-001"
            assert not git.Repo(repo).is_dirty(untracked_files=True)


def test_a_user_error_after_the_fork_leaves_no_folder(tmp_path):
    """A bad --age-recipient is found while the child renders: one line, exit 2, nothing left anywhere."""
    import subprocess
    import sys

    temp = tmp_path / "tmp"
    temp.mkdir()
    for repo in (tmp_path / "new", tmp_path / "existing"):
        env = {**os.environ, "TMPDIR": str(temp), "GITOPS_KIT_KEY_DIR": str(tmp_path / "keys")}
        if repo.name == "existing":
            assert subprocess.run([sys.executable, "-m", "gitops_kit", "new", "cluster", "c-001", "--repo", str(repo), "--no-input"],
                                  env=env, capture_output=True).returncode == 0
        result = subprocess.run(
            [sys.executable, "-m", "gitops_kit", "new", "cluster", "c-002", "--repo", str(repo), "--no-input", "--age-recipient", "age1bogus"],
            env=env, capture_output=True, text=True,
        )
        assert result.returncode == 2 and "not an age X25519 recipient" in result.stderr
        assert list(temp.iterdir()) == [] and not list(tmp_path.glob(".new.gitops-kit-*"))


def test_the_timeout_is_for_the_whole_render_not_each_answer(monkeypatch):
    """Each answer comes within the limit, the render as a whole does not: stopped."""

    def slow(fleet, into=None, clusters_rendered=None, work=None):
        time.sleep(0.7)
        if clusters_rendered is not None:
            clusters_rendered({})
        time.sleep(0.7)
        return {}

    monkeypatch.setattr(render_module, "render_fleet", slow)
    monkeypatch.setenv("GITOPS_KIT_TOOL_TIMEOUT", "1")
    worker = RenderWorker(two_clusters("flux"), Path("/nonexistent-never-written"))
    with pytest.raises(GenerateError, match="no answer from the render process after 1s"):
        worker.rendered(lambda partial: None)
    assert gone(worker.pid)


def test_an_invalid_timeout_setting_still_stops_the_child(tmp_path, monkeypatch):
    monkeypatch.setattr(render_module, "render_fleet", lambda *a, **k: time.sleep(60))
    monkeypatch.setenv("GITOPS_KIT_TOOL_TIMEOUT", "abc")
    prefetch = Prefetch(worker=True)
    prefetch.start_render(two_clusters("flux"), None)
    worker = prefetch._worker
    with pytest.raises(Exception, match="GITOPS_KIT_TOOL_TIMEOUT"):
        prefetch.rendered(None)
    assert gone(worker.pid) and not Path(worker._work.path).exists()


def test_a_sigterm_ends_the_child_even_where_the_parent_raises_on_it(monkeypatch):
    """The CLI's SIGTERM handler raises (to unwind the parent); the child must simply end instead."""

    class Unwind(BaseException):
        pass

    def raising(signum, frame):
        raise Unwind

    monkeypatch.setattr(render_module, "render_fleet", lambda *a, **k: time.sleep(60))
    previous = signal.signal(signal.SIGTERM, raising)
    try:
        worker = RenderWorker(two_clusters("flux"), None)
        time.sleep(0.2)
        os.kill(worker.pid, signal.SIGTERM)
        with pytest.raises(GenerateError, match="exited with code -15"):
            worker.rendered(None)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_signal_right_after_the_fork_still_leaves_a_child_to_stop(monkeypatch):
    """SIGTERM lands in the parent the moment fork() returns: it is held until the child is stored, so
    the unwinding stops it (without the hold, the child would render on, unknown to anyone)."""

    class Unwind(BaseException):
        pass

    def raising(signum, frame):
        raise Unwind

    real_fork = os.fork
    children: list[int] = []

    def fork_then_signal():
        pid = real_fork()
        if pid:
            children.append(pid)
            signal.raise_signal(signal.SIGTERM)
        return pid

    monkeypatch.setattr(render_module, "render_fleet", lambda *a, **k: time.sleep(60))
    monkeypatch.setattr(os, "fork", fork_then_signal)
    previous = signal.signal(signal.SIGTERM, raising)
    prefetch = Prefetch(worker=True)
    try:
        with pytest.raises(Unwind):
            prefetch.start_render(two_clusters("flux"), None)
        prefetch.wait()  # what the unwinding runs
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert len(children) == 1 and gone(children[0])


def test_an_interrupt_during_the_commit_into_an_existing_repository(tmp_path):
    """Ctrl-C while git commits the second cluster: the run ends at once (not after GitPython's 60 s
    watchdog) and the repository is either as it was or fully committed, never half."""
    import subprocess
    import sys

    real_git = shutil.which("git")
    slow_git = tmp_path / "bin" / "git"
    slow_git.parent.mkdir()
    slow_git.write_text(f'#!/bin/sh\nfor a in "$@"; do [ "$a" = commit ] && sleep 1.5; done\nexec {real_git} "$@"\n')
    slow_git.chmod(0o755)
    env = {**os.environ, "GITOPS_KIT_KEY_DIR": str(tmp_path / "keys"), "TMPDIR": str(tmp_path)}
    repo = tmp_path / "fleet"
    assert subprocess.run([sys.executable, "-m", "gitops_kit", "new", "cluster", "c-001", "--repo", str(repo), "--no-input"],
                          env=env, capture_output=True).returncode == 0
    before = git.Repo(repo).head.commit.hexsha
    for signum in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen(
            [sys.executable, "-m", "gitops_kit", "new", "cluster", f"c-{signum:03d}", "--repo", str(repo), "--no-input"],
            env={**env, "GIT_PYTHON_GIT_EXECUTABLE": str(slow_git)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not _processes_mentioning("sleep 1.5") and not any(  # git commit is sleeping
            "commit" in open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace") for pid in _processes_mentioning(str(slow_git))
        ) and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        os.killpg(process.pid, signum)
        _, err = process.communicate(timeout=120)
        assert time.monotonic() - started < 10, "held up after the interrupt"
        assert b"Traceback" not in err and process.returncode in (130, 143), err.decode()
        head = git.Repo(repo).head.commit
        assert head.hexsha == before or head.message.strip() == f"gitops-kit: new cluster c-{signum:03d}"
        assert not git.Repo(repo).is_dirty(untracked_files=True)  # nothing written and left uncommitted
        before = head.hexsha


def test_an_interrupt_swallowed_by_a_library_still_sets_the_exit_code(monkeypatch, capsys):
    """A finaliser (GitPython's `__del__`, say) can swallow the exception a signal raises: the run then
    goes on to the end, but its exit code still says it was terminated."""
    from gitops_kit.cli import version

    real = version.run

    def swallowing(args):
        try:
            signal.raise_signal(signal.SIGTERM)
        except BaseException:  # noqa: BLE001 - what `Exception ignored in __del__` amounts to
            pass
        return real(args)

    monkeypatch.setattr(version, "run", swallowing)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert main(["version"]) == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "terminated" in capsys.readouterr().err


def test_a_commit_failing_after_git_add_leaves_nothing_staged(tmp_path):
    """git refuses the commit itself (a hook of the user's wrapper, a full disk): the files go back and
    so do their index entries; `git status` is what it was."""
    import subprocess
    import sys

    real_git = shutil.which("git")
    failing_git = tmp_path / "bin" / "git"
    failing_git.parent.mkdir()
    failing_git.write_text(f'#!/bin/sh\nfor a in "$@"; do [ "$a" = commit ] && {{ echo "fatal: refused by test" >&2; exit 128; }}; done\nexec {real_git} "$@"\n')
    failing_git.chmod(0o755)
    env = {**os.environ, "GITOPS_KIT_KEY_DIR": str(tmp_path / "keys")}
    repo = tmp_path / "fleet"
    assert subprocess.run([sys.executable, "-m", "gitops_kit", "new", "cluster", "c-001", "--repo", str(repo), "--no-input"],
                          env=env, capture_output=True).returncode == 0
    result = subprocess.run([sys.executable, "-m", "gitops_kit", "new", "cluster", "c-002", "--repo", str(repo), "--no-input"],
                            env={**env, "GIT_PYTHON_GIT_EXECUTABLE": str(failing_git)}, capture_output=True, text=True)
    assert result.returncode == 2 and "refused by test" in result.stderr and "as it was" in result.stderr
    assert not git.Repo(repo).is_dirty(untracked_files=True)


def test_failed_runs_in_process_leak_no_descriptor(tmp_path, monkeypatch):
    """A library caller's `generate()` that fails once sops has started (here: the render times out)
    closes every pipe: of the child, and of sops processes that finished but were never collected."""
    from gitops_kit.generate.generator import Answers, generate

    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("GITOPS_KIT_TOOL_TIMEOUT", "0.0001")
    before = len(os.listdir("/proc/self/fd"))
    for index in range(3):
        with pytest.raises(GenerateError, match="no answer from the render process"):
            generate(Answers(name="c-001", repo=tmp_path / f"fleet-{index}"))
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_commit_that_landed_before_git_failed_is_kept(tmp_path):
    """git made the commit, then failed afterwards (a post-commit hook that hangs until the timeout kills
    it): the commit stands and the files stay; taking them back would leave HEAD and the work tree apart."""
    import subprocess
    import sys

    env = {**os.environ, "GITOPS_KIT_KEY_DIR": str(tmp_path / "keys")}
    repo = tmp_path / "fleet"
    assert subprocess.run([sys.executable, "-m", "gitops_kit", "new", "cluster", "c-001", "--repo", str(repo), "--no-input"],
                          env=env, capture_output=True).returncode == 0
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\nsleep 30\n")
    hook.chmod(0o755)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "gitops_kit", "new", "cluster", "c-002", "--repo", str(repo), "--no-input"],
                            env={**env, "GITOPS_KIT_TOOL_TIMEOUT": "2"}, capture_output=True, text=True)
    assert time.monotonic() - started < 25
    assert result.returncode == 0, result.stderr
    assert git.Repo(repo).head.commit.message.strip() == "gitops-kit: new cluster c-002"
    assert not git.Repo(repo).is_dirty(untracked_files=True)
