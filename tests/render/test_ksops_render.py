"""Overlays with a KSOPS generator render offline with the real kubectl/kustomize and the real sops."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_kit.engine import validate
from gitops_kit.secrets.keys import generate_identity
from gitops_kit.secrets.sops import encrypt_bytes
from gitops_kit.secrets.sops_config import ensure_creation_rule

from ..conftest import CANARY

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None, reason="no kubectl or kustomize installed"
)

GENERATOR = """\
apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: secret-generator
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ksops
files:
{files}"""
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  password: {value}\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          resources: {requests: {memory: 64Mi}, limits: {memory: 64Mi}}
          envFrom:
            - secretRef: {name: db}
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _encrypted(repo: Path, relative: str, name: str) -> None:
    target = repo / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(encrypt_bytes(SECRET.format(name=name, value=CANARY).encode(), file_path=target, config_path=repo / ".sops.yaml"))


@pytest.fixture
def argo_repo(tmp_path) -> Path:
    """An Argo CD overlay whose generator reads a Secret from a shared folder outside the overlay."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    _write(repo, {".gitops-kit.yaml": "fleet:\n  flavor: argocd\n"})
    ensure_creation_rule(repo / ".sops.yaml", "^clusters/", [generate_identity()[1]])
    _encrypted(repo, "clusters/prod/secrets/db.sops.yaml", "db")
    _write(repo, {
        "clusters/prod/apps/kustomization.yaml": "namespace: apps\nnamePrefix: prod-\nresources:\n  - web.yaml\n"
                                                 "generators:\n  - secret-generator.yaml\n",
        "clusters/prod/apps/web.yaml": DEPLOYMENT,
        "clusters/prod/apps/secret-generator.yaml": GENERATOR.format(files="  - ../secrets/db.sops.yaml\n"),
    })
    return repo


def _secret_line(path: Path, key: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith(f"{key}:"))


def test_ksops_overlay_renders_with_the_secret_still_encrypted_and_mapped_to_its_file(argo_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{tmp_path / 'nothing'}:{Path(shutil.which('kubectl') or shutil.which('kustomize')).parent}")
    report = validate([argo_repo])
    assert [f for f in report.findings if f.rule_id != "schema-missing"] == [], [f.location + " " + f.message for f in report.findings]
    assert report.overlays == 1
    from gitops_kit.config import load_config
    from gitops_kit.discover import discover
    from gitops_kit.render import render_overlays

    config = load_config(argo_repo)
    rendered = render_overlays(discover([argo_repo], config), config)
    secrets = [d for d in rendered.overlays["clusters/prod/apps"] if d.kind == "Secret"]
    assert len(secrets) == 1
    secret = secrets[0]
    # kustomize applied the overlay's namespace and prefix to the generated Secret; nothing was decrypted
    assert (secret.name, secret.namespace) == ("prod-db", "apps")
    assert secret.data["stringData"]["password"].startswith("ENC[AES256_GCM,") and "sops" in secret.data
    assert secret.ref.file == "clusters/prod/secrets/db.sops.yaml"
    assert "clusters/prod/secrets/db.sops.yaml" in rendered.input_files


def test_a_finding_on_the_rendered_secret_points_at_the_encrypted_file_and_the_cache_sees_its_changes(argo_repo):
    assert [f for f in validate([argo_repo]).findings if f.rule_id == "secret-not-encrypted"] == []
    encrypted = argo_repo / "clusters/prod/secrets/db.sops.yaml"
    # the file lives outside the overlay's folder: only its place in the cache key makes this visible
    encrypted.write_text(encrypted.read_text().replace("password: ENC[AES256_GCM,data:", "password: ENC[AES256_GCM,data:!"))
    findings = [f for f in validate([argo_repo]).findings if f.rule_id == "secret-not-encrypted"]
    assert len(findings) == 1, findings
    finding = findings[0]
    assert (finding.file, finding.line) == ("clusters/prod/secrets/db.sops.yaml", _secret_line(encrypted, "password"))
    assert finding.overlays == ("clusters/prod/apps",)  # found in the render, not in the file on its own
    assert CANARY not in finding.message


def test_repository_programs_never_run(argo_repo, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    program = f"#!/bin/sh\ntouch {marker}\n"
    apps = argo_repo / "clusters/prod/apps"
    # a `ksops` of the repository's own, next to the kustomization and on PATH: gitops-kit uses its stand-in
    for folder in (apps, tmp_path / "bin"):
        folder.mkdir(exist_ok=True)
        (folder / "ksops").write_text(program)
        (folder / "ksops").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{Path(shutil.which('kubectl') or shutil.which('kustomize')).parent}")
    report = validate([argo_repo])
    assert not marker.exists()
    assert not [f for f in report.findings if f.rule_id == "kustomize-build"]

    # another exec function beside the KSOPS generator: no plugin is enabled for that overlay at all
    _write(argo_repo, {
        "clusters/prod/apps/kustomization.yaml": "resources:\n  - web.yaml\ngenerators:\n  - secret-generator.yaml\n"
                                                 "  - other.yaml\n",
        "clusters/prod/apps/other.yaml": "apiVersion: example.com/v1\nkind: Other\nmetadata:\n  name: other\n  annotations:\n"
                                         "    config.kubernetes.io/function: |\n      exec:\n        path: ./ksops\n",
    })
    report = validate([argo_repo])
    assert not marker.exists()
    assert any("KSOPS generator not emulated" in note and "example.com/v1/Other" in note for note in report.notifications)
    builds = [f for f in report.findings if f.rule_id == "kustomize-build"]
    assert len(builds) == 1 and builds[0].file == "clusters/prod/apps/kustomization.yaml"


def test_files_outside_the_repository_are_never_read(argo_repo, tmp_path):
    outside = tmp_path / "outside.sops.yaml"
    shutil.copy(argo_repo / "clusters/prod/secrets/db.sops.yaml", outside)
    outside.write_text(outside.read_text().replace("name: db", "name: stolen"))
    _write(argo_repo, {"clusters/prod/apps/secret-generator.yaml": GENERATOR.format(files="  - ../../../../outside.sops.yaml\n")})
    report = validate([argo_repo])
    from gitops_kit.config import load_config
    from gitops_kit.discover import discover
    from gitops_kit.render import render_overlays

    config = load_config(argo_repo)
    rendered = render_overlays(discover([argo_repo], config), config)
    assert not [d for d in rendered.overlays["clusters/prod/apps"] if d.kind == "Secret"]
    ksops = [f for f in report.findings if f.rule_id == "ksops-decryption"]
    assert [(f.file, f.line) for f in ksops if "outside the repository" in f.message] == [("clusters/prod/apps/secret-generator.yaml", 10)]


def test_cached_render_never_holds_plaintext(argo_repo, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GITOPS_KIT_CACHE_DIR", str(cache))
    validate([argo_repo])
    stored = [p for p in cache.rglob("*") if p.is_file() and "versions" not in p.parts]
    assert stored, "the KSOPS render (ciphertext only) is cached"
    assert all(CANARY.encode() not in p.read_bytes() for p in stored)
    assert any(b"ENC[AES256_GCM," in p.read_bytes() for p in stored)


def test_a_broken_ksops_overlay_still_gets_its_encrypted_files_checked(argo_repo):
    (argo_repo / "clusters/prod/apps/kustomization.yaml").write_text(
        "resources:\n  - web.yaml\n  - missing.yaml\ngenerators:\n  - secret-generator.yaml\n"
    )
    encrypted = argo_repo / "clusters/prod/secrets/db.sops.yaml"
    encrypted.write_text(encrypted.read_text().replace("password: ENC[AES256_GCM,data:", "password: ENC[AES256_GCM,data:!"))
    report = validate([argo_repo])
    assert [f.file for f in report.findings if f.rule_id == "kustomize-build"] == ["clusters/prod/apps/kustomization.yaml"]
    # not rendered, so checked as the file it is
    assert [(f.file, f.overlays) for f in report.findings if f.rule_id == "secret-not-encrypted"] == [
        ("clusters/prod/secrets/db.sops.yaml", ())
    ]

