"""`gitops-kit secrets …` end to end with the real sops binary; the canary never leaks."""

from __future__ import annotations

import stat
from pathlib import Path

import git

from gitops_kit.secrets.keys import generate_identity, write_identity
from tests.conftest import CANARY


def _scan_tree_for_canary(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]


def _leaks(*results) -> list[str]:
    return [r.args[-1] if hasattr(r, "args") else "?" for r in results if CANARY in (r.stdout + r.stderr)]


def test_keygen_new_verify_decrypt_round_trip(tmp_path, cli):
    repo = tmp_path / "repo"
    repo.mkdir()
    git.Repo.init(repo)
    (repo / ".sops.yaml").write_text("# fleet secrets\ncreation_rules: []\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "SOPS_AGE_KEY_FILE": "", "SOPS_AGE_KEY": ""}
    keygen = cli("secrets", "keygen", "--cluster", "prod", "--config", ".sops.yaml", cwd=repo, env=env)
    assert keygen.returncode == 0, keygen.stderr
    recipient = keygen.stdout.strip().splitlines()[-1]
    assert recipient.startswith("age1")
    key_file = tmp_path / "xdg" / "gitops-kit" / "age" / "prod.agekey"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    config_text = (repo / ".sops.yaml").read_text()
    assert "# fleet secrets" in config_text and "^clusters/prod/" in config_text and recipient in config_text

    inside = cli("secrets", "keygen", "--cluster", "dev", "--output", "keys/dev.agekey", cwd=repo, env=env)
    assert inside.returncode == 2 and "inside the git repository" in inside.stderr
    assert not (repo / "keys").exists()

    env_file = tmp_path / "db.env"
    env_file.write_text(f"# credentials\nPASSWORD={CANARY}\n")
    target = Path("clusters/prod/db.sops.yaml")
    new = cli("secrets", "new", "db", "-n", "apps", "--from-env-file", str(env_file), "--from-literal", "user=admin",
              "-o", str(target), cwd=repo, env=env)
    assert new.returncode == 0, new.stderr
    assert b"ENC[AES256_GCM" in (repo / target).read_bytes()
    again = cli("secrets", "new", "db", "-n", "apps", "--from-literal", "a=b", "-o", str(target), cwd=repo, env=env)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    bad_key = cli("secrets", "new", "db2", "-n", "apps", "--from-literal", f"bad key={CANARY}", cwd=repo, env=env)
    assert bad_key.returncode == 2 and "invalid Secret key" in bad_key.stderr and CANARY not in bad_key.stderr

    verify = cli("secrets", "verify", ".", "--age-key-file", str(key_file), cwd=repo, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    validate = cli("validate", ".", cwd=repo, env=env)
    assert "secret-not-encrypted" not in validate.stdout and "sops-rule-coverage" not in validate.stdout, validate.stdout

    decrypt = cli("secrets", "decrypt", str(target), "--age-key-file", str(key_file), cwd=repo, env=env)
    assert decrypt.returncode == 0, decrypt.stderr
    assert CANARY in decrypt.stdout and "user: admin" in decrypt.stdout

    plain = repo / "clusters" / "prod" / "plain.yaml"
    plain.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\nstringData:\n  token: abc\n")
    encrypt = cli("secrets", "encrypt", str(plain.relative_to(repo)), cwd=repo, env=env)
    assert encrypt.returncode == 0, encrypt.stderr
    assert "ENC[AES256_GCM" in plain.read_text()
    twice = cli("secrets", "encrypt", str(plain.relative_to(repo)), cwd=repo, env=env)
    assert twice.returncode == 2 and "already encrypted" in twice.stderr and "Traceback" not in twice.stderr

    # key rotation: a second admin joins; updatekeys brings the files in line with .sops.yaml
    _, admin = generate_identity()
    from gitops_kit.secrets.sops_config import ensure_creation_rule

    ensure_creation_rule(repo / ".sops.yaml", "^clusters/prod/", [recipient, admin])
    stale = cli("validate", ".", cwd=repo, env=env)
    assert stale.stdout.count("[sops-rule-coverage]") == 2, stale.stdout
    update = cli("secrets", "updatekeys", "clusters", "--age-key-file", str(key_file), cwd=repo, env=env)
    assert update.returncode == 0, update.stderr
    fresh = cli("validate", ".", cwd=repo, env=env)
    assert "sops-rule-coverage" not in fresh.stdout, fresh.stdout

    assert _scan_tree_for_canary(repo) == []
    assert _leaks(keygen, new, verify, validate, encrypt, twice, stale, update, fresh) == []


def test_three_problems_three_findings(tmp_path, cli):
    """Issue #5 done-when: plaintext Secret + stale recipients + tampered file = three findings.

    Without a key `validate` finds the first two: a tampered file looks exactly like a good one
    without the data key. With the cluster's key (a CI job that has it), `validate` finds all three
    (the sops-mac rule), and so does `secrets verify` for the tampered one.
    """
    repo = tmp_path / "repo"
    (repo / "clusters" / "prod").mkdir(parents=True)
    identity, recipient = generate_identity()
    key_file = tmp_path / "prod.agekey"
    write_identity(key_file, identity, recipient)
    from gitops_kit.secrets.sops import encrypt_bytes
    from gitops_kit.secrets.sops_config import ensure_creation_rule

    config = repo / ".sops.yaml"
    ensure_creation_rule(config, "^clusters/prod/", [recipient])
    body = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  password: {value}\n"
    for name in ("good", "tampered", "stale"):
        target = repo / "clusters" / "prod" / f"{name}.yaml"
        target.write_bytes(encrypt_bytes(body.format(name=name, value=CANARY).encode(), file_path=target, config_path=config))
    (repo / "clusters" / "prod" / "plain.yaml").write_text(body.format(name="plain", value="hunter2"))
    tampered = repo / "clusters" / "prod" / "tampered.yaml"
    tampered.write_text(tampered.read_text().replace("name: tampered", "name: tampered2"))
    _, rotated = generate_identity()
    # the key for stale.yaml was rotated in .sops.yaml after it was encrypted (first match wins)
    config.write_text(
        "creation_rules:\n"
        f"  - path_regex: ^clusters/prod/stale\n    encrypted_regex: ^(data|stringData)$\n    age: {rotated}\n"
        f"  - path_regex: ^clusters/prod/\n    encrypted_regex: ^(data|stringData)$\n    age: {recipient}\n"
    )
    validate = cli("validate", ".", "--format", "json", cwd=repo)
    import json

    findings = [(Path(f["file"]).name, f["rule"]) for f in json.loads(validate.stdout)["findings"] if f["rule"] in ("secret-not-encrypted", "sops-rule-coverage")]
    assert validate.returncode == 1
    verify = cli("secrets", "verify", "clusters", "--age-key-file", str(key_file), cwd=repo)
    assert verify.returncode == 1
    problems = [line for line in verify.stdout.splitlines() if line]
    # stale.yaml is still decryptable with the old key, so only the tampered file fails verification
    assert len(problems) == 1 and "tampered.yaml" in problems[0] and "sops-mac" in problems[0]
    assert "3 encrypted file(s): 2 verified, 1 with problems, 0 not verifiable offline" in verify.stderr
    assert sorted(findings) == [("plain.yaml", "secret-not-encrypted"), ("stale.yaml", "sops-rule-coverage")], validate.stdout
    with_key = cli("validate", ".", "--format", "json", cwd=repo, env={"SOPS_AGE_KEY_FILE": str(key_file)})
    keyed = sorted(
        (Path(f["file"]).name, f["rule"]) for f in json.loads(with_key.stdout)["findings"]
        if f["rule"] in ("secret-not-encrypted", "sops-rule-coverage", "sops-mac")
    )
    assert keyed == [
        ("plain.yaml", "secret-not-encrypted"), ("stale.yaml", "sops-rule-coverage"), ("tampered.yaml", "sops-mac")
    ], with_key.stdout
    assert CANARY not in with_key.stdout + with_key.stderr
    assert "hunter2" not in validate.stdout
    assert _scan_tree_for_canary(repo) == []
    assert CANARY not in validate.stdout + validate.stderr + verify.stdout + verify.stderr
