"""sops-mac asks whether any age key source exists before it imports the verifier (~20 ms): every source
`load_identities` reads must still switch the check on, and without one the verifier is never imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gitops_kit.secrets.keys import generate_identity, write_identity


@pytest.fixture()
def tampered_repo(tmp_path):
    from gitops_kit.secrets.sops import encrypt_bytes
    from gitops_kit.secrets.sops_config import ensure_creation_rule

    repo = tmp_path / "repo"
    (repo / "clusters").mkdir(parents=True)
    identity, recipient = generate_identity()
    key_file = tmp_path / "cluster.agekey"
    write_identity(key_file, identity, recipient)
    config = repo / ".sops.yaml"
    ensure_creation_rule(config, "^clusters/", [recipient])
    target = repo / "clusters" / "db.yaml"
    body = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: x\n"
    target.write_bytes(encrypt_bytes(body, file_path=target, config_path=config))
    target.write_text(target.read_text().replace("name: db", "name: db2"))  # changed outside sops
    return repo, key_file


def _run(repo, env):
    code = (
        "import json, sys\n"
        "from gitops_kit import validate\n"
        f"report = validate([{str(repo)!r}], rules=['sops-mac'])\n"
        "print(json.dumps([[f.rule_id, f.file] for f in report.findings]))\n"
        "print('gitops_kit.secrets.verify' in sys.modules)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "XDG_CONFIG_HOME"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env}, check=True)
    findings, imported = done.stdout.splitlines()
    return json.loads(findings), imported == "True"


def test_without_any_key_source_the_verifier_is_not_imported(tampered_repo, tmp_path):
    repo, _key = tampered_repo
    assert _run(repo, {"HOME": str(tmp_path / "home")}) == ([], False)


def test_the_sops_keys_txt_switches_the_check_on(tampered_repo, tmp_path):
    repo, key = tampered_repo
    config_home = tmp_path / "config"
    (config_home / "sops" / "age").mkdir(parents=True)
    (config_home / "sops" / "age" / "keys.txt").write_text(key.read_text())
    findings, imported = _run(repo, {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(config_home)})
    assert findings == [["sops-mac", "clusters/db.yaml"]] and imported


@pytest.mark.parametrize("variable", ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"])
def test_the_environment_switches_the_check_on(tampered_repo, tmp_path, variable):
    repo, key = tampered_repo
    value = key.read_text() if variable == "SOPS_AGE_KEY" else str(key)
    findings, _ = _run(repo, {"HOME": str(tmp_path / "home"), variable: value})
    assert findings == [["sops-mac", "clusters/db.yaml"]]


def test_the_rule_option_switches_the_check_on(tampered_repo, tmp_path):
    repo, key = tampered_repo
    (repo / ".gitops-kit.yaml").write_text(f"rules:\n  sops-mac:\n    age-key-file: {key}\n")
    findings, _ = _run(repo, {"HOME": str(tmp_path / "home")})
    assert findings == [["sops-mac", "clusters/db.yaml"]]
