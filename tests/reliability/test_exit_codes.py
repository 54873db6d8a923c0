"""The exit-code contract of every command (docs/exit-codes.md), run through the real CLI."""

from __future__ import annotations

import re
import subprocess

import pytest

from gitops_kit.cli import build_parser
from tests.conftest import FIXTURES, ROOT

DOC = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
CLEAN = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n"
WARNING_ONLY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: n}\nspec:\n  selector: {matchLabels: {a: b}}\n"
    "  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n      - {name: a, image: 'nginx:1.27'}\n"
)


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_every_command_is_documented():
    for command in _commands():
        assert re.search(rf"`{command}\b", DOC), f"docs/exit-codes.md does not list `{command}`"


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


def _cases(repo):
    clean = repo / "clean"
    clean.mkdir()
    (clean / "a.yaml").write_text(CLEAN, encoding="utf-8")
    warn = repo / "warn"
    warn.mkdir()
    (warn / "d.yaml").write_text(WARNING_ONLY, encoding="utf-8")
    error = repo / "error"
    error.mkdir()
    (error / "e.yaml").write_text("a: [\n", encoding="utf-8")
    return clean, warn, error


def test_validate(repo, cli):
    clean, warn, error = _cases(repo)
    assert cli("validate", str(clean)).returncode == 0
    assert cli("validate", str(warn)).returncode == 0  # warnings do not fail by default
    assert cli("validate", str(warn), "--fail-on", "warning").returncode == 1
    assert cli("validate", str(error)).returncode == 1
    assert cli("validate", str(error), "--write-baseline", str(repo / "b.json")).returncode == 0
    assert cli("validate", str(error), "--baseline", str(repo / "b.json")).returncode == 0
    for args, message in (
        ((str(repo / "missing"),), "no such file or directory"),
        ((str(clean), "--rule", "no-such-rule"), "unknown rule"),
        ((str(clean), "--format", "yaml"), "invalid choice"),
        ((str(clean), "--baseline", str(repo / "none.json")), "baseline file not found"),
        ((str(clean), "-o", str(repo)), "cannot write"),
    ):
        result = cli("validate", *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    (repo / ".gitops-kit.yaml").write_text("fail-on: sometimes\n", encoding="utf-8")
    bad_config = cli("validate", str(clean))
    assert bad_config.returncode == 2 and ".gitops-kit.yaml" in bad_config.stderr


def test_rules_version_and_usage(cli):
    assert cli("rules").returncode == 0
    assert cli("rules", "--format", "markdown").returncode == 0
    assert cli("version").returncode == 0 and cli("--version").returncode == 0
    assert cli().returncode == 2  # no command: help on stderr
    assert cli("no-such-command").returncode == 2
    assert cli("rules", "--format", "pdf").returncode == 2


def test_secrets(tmp_path, cli):
    vectors = FIXTURES / "sops" / "carlpett" / "terraform-provider-sops"
    assert cli("secrets").returncode == 2
    assert cli("secrets", "decrypt", str(tmp_path / "missing.yaml")).returncode == 2
    assert cli("secrets", "decrypt", str(vectors / "basic.age0.yaml"), "--age-key-file", str(vectors / "age0.key")).returncode == 0
    good = tmp_path / "good"
    good.mkdir()
    (good / "s.yaml").write_bytes((vectors / "basic.age0.yaml").read_bytes())
    assert cli("secrets", "verify", str(good), "--age-key-file", str(vectors / "age0.key")).returncode == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "s.yaml").write_text((vectors / "basic.age0.yaml").read_text(encoding="utf-8").replace("hello:", "hullo:"), encoding="utf-8")
    assert cli("secrets", "verify", str(bad), "--age-key-file", str(vectors / "age0.key")).returncode == 1
    assert cli("secrets", "verify", str(good), "--age-key-file", str(tmp_path / "no-key")).returncode == 2
    assert cli("secrets", "keygen", "--cluster", "Bad_Name", "--output", str(tmp_path / "k")).returncode == 2


def test_new_cluster(tmp_path, cli):
    env = {"HOME": str(tmp_path / "home")}
    assert cli("new").returncode == 2
    for name in ("../evil", "$(id)"):  # every kind of bad name: tests/generate/test_generator_failures.py
        result = cli("new", "cluster", name, "--repo", str(tmp_path / "fleet"), "--no-input", env=env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, name
    assert not (tmp_path / "fleet").exists()
    ok = cli("new", "cluster", "c1", "--repo", str(tmp_path / "fleet"), "--no-input", "--no-commit", env=env)
    assert ok.returncode == 0, ok.stderr


@pytest.mark.skipif("diff" not in _commands(), reason="no diff command")
def test_diff(tmp_path, cli):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert cli("diff", "--base", "HEAD", str(plain), cwd=plain).returncode == 2  # not a git repository
    assert cli("diff").returncode == 2  # --base is required
    git = tmp_path / "git"
    git.mkdir()
    (git / "a.yaml").write_text(CLEAN, encoding="utf-8")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=git, check=True, capture_output=True, timeout=60)
    assert cli("diff", "--base", "no-such-ref", cwd=git).returncode == 2
    assert cli("diff", "--base", "HEAD", cwd=git).returncode == 0
