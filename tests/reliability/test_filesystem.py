"""Filesystem guarantees: no symlink escapes, atomic writes only where asked, private keys and cache,
and interrupted runs that leave no temp files behind."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitops_kit import fileio
from gitops_kit.engine import validate
from gitops_kit.render import cache
from tests.conftest import CANARY, ROOT, copy_tree

sys.path.insert(0, str(ROOT / "bench"))
import corpus  # noqa: E402

SECRET = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: n}}\nstringData: {{password: {CANARY}}}\n"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _leftovers(*directories: Path) -> list[Path]:
    return [p for d in directories if d.exists() for p in d.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.name]


# -- symlinks ------------------------------------------------------------------------------------
def test_validate_never_follows_symlinks_out_of_the_repository(tmp_path, cli):
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.yaml").write_text(SECRET, encoding="utf-8")
    (outside / "dir" / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n", encoding="utf-8")
    (repo / "linked.yaml").symlink_to(outside / "secret.yaml")
    (repo / "linked-dir").symlink_to(outside / "dir", target_is_directory=True)
    result = cli("validate", str(repo), "--format", "json")
    payload = json.loads(result.stdout)
    assert result.returncode == 0 and payload["findings"] == [] and payload["summary"]["files"] == 1
    notes = "\n".join(payload["notifications"])
    assert "linked.yaml: symlink to outside the repository, not followed" in notes and "linked-dir" in notes
    assert CANARY not in result.stdout + result.stderr


def test_atomic_write_inside_refuses_a_symlinked_directory_before_creating_anything(tmp_path):
    outside, repo = tmp_path / "outside", tmp_path / "repo"
    outside.mkdir()
    repo.mkdir()
    (repo / "apps").symlink_to(outside, target_is_directory=True)
    with pytest.raises(fileio.WriteError, match="outside"):
        fileio.atomic_write_bytes(repo / "apps" / "new" / "kustomization.yaml", b"x", inside=repo)
    assert list(outside.iterdir()) == []
    fileio.atomic_write_bytes(repo / "clusters" / "a.yaml", b"ok", inside=repo)  # ordinary paths still work
    assert (repo / "clusters" / "a.yaml").read_bytes() == b"ok"


def test_new_cluster_does_not_write_through_a_symlink_out_of_the_repository(tmp_path, cli):
    repo, outside = tmp_path / "fleet", tmp_path / "outside"
    outside.mkdir()
    repo.mkdir()
    (repo / "apps").symlink_to(outside, target_is_directory=True)
    result = cli("new", "cluster", "c1", "--repo", str(repo), "--no-commit", "--no-input", env={"HOME": str(tmp_path / "home")})
    assert list(outside.iterdir()) == []
    assert result.returncode == 2 and "outside" in result.stderr


# -- atomic output -------------------------------------------------------------------------------
def _tree(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nmetadata: {name: b}\n", encoding="utf-8")
    return repo


def test_output_replaces_the_file_atomically_and_never_writes_through_a_link(tmp_path, cli):
    repo = _tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    report = out / "report.json"
    report.write_text("old report\n", encoding="utf-8")
    os.link(report, out / "old-inode")  # a rename leaves the old inode untouched; an in-place write would not
    outside = tmp_path / "elsewhere.json"
    outside.write_text("keep me\n", encoding="utf-8")
    (out / "linked.json").symlink_to(outside)
    for target in (report, out / "linked.json"):
        assert cli("validate", str(repo), "--format", "json", "-o", str(target)).returncode == 1
        assert json.loads(target.read_text(encoding="utf-8"))["summary"]["findings"] >= 1
    assert (out / "old-inode").read_text(encoding="utf-8") == "old report\n"
    assert outside.read_text(encoding="utf-8") == "keep me\n" and not (out / "linked.json").is_symlink()
    assert _leftovers(out) == []
    assert _mode(out / "linked.json") == 0o666 & ~fileio._umask()  # a new report is readable like any file


def test_output_to_a_directory_is_one_line_exit_2(tmp_path, cli):
    result = cli("validate", str(_tree(tmp_path)), "-o", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"gitops-kit: error: {tmp_path}: cannot write (it is a directory); give a writable file path"


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "baseline.json"
    target.write_text("previous\n", encoding="utf-8")
    os.chmod(target, 0o640)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", disk_full)
    with pytest.raises(fileio.WriteError, match="No space left"):
        fileio.atomic_write_text(target, "new\n")
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "previous\n" and _leftovers(tmp_path) == []
    fileio.atomic_write_text(target, "new\n")
    assert _mode(target) == 0o640  # an existing file keeps its permissions


# -- keys and cache ------------------------------------------------------------------------------
def test_key_files_are_0600(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("GITOPS_KIT_KEY_DIR", raising=False)  # the new cluster's key goes under HOME
    key = tmp_path / "keys" / "c1.agekey"
    result = cli("secrets", "keygen", "--cluster", "c1", "--output", str(key), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _mode(key) == 0o600 and "AGE-SECRET-KEY-" not in result.stdout + result.stderr
    home = tmp_path / "home"
    generated = cli("new", "cluster", "c1", "--repo", str(tmp_path / "fleet"), "--no-commit", "--no-input", env={"HOME": str(home)})
    assert generated.returncode == 0, generated.stderr
    (agekey,) = home.rglob("*.agekey")
    assert _mode(agekey) == 0o600
    assert not list((tmp_path / "fleet").rglob("*.agekey"))


def test_render_cache_is_private_checksummed_and_heals(tmp_path):
    repo = tmp_path / "fleet"
    corpus.write_fleet(repo, 2, seed=1)
    first = validate([repo])
    entries = [p for p in cache.cache_dir().rglob("*") if p.is_file() and p.parent.name != "versions"]
    assert entries and all(_mode(p) == 0o600 for p in entries) and _mode(cache.cache_dir()) == 0o700
    entries[0].write_bytes(entries[0].read_bytes()[:-40])  # a torn entry
    second = validate([repo])
    assert second.findings == first.findings and second.overlays == first.overlays
    assert cache.load(entries[0].name) is not None  # re-rendered and stored again, whole


# -- interrupted runs ----------------------------------------------------------------------------
def _children(pid: int) -> list[str]:
    """Processes started by any thread of `pid` (renders start from worker threads)."""
    found: list[str] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += (task / "children").read_text().split()
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to see the render subprocesses")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_rendering_a_fleet_leaves_no_temp_files(tmp_path, signum):
    fleet = tmp_path / "fleet"
    corpus.write_fleet(fleet, 30, seed=2)
    cache_dir, temp_dir, out = tmp_path / "cache", tmp_path / "tmp", tmp_path / "out"
    temp_dir.mkdir()
    out.mkdir()
    env = {**os.environ, "GITOPS_KIT_CACHE_DIR": str(cache_dir), "TMPDIR": str(temp_dir), "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gitops_kit", "validate", str(fleet), "--format", "sarif", "-o", str(out / "r.sarif")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not _children(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before rendering started; make the fleet bigger"
    time.sleep(0.2)  # some overlays rendered and cached, others in flight
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    if signum == signal.SIGINT:
        assert process.returncode == 130 and stderr.strip().endswith("gitops-kit: interrupted")
        assert "Traceback" not in stderr
    else:  # SIGTERM unwinds like Ctrl-C (cleanup runs) and exits 128 + 15
        assert process.returncode == 143 and stderr.strip().endswith("gitops-kit: terminated")
        assert "Traceback" not in stderr
    assert _leftovers(cache_dir, out) == [] and list(temp_dir.iterdir()) == []
    assert not (out / "r.sarif").exists()  # no report rather than half a report


def test_a_fifo_among_the_manifests_is_skipped_not_read(tmp_path, cli):
    """Reading a FIFO waits for a writer that may never come: discovery leaves it out and says so."""
    import os

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n")
    os.mkfifo(repo / "pipe.yaml")
    result = cli("validate", str(repo))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pipe.yaml: not a regular file (a FIFO, socket or device), not read" in result.stdout + result.stderr


def test_a_resource_name_too_long_for_the_file_system_is_a_build_finding(tmp_path, cli):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "o").mkdir()
    (repo / "o" / "kustomization.yaml").write_text(f"resources:\n  - {'x' * 300}.yaml\n")
    result = cli("validate", str(repo))
    assert "Traceback" not in result.stderr and result.returncode in (1, 2), result.stderr
    assert "kustomize-build" in result.stdout or "kustomize" in result.stderr


def test_the_render_cache_key_never_reads_a_fifo(tmp_path):
    """A FIFO in an overlay's folder is hashed as what it is, not read (reading waits for a writer)."""
    import os
    import threading

    from gitops_kit.render import cache

    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "kustomization.yaml").write_text("resources:\n  - pipe.yaml\n")
    os.mkfifo(tmp_path / "o" / "pipe.yaml")
    keys: list[str] = []
    worker = threading.Thread(target=lambda: keys.append(cache.input_key(tmp_path, ["o"], ["o/pipe.yaml"], "kubectl", ())), daemon=True)
    worker.start()
    worker.join(30)  # a liveness bound: a read of the FIFO would never return
    assert len(keys) == 1 and len(keys[0]) == 64
    (tmp_path / "o" / "pipe.yaml").unlink()
    (tmp_path / "o" / "pipe.yaml").write_text("")
    assert cache.input_key(tmp_path, ["o"], ["o/pipe.yaml"], "kubectl", ()) != keys[0]  # an empty file is not a FIFO
