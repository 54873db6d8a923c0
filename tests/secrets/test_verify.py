"""Offline verification agrees with the real sops binary on upstream vectors and on tampered copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_kit.secrets import keys, sops, sops_config
from gitops_kit.secrets.sops import decrypt_bytes, input_type_for
from gitops_kit.secrets.verify import load_identities, verify_file
from tests.conftest import CANARY, FIXTURES

VECTORS = FIXTURES / "sops"
FLUX = "fluxcd/kustomize-controller/internal/controller/testdata/sops"
AGE_VECTORS = [
    (f"{FLUX}/algorithms/age.yaml", f"{FLUX}/keys/age.txt"),
    (f"{FLUX}/patches/merge1.yaml", f"{FLUX}/keys/age.txt"),
    (f"{FLUX}/patches/merge2.yaml", f"{FLUX}/keys/age.txt"),
    (f"{FLUX}/global/secret.yaml", f"{FLUX}/keys/age-global.txt"),
    (f"{FLUX}/files/file.txt", f"{FLUX}/keys/age.txt"),
    ("jkroepke/helm-secrets/tests/assets/values/sops/secrets.age.yaml", "jkroepke/helm-secrets/tests/assets/age/key.txt"),
    ("carlpett/terraform-provider-sops/basic.age0.yaml", "carlpett/terraform-provider-sops/age0.key"),
    ("carlpett/terraform-provider-sops/basic.age1.yaml", "carlpett/terraform-provider-sops/age1.key"),
    ("Mic92/sops-nix/pkgs/sops-install-secrets/test-assets/secrets.yaml", "Mic92/sops-nix/pkgs/sops-install-secrets/test-assets/age-keys.txt"),
]


def _sops_accepts(path: Path, key: Path) -> bool:
    try:
        decrypt_bytes(path.read_bytes(), file_path=path, input_type=input_type_for(path), age_key_file=key)
    except sops.SopsError:
        return False
    return True


@pytest.fixture
def vectors(tmp_path):
    return Path(shutil.copytree(VECTORS, tmp_path / "sops"))


@pytest.mark.parametrize("vector,key", AGE_VECTORS, ids=[Path(v).name for v, _ in AGE_VECTORS])
def test_upstream_vectors_verify_like_real_sops(vectors, vector, key):
    path, key_file = vectors / vector, vectors / key
    problems = verify_file(path, load_identities(key_file, {}))
    assert problems == []
    assert _sops_accepts(path, key_file)


def test_pgp_only_vector_without_a_pgp_key_is_unverified_not_ok(vectors):
    # PGP-only vector and no PGP key: offline verification says it cannot check, never "ok"
    problems = verify_file(vectors / "getsops/sops/functional-tests/res/no_mac.yaml", [])
    assert [p.code for p in problems] == ["sops-unverified"]
    assert "cannot verify offline" in problems[0].message and "sops decrypt" in problems[0].message


TAMPERS = {
    "plaintext field": (b"name: age\n", b"name: age2\n", "sops-mac", "sops.mac"),
    "key name": (b"stringData:\n  key:", b"stringData:\n  kee:", "sops-value", "stringData.kee"),
}


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_tampering_is_found_like_real_sops(vectors, what):
    old, new, code, key_path = TAMPERS[what]
    path, key_file = vectors / f"{FLUX}/algorithms/age.yaml", vectors / f"{FLUX}/keys/age.txt"
    original = path.read_bytes()
    assert old in original
    path.write_bytes(original.replace(old, new, 1))
    problems = verify_file(path, load_identities(key_file, {}))
    assert [(p.code, p.key) for p in problems] == [(code, key_path)]
    assert str(path) in str(problems[0])
    assert not _sops_accepts(path, key_file)


def test_tampered_value_is_found_like_real_sops(vectors):
    path, key_file = vectors / f"{FLUX}/algorithms/age.yaml", vectors / f"{FLUX}/keys/age.txt"
    text = path.read_text()
    start = text.index("key: ENC[AES256_GCM,data:") + len("key: ENC[AES256_GCM,data:")
    flipped = "A" if text[start] != "A" else "B"
    path.write_text(text[:start] + flipped + text[start + 1 :])
    problems = verify_file(path, load_identities(key_file, {}))
    assert [(p.code, p.key) for p in problems] == [("sops-value", "stringData.key")]
    assert not _sops_accepts(path, key_file)


def test_wrong_key_is_a_key_finding(vectors):
    other = vectors / "carlpett/terraform-provider-sops/age0.key"
    problems = verify_file(vectors / f"{FLUX}/algorithms/age.yaml", load_identities(other, {}))
    assert [p.code for p in problems] == ["sops-key"]


def test_files_written_by_real_sops_verify_and_tampering_is_caught(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    identity, recipient = keys.generate_identity()
    key_file = tmp_path / "key.txt"
    keys.write_identity(key_file, identity, recipient)
    sops_config.ensure_creation_rule(repo / ".sops.yaml", r"\.yaml$", [recipient])
    plain = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  labels:\n    tier: '3'\n    port: 5432\n"
        f"stringData:\n  password: {CANARY}\n  ratio: 1.5\n  enabled: true\n  list:\n    - a\n    - 2\n  empty: ''\n"
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: second\ndata:\n  token: c2VjcmV0\n"
    )
    target = repo / "multi.yaml"
    target.write_bytes(sops.encrypt_bytes(plain.encode(), file_path=target, config_path=repo / ".sops.yaml"))
    identities = load_identities(key_file, {})
    assert verify_file(target, identities) == []
    assert _sops_accepts(target, key_file)
    target.write_text(target.read_text().replace("name: second", "name: third"))
    problems = verify_file(target, identities)
    assert [p.code for p in problems] == ["sops-mac"]
    assert not _sops_accepts(target, key_file)
    assert all(CANARY not in str(p) for p in problems)


def test_mac_only_encrypted_files_from_real_sops(tmp_path):
    # mac_only_encrypted: plaintext fields are outside the MAC, so editing them is not tampering
    identity, recipient = keys.generate_identity()
    key_file = tmp_path / "key.txt"
    keys.write_identity(key_file, identity, recipient)
    config = tmp_path / ".sops.yaml"
    config.write_text(f"creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n    age: {recipient}\n")
    target = tmp_path / "s.yaml"
    plain = f"kind: Secret\nmetadata:\n  name: a\n  replicas: 3\nstringData:\n  password: {CANARY}\n  n: 7\n"
    target.write_bytes(sops.encrypt_bytes(plain.encode(), file_path=target, config_path=config))
    assert "mac_only_encrypted: true" in target.read_text()
    identities = load_identities(key_file, {})
    assert verify_file(target, identities) == []
    target.write_text(target.read_text().replace("name: a", "name: b"))
    assert verify_file(target, identities) == [] and _sops_accepts(target, key_file)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234568000.0, b"1234568000"), (1.5, b"1.5"), (1e20, b"100000000000000000000"), (True, b"True"), (92, b"92"), ("x", b"x")],
)
def test_go_bytes_matches_sops_to_bytes(value, expected):
    from gitops_kit.secrets.sopsfile import go_bytes

    assert go_bytes(value) == expected


@pytest.mark.parametrize(
    ("text", "plain", "expected"),
    [("true", True, True), ("yes", True, "yes"), ("2024-01-01", True, "2024-01-01"), ("0x1F", True, 31),
     ("1.50", True, 1.5), ("~", True, None), ("123", False, "123"), (".inf", True, float("inf"))],
)
def test_go_scalar_resolves_like_go_yaml_v3(text, plain, expected):
    from gitops_kit.secrets.sopsfile import go_scalar

    assert go_scalar(text, plain) == expected


def test_broken_files_are_located_problems_not_tracebacks(vectors):
    identities = load_identities(vectors / f"{FLUX}/keys/age.txt", {})
    path = vectors / f"{FLUX}/algorithms/age.yaml"
    text = path.read_text()
    path.write_text(text.replace("encrypted_regex: ^(data|stringData)$", "encrypted_regex: ^(data|stringData$"))
    assert [p.code for p in verify_file(path, identities)] == ["sops-format"]
    path.write_text("a: [unclosed\n")
    problem = verify_file(path, identities)[0]
    assert problem.code == "sops-format" and problem.line >= 1
    path.write_text("- a list\n")
    assert [p.code for p in verify_file(path, identities)] == ["sops-format"]
