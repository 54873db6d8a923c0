"""`secrets verify` with PGP keys (GnuPG, as sops uses it) agrees with the real sops; unverifiable is never "ok"."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from gitops_kit.secrets import sops
from gitops_kit.secrets.pgp import PgpKeyring
from gitops_kit.secrets.sops import decrypt_bytes, input_type_for
from gitops_kit.secrets.verify import UNVERIFIED, verify_file

PGP = Path(__file__).parent / "fixtures" / "pgp"
FLUX_KEY = "flux-pgp.asc"
SOPS_KEY = "sops-functional-tests.asc"
VECTORS = [
    ("flux-pgp.yaml", FLUX_KEY),
    ("sops-example.yaml", SOPS_KEY),
    ("sops-multiple_keys.yaml", SOPS_KEY),
    ("sops-comments.enc.yaml", SOPS_KEY),
    ("sops-format.enc.yaml", SOPS_KEY),
]

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="GnuPG (gpg) is not installed")


@pytest.fixture
def vectors(tmp_path, monkeypatch):
    # throwaway keyrings go to a short TMPDIR of this test's (gpg-agent sockets), so it can see they are removed
    short = Path(tempfile.mkdtemp(prefix="gk-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(short))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield Path(shutil.copytree(PGP, tmp_path / "pgp"))
    shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def gnupg_home(tmp_path, monkeypatch):
    """A keyring holding both test keys, for the real sops (it reads GNUPGHOME)."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    for key in (FLUX_KEY, SOPS_KEY):
        subprocess.run(["gpg", "--batch", "--quiet", "--import", str(PGP / key)], env=env, check=True, capture_output=True)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)


def _sops_accepts(path: Path) -> bool:
    try:
        decrypt_bytes(path.read_bytes(), file_path=path, input_type=input_type_for(path))
    except sops.SopsError:
        return False
    return True


def _verify(path: Path, *key_files: Path):
    with PgpKeyring(list(key_files)) as keyring:
        return verify_file(path, [], pgp=keyring)


@pytest.mark.parametrize("vector,key", VECTORS, ids=[v for v, _ in VECTORS])
def test_pgp_vectors_verify_like_real_sops(vectors, gnupg_home, vector, key):
    assert _verify(vectors / vector, vectors / key) == []
    assert _sops_accepts(vectors / vector)
    assert list(Path(tempfile.gettempdir()).iterdir()) == []  # the throwaway keyring is gone


def test_tampered_pgp_file_is_found_like_real_sops(vectors, gnupg_home):
    path = vectors / "flux-pgp.yaml"
    path.write_text(path.read_text().replace("name: pgp", "name: pgp2", 1))
    problems = _verify(path, vectors / FLUX_KEY)
    assert [p.code for p in problems] == ["sops-mac"]
    assert not _sops_accepts(path)


def test_a_pgp_key_that_does_not_fit_is_a_problem(vectors):
    problems = _verify(vectors / "flux-pgp.yaml", vectors / SOPS_KEY)
    assert [p.code for p in problems] == ["sops-key"]


def test_the_users_keyring_is_used_when_no_key_file_is_given(vectors, gnupg_home):
    assert _verify(vectors / "flux-pgp.yaml") == []


def test_without_gpg_pgp_files_are_unverified_with_the_reason(vectors, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_GPG", str(vectors / "no-such-gpg"))
    problems = _verify(vectors / "flux-pgp.yaml", vectors / FLUX_KEY)
    assert [p.code for p in problems] == [UNVERIFIED]
    assert "gpg (GnuPG) is not installed" in problems[0].message and "sops decrypt" in problems[0].message


def test_cli_exit_codes_ok_problem_unverifiable(vectors, cli, tmp_path):
    env = {"GNUPGHOME": str(tmp_path / "no-keyring"), "SOPS_AGE_KEY_FILE": "", "SOPS_AGE_KEY": ""}
    flux = vectors / "flux-pgp.yaml"
    ok = cli("secrets", "verify", str(flux), "--pgp-key-file", str(vectors / FLUX_KEY), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = cli("secrets", "verify", str(flux), "--pgp-key-file", str(vectors / SOPS_KEY), env=env)
    assert wrong.returncode == 1 and "sops-key" in wrong.stdout
    # a file whose data key is wrapped for AWS KMS only: nothing can be checked offline, and it says so
    kms_only = vectors / "kms-only.yaml"
    text = flux.read_text()
    start, end = text.index("  pgp:"), text.index("  encrypted_regex")
    kms = "  kms:\n    - arn: arn:aws:kms:us-east-1:000000000000:key/test\n      enc: AQICAHg=\n"
    kms_only.write_text((text[:start] + text[end:]).replace("  kms: []\n", kms))
    unverifiable = cli("secrets", "verify", str(kms_only), "--pgp-key-file", str(vectors / FLUX_KEY), env=env)
    assert unverifiable.returncode == 3, unverifiable.stdout + unverifiable.stderr
    assert "cannot verify offline" in unverifiable.stdout and "AWS KMS" in unverifiable.stdout
    assert "1 not verifiable offline" in unverifiable.stderr
    missing = cli("secrets", "verify", str(flux), "--pgp-key-file", str(vectors / "nope.asc"), env=env)
    assert missing.returncode == 2 and "no such PGP key file" in missing.stderr and "Traceback" not in missing.stderr
