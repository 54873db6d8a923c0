"""Interactive prompts, driven for real: the CLI runs in a subprocess on a pseudo-terminal and we answer it."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def run_on_pty(args: list[str], answers: list[tuple[str, str]], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run `python -m gitops_kit ARGS` with a pty as its terminal; answer each prompt when it appears."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is stdin/stdout/stderr
        os.execve(sys.executable, [sys.executable, "-m", "gitops_kit", *args], env)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if pending and pending[0][0].encode() in output.rsplit(b"\n", 1)[-1]:
                os.write(fd, pending.pop(0)[1].encode() + b"\r")
        else:
            os.kill(pid, 9)
            raise AssertionError(f"timed out; output so far:\n{output.decode(errors='replace')}")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert not pending, f"prompts never shown: {pending}\n{output.decode(errors='replace')}"
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "GITOPS_KIT_KEY_DIR": str(tmp_path / "keys"),
        "TERM": "dumb",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }


def test_prompts_choose_flavour_addons_and_gpu_model(tmp_path, env):
    repo = tmp_path / "fleet"
    code, out = run_on_pty(
        ["new", "cluster", "c-001", "--repo", str(repo), "--no-commit"],
        [
            ("GitOps flavour (flux|argocd) [flux]:", "argocd"),
            ("Git URL Argo CD reads this repository from [", "https://git.example.org/infra/fleet.git"),
            ("Add-ons [", "storage,gpu"),
            ("GPU model [A100-40GB]:", "H100-80GB"),
        ],
        env,
    )
    assert code == 0, out
    cluster = YAML(typ="safe").load((repo / ".gitops-kit.yaml").read_text())["fleet"]["clusters"][0]
    assert (cluster["addons"], cluster["gpu-model"]) == (["storage", "gpu"], "H100-80GB")
    assert (repo / "clusters/c-001/values/gpu-operator.yaml").is_file()  # the Argo CD layout
    assert "https://git.example.org/infra/fleet.git" in (repo / "clusters/c-001/bootstrap/root.yaml").read_text()
    assert "all-1g.10gb" in (repo / "clusters/c-001/addons/gpu/mig-config.yaml").read_text()


def test_empty_answers_take_the_defaults_and_bad_answers_are_one_error(tmp_path, env):
    repo = tmp_path / "fleet"
    code, out = run_on_pty(
        ["new", "cluster", "c-001", "--repo", str(repo), "--no-commit", "--addons", "storage"],
        [("GitOps flavour (flux|argocd) [flux]:", "")],
        env,
    )
    assert code == 0, out
    assert YAML(typ="safe").load((repo / ".gitops-kit.yaml").read_text())["fleet"]["flavor"] == "flux"
    code, out = run_on_pty(
        ["new", "cluster", "c-002", "--repo", str(tmp_path / "other"), "--no-commit", "--flavor", "flux"],
        [("Add-ons [", "storage,nope")],
        env,
    )
    assert code == 2 and "unknown add-on 'nope'" in out and "Traceback" not in out
    assert not (tmp_path / "other").exists()


def test_no_input_never_prompts_even_on_a_terminal(tmp_path, env):
    code, out = run_on_pty(["new", "cluster", "c-001", "--repo", str(tmp_path / "fleet"), "--no-commit", "--addons", "storage", "--no-input"], [], env)
    assert code == 0 and "[flux]" not in out, out
