"""`new cluster` starts sops on the add-ons' Secrets while cookiecutter renders the repository
(`render_secrets` + `Encryption`), and uses that ciphertext only for the plaintext cookiecutter itself
rendered. Real sops, real cookiecutter."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml_rs

from gitops_kit.cli import main
from gitops_kit.generate import blueprints as blueprints_module
from gitops_kit.generate import generator
from gitops_kit.generate.fleet import Fleet, cluster_for
from gitops_kit.generate.render import render_fleet, render_secrets
from gitops_kit.generate.secrets import Encryption, is_secret_path, sops_config_with_rule
from gitops_kit.secrets.keys import generate_identity, write_identity
from gitops_kit.secrets.sops import SopsMissing, decrypt_bytes

from ..conftest import CANARY
from ..render.test_render_ahead import record_starts

ADDONS = ["mesh", "storage", "gpu", "runners", "kepler"]
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: default\nstringData:\n  token: {value}\n"


def three_clusters(flavor: str) -> Fleet:
    fleet = Fleet(flavor, "10.96.0.0/12", "fd00:10::/48")
    for name in ("c-001", "c-002", "c-003"):
        fleet = fleet.with_cluster(cluster_for(fleet, name, ADDONS, gpu_model="A100-40GB"))
    return fleet


@pytest.mark.parametrize("flavor", ["flux", "argocd"])
def test_render_secrets_is_exactly_what_cookiecutter_renders(flavor):
    fleet = three_clusters(flavor)
    early = render_secrets(fleet)
    rendered = {p: c for p, c in render_fleet(fleet).items() if is_secret_path(p)}
    assert early is not None and len(early) == 6  # mesh CA + runner token, three clusters
    assert early == rendered


def test_a_secret_template_only_cookiecutter_can_render_is_encrypted_after_the_render(tmp_path, monkeypatch):
    """A cookiecutter filter in a Secret's template: the early render declines, the usual path encrypts it."""
    copied = tmp_path / "blueprints"
    shutil.copytree(blueprints_module.blueprints_path(), copied)
    token = copied / "runners" / "cluster" / "token.sops.yaml"
    token.write_text(token.read_text().replace("REPLACE-ME-glrt-runner-authentication-token", "{{ cookiecutter.cluster.name | jsonify }}"))
    monkeypatch.setattr(blueprints_module, "blueprints_path", lambda *parts: copied.joinpath(*parts))
    blueprints_module.load_blueprints.cache_clear()
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    try:
        assert render_secrets(three_clusters("flux")) is None
        repo = tmp_path / "fleet"
        assert main(["new", "cluster", "c-001", "--repo", str(repo), "--flavor", "flux", "--no-input"]) == 0
    finally:
        blueprints_module.load_blueprints.cache_clear()
    path = repo / "infrastructure/controllers/c-001/runners-token.sops.yaml"
    plain = decrypt_bytes(path.read_bytes(), file_path=path, age_key_file=tmp_path / "keys" / "fleet" / "c-001.agekey")
    assert yaml_rs.loads(plain.decode())["stringData"]["runner-token"] == "c-001"  # jsonify's quotes, read by YAML


def test_ciphertext_made_ahead_is_not_used_for_a_different_render(tmp_path, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "fleet"
    answers = generator.Answers(name="c-001", repo=repo)
    fleet = three_clusters("flux")
    cluster = fleet.clusters[0]
    ahead = generator._encrypt_ahead(repo, fleet, cluster, answers)
    assert ahead is not None and ahead.encryption is not None
    files = render_fleet(fleet)
    token = "infrastructure/controllers/c-001/runners-token.sops.yaml"
    files[token] = files[token].replace(b"REPLACE-ME", CANARY.encode())  # not what was encrypted ahead
    try:
        secured, new_keys = generator._secure(repo, fleet, cluster, answers, files, lambda running: None, ahead)
    finally:
        ahead.encryption.cancel()
    key = next(r for r in new_keys if getattr(r, "recipient", "").startswith("age1") and r.key_path.name == "c-001.agekey")
    write_identity(tmp_path / "c-001.agekey", key.identity, key.recipient)
    plain = decrypt_bytes(secured[token], file_path=repo / token, age_key_file=tmp_path / "c-001.agekey")
    assert CANARY.encode() in plain  # encrypted again, from the render
    ca = "infrastructure/controllers/c-001/mesh-cilium-ca.sops.yaml"
    assert b"GITOPS-KIT-MESH-CA" not in decrypt_bytes(secured[ca], file_path=repo / ca, age_key_file=tmp_path / "c-001.agekey")


def test_encryption_answers_twice_and_leaves_no_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    identity, recipient = generate_identity()
    write_identity(tmp_path / "key.txt", identity, recipient)
    paths = [f"infrastructure/controllers/c-001/s{i}.sops.yaml" for i in range(3)]
    plaintexts = {p: SECRET.format(name=f"s{i}", value=CANARY).encode() for i, p in enumerate(paths)}
    encryption = Encryption(plaintexts, sops_config_with_rule(None, "c-001", recipient))
    assert len(os.listdir(tmp_path / "tmp")) == 1  # the private directory holding .sops.yaml, nothing else
    first = encryption.finish()
    assert encryption.finish() == first and list(first) == paths
    assert os.listdir(tmp_path / "tmp") == []
    assert all(CANARY.encode() not in c and b"ENC[" in c for c in first.values())
    encryption.cancel()  # after the end: nothing to do


def test_a_cancelled_encryption_stops_sops_and_removes_its_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    _identity, recipient = generate_identity()
    plaintexts = {"infrastructure/controllers/c-001/s.sops.yaml": SECRET.format(name="s", value=CANARY).encode()}
    encryption = Encryption(plaintexts, sops_config_with_rule(None, "c-001", recipient))
    encryption.cancel()
    assert not encryption.running()
    assert os.listdir(tmp_path / "tmp") == []


def fake_sops(tmp_path: Path, monkeypatch, version: str, encrypt: str) -> Encryption:
    """An Encryption of one small Secret by a stand-in sops: `version` for --version, `encrypt` otherwise."""
    from gitops_kit.secrets import sops

    monkeypatch.setattr(sops, "_CHECKED", set())
    fake = tmp_path / "sops"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "sops {version}"; exit 0; fi\n{encrypt}')
    fake.chmod(0o755)
    monkeypatch.setenv("GITOPS_KIT_SOPS", str(fake))
    _identity, recipient = generate_identity()
    return Encryption({"infrastructure/controllers/c-001/s.sops.yaml": b"kind: Secret\n"}, sops_config_with_rule(None, "c-001", recipient))


def test_too_old_a_sops_is_what_is_reported(tmp_path, monkeypatch):
    """A failed encryption runs the version check: a too-old sops is what is reported, not its error."""
    encryption = fake_sops(tmp_path, monkeypatch, "3.7.3", "echo 'unknown command encrypt' >&2\nexit 1\n")
    with pytest.raises(SopsMissing, match="too old"):
        encryption.finish()
    with pytest.raises(SopsMissing, match="too old"):  # asked again: the same answer
        encryption.finish()


def test_new_repository_encrypts_each_secret_once(tmp_path, monkeypatch):
    """The ciphertext made ahead (while the child renders) is the one written: one sops encryption per
    Secret; a second would mean it was thrown away and the Secret encrypted again after the render."""
    from gitops_kit import tools

    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    events: list[str] = []
    real_start = tools.start

    def start(args, **kwargs):
        if "encrypt" in args:
            events.append("sops encrypt")
        return real_start(args, **kwargs)

    monkeypatch.setattr(tools, "start", start)
    assert main(["new", "cluster", "c-001", "--repo", str(tmp_path / "fleet"), "--flavor", "flux", "--no-input"]) == 0
    assert events.count("sops encrypt") == 2  # the mesh CA and the runner token, once each


def test_new_repository_secrets_decrypt_to_the_rendered_plaintext(tmp_path, monkeypatch):
    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    repo = tmp_path / "fleet"
    assert main(["new", "cluster", "c-001", "--repo", str(repo), "--flavor", "flux", "--no-input"]) == 0
    expected = render_secrets(Fleet("flux", "10.96.0.0/12", "fd00:10::/48").with_cluster(
        cluster_for(Fleet("flux", "10.96.0.0/12", "fd00:10::/48"), "c-001", ADDONS, gpu_model="A100-40GB")))
    assert expected is not None
    token = "infrastructure/controllers/c-001/runners-token.sops.yaml"
    key = tmp_path / "keys" / "fleet" / "c-001.agekey"
    decrypted = decrypt_bytes((repo / token).read_bytes(), file_path=repo / token, age_key_file=key)
    assert yaml_rs.loads(decrypted.decode()) == yaml_rs.loads(expected[token].decode())  # sops re-emits the YAML
    hidden = [p for p in Path(tmp_path).iterdir() if p.name.startswith(".fleet.gitops-kit-")]
    assert hidden == []


def test_a_secret_larger_than_a_pipe_holds_reaches_sops_before_anyone_waits(tmp_path, monkeypatch):
    """Its input is written by a thread of its own (a pipe holds a few kB without a reader): making the
    Encryption does not wait for sops to read it, and sops gets it while this process goes on, not only
    once `finish` is called (found in review)."""
    import time

    marker = tmp_path / "read-everything"
    fake = tmp_path / "sops"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo "sops 3.10.2"; exit 0; fi\n'
        f"cat > /dev/null\ntouch {marker}\nsleep 30\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("GITOPS_KIT_SOPS", str(fake))
    _identity, recipient = generate_identity()
    big = SECRET.format(name="big", value="x" * 70_000).encode()
    encryption = Encryption({"infrastructure/controllers/c-001/big.sops.yaml": big}, sops_config_with_rule(None, "c-001", recipient))
    try:
        deadline = time.monotonic() + 60  # a liveness bound, not a speed bar
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists()
    finally:
        encryption.cancel()


def test_a_secret_larger_than_a_pipe_holds_round_trips(tmp_path):
    identity, recipient = generate_identity()
    write_identity(tmp_path / "key.txt", identity, recipient)
    path = "infrastructure/controllers/c-001/big.sops.yaml"
    big = SECRET.format(name="big", value=CANARY + "-" + "x" * 70_000).encode()
    ciphertext = Encryption({path: big}, sops_config_with_rule(None, "c-001", recipient)).finish()[path]
    assert CANARY.encode() not in ciphertext
    plain = decrypt_bytes(ciphertext, file_path=tmp_path / path, age_key_file=tmp_path / "key.txt")
    assert yaml_rs.loads(plain.decode()) == yaml_rs.loads(big.decode())


def test_the_version_sops_writes_into_its_output_is_the_version_check(tmp_path, monkeypatch):
    """A new cluster asks no `sops --version`: each ciphertext says which sops made it."""
    from gitops_kit.secrets import sops

    monkeypatch.setenv("GITOPS_KIT_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setattr(sops, "_CHECKED", set())
    asked = record_starts(monkeypatch, "--version")
    assert main(["new", "cluster", "c-001", "--repo", str(tmp_path / "fleet"), "--flavor", "flux", "--no-input"]) == 0
    assert asked == []


def test_a_ciphertext_from_a_too_old_sops_is_refused(tmp_path, monkeypatch):
    encryption = fake_sops(tmp_path, monkeypatch, "3.9.2", "cat > /dev/null\nprintf 'kind: Secret\\nsops:\\n    mac: ENC[x]\\n    version: 3.9.2\\n'\n")
    with pytest.raises(SopsMissing, match="3.9.2 is too old"):
        encryption.finish()


@pytest.mark.parametrize("flavor", ["flux", "argocd"])
def test_the_kinds_read_off_the_templates_are_the_kinds_generated(flavor):
    """`template_kinds` (the schemas `new cluster` resolves while cookiecutter renders) names every kind of
    the rendered fleet, and nothing else, without rendering."""
    from gitops_kit.generate.render import template_kinds
    from gitops_kit.loader import parse_chunk, split_documents

    fleet = three_clusters(flavor)
    generated = set()
    for path, content in render_fleet(fleet).items():
        if path.endswith((".yaml", ".yml")):
            for chunk in split_documents(content.decode("utf-8")):
                data = parse_chunk(chunk)[0]
                if isinstance(data, dict) and isinstance(data.get("kind"), str) and isinstance(data.get("apiVersion"), str):
                    generated.add((data["apiVersion"], data["kind"]))
    assert len(generated) > 5
    assert template_kinds(fleet) == generated
