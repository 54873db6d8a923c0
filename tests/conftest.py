"""Shared test helpers. The network is blocked for every test: gitops-kit must work offline."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"
#: A plaintext secret value used across the suite; it must never appear in any output or file.
CANARY = "canary-Pl41nT3xt-7f3a9c"


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    """Render caches go to a per-test directory, never to the user's ~/.cache."""
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open a non-local connection fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
            raise OSError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def copy_tree(source: Path, target: Path) -> Path:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / source.name)
    return target


def commit_all(repo_dir: Path, message: str = "base") -> "git.Repo":
    """`git init` (unless it is a repository already) with a test identity, then commit every file."""
    import git

    repo = git.Repo.init(repo_dir) if not (repo_dir / ".git").exists() else git.Repo(repo_dir)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "test")
        cfg.set_value("user", "email", "test@example.org")
    repo.git.add("-A")
    repo.index.commit(message)
    return repo


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None):
    """Run the real CLI in a subprocess (`python -m gitops_kit`)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "gitops_kit", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input,
        timeout=300,
    )


@pytest.fixture
def cli():
    return run_cli
