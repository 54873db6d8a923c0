"""`validate --format` defaults to `github` inside GitHub Actions (GITHUB_ACTIONS=true), else `text`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, copy_tree


def _validate(cwd: Path, github_actions: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    if github_actions is not None:
        env["GITHUB_ACTIONS"] = github_actions
    return subprocess.run([sys.executable, "-m", "gitops_kit", "validate", *args, "."], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_format_follows_github_actions_unless_given(tmp_path):
    work = copy_tree(FIXTURES / "rules/secret-not-encrypted/fail/plaintext.yaml", tmp_path / "repo")
    in_actions = _validate(work, "true")
    assert in_actions.stdout.startswith("::error file=plaintext.yaml,line=9"), in_actions.stdout
    assert _validate(work, None).stdout.startswith("plaintext.yaml:9:3: error [secret-not-encrypted]")
    assert _validate(work, "false").stdout.startswith("plaintext.yaml:9:3: error")
    explicit = _validate(work, "true", "--format", "text")
    assert explicit.stdout.startswith("plaintext.yaml:9:3: error")
