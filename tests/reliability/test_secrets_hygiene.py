"""The canary plaintext never leaks: not in any report format, log line, error message, cache file or
temp file, whatever command runs; only `secrets decrypt` prints it, to stdout, because it was asked to.
Subprocesses get only the environment they need."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from gitops_kit import report as formats
from tests.conftest import CANARY

ENCODED = base64.b64encode(CANARY.encode()).decode()
#: what a subprocess may see of gitops-kit's environment (sh adds PWD, SHLVL and _ itself)
SOPS_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE",
            "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "XDG_CONFIG_HOME", "GNUPGHOME", "SOPS_DISABLE_VERSION_CHECK"}
SHELL_OWN = {"PWD", "SHLVL", "_", "OLDPWD"}
LEAKY_ENV = {"GITHUB_TOKEN": CANARY, "AWS_SECRET_ACCESS_KEY": CANARY, "VAULT_TOKEN": CANARY, "SOPS_AGE_RECIPIENTS": "age1x"}


def _leaks(text: str | bytes) -> bool:
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    return CANARY.encode() in data or ENCODED.encode() in data


def _files_with_canary(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file() and _leaks(p.read_bytes())]


@pytest.fixture
def secret_repo(tmp_path, cli):
    """A repository with the canary in every dangerous place: plaintext Secrets (stringData and base64
    data), a Secret whose YAML is broken on the canary's line, one whose value fails the schema, a
    rendered overlay holding a plaintext Secret, and a real sops-encrypted Secret."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    env = {"TMPDIR": str(tmp_path / "tmp"), "GITOPS_KIT_CACHE_DIR": str(tmp_path / "cache"), **LEAKY_ENV}
    (tmp_path / "tmp").mkdir()
    (repo / ".sops.yaml").write_text("creation_rules: []\n", encoding="utf-8")
    key = tmp_path / "keys" / "c1.agekey"
    assert cli("secrets", "keygen", "--cluster", "c1", "--output", str(key), "--config", ".sops.yaml", cwd=repo, env=env).returncode == 0
    plain = repo / "clusters" / "c1" / "plain"
    plain.mkdir(parents=True)
    (plain / "secret.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: p, namespace: n}}\nstringData:\n  password: {CANARY}\n", encoding="utf-8")
    (plain / "data.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: d, namespace: n}}\ndata:\n  password: {ENCODED}\n", encoding="utf-8")
    (plain / "broken.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: b, namespace: n}}\nstringData:\n  password: \"{CANARY}\n  x: [\n", encoding="utf-8")
    (plain / "schema.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: n}}\ndata:\n  password: {CANARY}!\n  port: 5\n", encoding="utf-8")
    (plain / "kustomization.yaml").write_text("resources: [secret.yaml, data.yaml]\n", encoding="utf-8")
    new = cli("secrets", "new", "enc", "-n", "n", "--from-literal", f"password={CANARY}",
              "-o", str(repo / "clusters" / "c1" / "enc.sops.yaml"), "--config", str(repo / ".sops.yaml"), cwd=repo, env=env)
    assert new.returncode == 0, new.stderr
    return repo, key, env


def test_canary_never_leaks_from_any_command(secret_repo, cli, tmp_path):
    repo, key, env = secret_repo
    encrypted = repo / "clusters" / "c1" / "enc.sops.yaml"
    assert not _leaks(encrypted.read_bytes())
    out = tmp_path / "reports"
    runs = []
    for fmt in formats.names():
        runs.append(cli("validate", str(repo), "--format", fmt, cwd=repo, env=env))
        runs.append(cli("validate", str(repo), "--format", fmt, "-o", str(out / f"report.{fmt}"), cwd=repo, env=env))
        assert runs[-1].returncode == 1, runs[-1].stderr  # the plaintext Secrets are findings
    runs.append(cli("validate", str(repo), "--write-baseline", str(out / "baseline.json"), cwd=repo, env=env))
    runs.append(cli("validate", str(repo), "--baseline", str(out / "baseline.json"), "--format", "json", cwd=repo, env=env))
    runs.append(cli("secrets", "verify", str(repo / "clusters"), "--age-key-file", str(key), cwd=repo, env=env))
    # decrypt with the wrong key and of a tampered file: error messages must not quote the values
    wrong = tmp_path / "wrong.agekey"
    cli("secrets", "keygen", "--cluster", "x", "--output", str(wrong), env=env)
    runs.append(cli("secrets", "decrypt", str(encrypted), "--age-key-file", str(wrong), env=env))
    assert runs[-1].returncode == 2
    tampered = tmp_path / "tampered.sops.yaml"
    tampered.write_text(encrypted.read_text(encoding="utf-8").replace("data:", "data:AAAA", 1), encoding="utf-8")
    runs.append(cli("secrets", "decrypt", str(tampered), "--age-key-file", str(key), env=env))
    assert runs[-1].returncode == 2
    for result in runs:
        assert not _leaks(result.stdout) and not _leaks(result.stderr), (result.args, result.stdout[-2000:], result.stderr)
    # the one place the plaintext may appear: decrypt's stdout, because the user asked for it
    decrypted = cli("secrets", "decrypt", str(encrypted), "--age-key-file", str(key), env=env)
    assert decrypted.returncode == 0 and CANARY in decrypted.stdout and not _leaks(decrypted.stderr)
    assert _files_with_canary(out, tmp_path / "cache", tmp_path / "tmp", tmp_path / "keys") == []
    assert list((tmp_path / "tmp").iterdir()) == []  # and no temp file left behind at all
    renders = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and "versions" not in p.parts]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in renders)


def test_schema_messages_do_not_quote_secret_values(tmp_path):
    from gitops_kit.engine import validate

    (tmp_path / ".git").mkdir()
    (tmp_path / "s.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: n}}\nstringData:\n  list: [{CANARY}]\n", encoding="utf-8")
    report = validate([tmp_path])
    assert any(f.rule_id == "schema-validation" for f in report.findings)
    assert not any(_leaks(f.message) for f in report.findings)


def _env_dump(directory: Path, name: str, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(f"#!/bin/sh\nenv > {directory / (name + '.env')}\n{extra}", encoding="utf-8")
    script.chmod(0o755)
    return script


def _names(dump: Path) -> set[str]:
    return {line.partition("=")[0] for line in dump.read_text(encoding="utf-8").splitlines() if "=" in line}


def test_sops_gets_only_what_it_needs(tmp_path, cli):
    fake = _env_dump(tmp_path / "bin", "sops", 'case "$*" in *--version*) echo "sops 3.10.2";; *) echo "a: b";; esac\n')
    secret = tmp_path / "s.sops.yaml"
    secret.write_text("a: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops: {mac: m, version: 3.10.2}\n", encoding="utf-8")
    env = {"GITOPS_KIT_SOPS": str(fake), "SOPS_AGE_KEY_FILE": str(tmp_path / "k"), **LEAKY_ENV}
    result = cli("secrets", "decrypt", str(secret), env=env)
    assert result.returncode == 0, result.stderr
    names = _names(tmp_path / "bin" / "sops.env")
    assert names - SHELL_OWN <= SOPS_ENV and "SOPS_AGE_KEY_FILE" in names and "SOPS_DISABLE_VERSION_CHECK" in names
    assert not _leaks((tmp_path / "bin" / "sops.env").read_bytes())


def test_kustomize_gets_a_minimal_environment(tmp_path, cli):
    fake = _env_dump(tmp_path / "bin", "kustomize", 'case "$1" in version) echo v5;; *) echo "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}";; esac\n')
    repo = tmp_path / "repo"
    (repo / "o").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "o" / "kustomization.yaml").write_text("resources: []\nnamespace: n\n", encoding="utf-8")  # something to build
    result = cli("validate", str(repo), env={"GITOPS_KIT_KUSTOMIZE": str(fake), **LEAKY_ENV})
    assert result.returncode == 0, result.stdout + result.stderr
    # plus the Go runtime's batch settings (tools.GO_BATCH_ENV): no secrets, no user variables
    assert _names(tmp_path / "bin" / "kustomize.env") - SHELL_OWN <= {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "GOGC", "GOMEMLIMIT"}
