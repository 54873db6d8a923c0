"""The generator's sops step with the real sops: several Secrets are encrypted side by side, each to its own path."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_kit.generate.names import GenerateError
from gitops_kit.generate.secrets import encrypt_new_secrets, sops_config_with_rule
from gitops_kit.secrets.keys import generate_identity, write_identity
from gitops_kit.secrets.sops import SopsError, decrypt_bytes
from ..conftest import CANARY

SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: default\nstringData:\n  token: {value}\n"


def test_each_secret_gets_its_own_ciphertext(tmp_path):
    identity, recipient = generate_identity()
    write_identity(tmp_path / "key.txt", identity, recipient)
    config = sops_config_with_rule(None, "c-001", recipient)
    paths = [f"infrastructure/controllers/c-001/s{i}.sops.yaml" for i in range(6)]  # more than run at once
    files = {path: SECRET.format(name=f"s{i}", value=f"{CANARY}-{i}").encode() for i, path in enumerate(paths)}
    encrypted = encrypt_new_secrets(files, config)
    assert list(encrypted) == paths
    for i, path in enumerate(paths):
        assert CANARY.encode() not in encrypted[path] and b"ENC[" in encrypted[path]
        plain = decrypt_bytes(encrypted[path], file_path=tmp_path / path, age_key_file=tmp_path / "key.txt")
        assert f"name: s{i}\n".encode() in plain and f"{CANARY}-{i}\n".encode() in plain


def test_the_first_failing_path_is_reported(tmp_path):
    _identity, recipient = generate_identity()
    config = sops_config_with_rule(None, "c-001", recipient)
    # no creation rule covers c-002: both of its files fail, the first one in order is named
    paths = ["infrastructure/controllers/c-001/a.sops.yaml", "infrastructure/controllers/c-002/b.sops.yaml", "apps/c-002/c.sops.yaml"]
    files = {path: SECRET.format(name="x", value=CANARY).encode() for path in paths}
    with pytest.raises((SopsError, GenerateError)) as caught:
        encrypt_new_secrets(files, config)
    assert "c-002/b.sops.yaml" in str(caught.value) and CANARY not in str(caught.value)
