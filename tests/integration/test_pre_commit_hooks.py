"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit from a fresh cache in a temporary repository.

pre-commit clones the hook repository and pip-installs it into its own virtualenv, so this needs pip's
package index (or its cache) for gitops-kit's dependencies; the install takes a few seconds with a warm pip cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from tests.conftest import CANARY, FIXTURES, ROOT

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
CLEAN_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          resources:
            limits: {memory: 128Mi}
"""


def _actor(repo: git.Repo) -> None:
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "test")
        cfg.set_value("user", "email", "test@example.org")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """A git repository holding this project's current tree (committed and uncommitted), as pre-commit needs."""
    target = tmp_path_factory.mktemp("hook-repo")
    tracked = git.Repo(ROOT).git.ls_files("-z").split("\0")
    for name in filter(None, tracked + [".pre-commit-hooks.yaml"]):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    repo = git.Repo.init(target)
    _actor(repo)
    repo.git.add("-A")
    repo.index.commit("gitops-kit under test")
    return target, repo.head.commit.hexsha


@pytest.fixture
def fleet_repo(tmp_path, hook_repo) -> Path:
    path, rev = hook_repo
    work = tmp_path / "fleet"
    (work / "apps").mkdir(parents=True)
    repo = git.Repo.init(work)
    _actor(repo)
    config = {"repos": [{"repo": str(path), "rev": rev, "hooks": [
        {"id": "gitops-kit-lint"}, {"id": "gitops-kit-secrets"}, {"id": "gitops-kit-validate"}]}]}
    (work / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    repo.git.add(".pre-commit-config.yaml")
    repo.index.commit("pre-commit config")
    return work


def _pre_commit(work: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([str(PRE_COMMIT), *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)


def test_hooks_block_a_plaintext_secret_and_pass_a_clean_commit(fleet_repo, tmp_path):
    home = tmp_path / "pre-commit-home"
    assert _pre_commit(fleet_repo, home, "install").returncode == 0
    repo = git.Repo(fleet_repo)

    secret = (FIXTURES / "rules/secret-not-encrypted/fail/plaintext.yaml").read_text().replace("hunter2", CANARY)
    (fleet_repo / "apps/secret.yaml").write_text(secret)
    repo.git.add("apps/secret.yaml")
    with pytest.raises(git.GitCommandError) as blocked:
        repo.git.commit("-m", "add a plaintext secret")
    output = blocked.value.stdout + blocked.value.stderr
    assert "gitops-kit secrets (SOPS)" in output and "Failed" in output
    assert "apps/secret.yaml:9:3: error [secret-not-encrypted]" in output
    assert CANARY not in output
    assert len(list(repo.iter_commits())) == 1, "the commit must not have been made"

    repo.git.rm("--cached", "apps/secret.yaml")
    (fleet_repo / "apps/secret.yaml").unlink()
    (fleet_repo / "apps/deploy.yaml").write_text(CLEAN_DEPLOYMENT)
    repo.git.add("apps/deploy.yaml")
    repo.git.commit("-m", "add a clean deployment")
    assert repo.head.commit.message.strip() == "add a clean deployment"


def test_lint_hook_checks_only_the_staged_files(fleet_repo, tmp_path):
    home = tmp_path / "pre-commit-home"
    # A broken file that is not staged must not block the hook; the staged duplicate key must.
    (fleet_repo / "apps/untracked.yaml").write_text("a: [\n")
    (fleet_repo / "apps/dup.yaml").write_text(CLEAN_DEPLOYMENT.replace("  name: web\n", "  name: web\n  name: web2\n", 1))
    git.Repo(fleet_repo).git.add("apps/dup.yaml")
    result = _pre_commit(fleet_repo, home, "run", "gitops-kit-lint")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "apps/dup.yaml:5:3: error [duplicate-key]" in result.stdout
    assert "untracked.yaml" not in result.stdout
