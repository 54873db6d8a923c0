"""The fleet's Cluster Mesh CA: one CA shared by every mesh member, kept outside the repository.

Cilium's certgen issues each cluster's clustermesh-apiserver and remote certificates from Secret
`kube-system/cilium-ca`; clusters trust each other only when that CA is the same everywhere. The CA is
generated once per fleet next to the age keys (`<key dir>/<repo>/cluster-mesh-ca.pem`, mode 0600) and written
into each new mesh member's `cilium-ca` Secret, which is SOPS-encrypted before it reaches the work tree.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

from .names import GenerateError
from .secrets import default_key_path

MARKER_CRT = "GITOPS-KIT-MESH-CA-CRT"
MARKER_KEY = "GITOPS-KIT-MESH-CA-KEY"
CA_SECRET_NAME = "cilium-ca.sops.yaml"
VALID_DAYS = 3 * 365


@dataclass(frozen=True)
class MeshCA:
    pem: bytes = field(repr=False)  # private key + certificate, PEM: never in a traceback or log
    path: Path
    new: bool

    def fill(self, content: bytes) -> bytes:
        """A rendered cilium-ca Secret with the CA in place of the markers."""
        key, _, cert = self.pem.partition(b"-----BEGIN CERTIFICATE-----")
        cert = b"-----BEGIN CERTIFICATE-----" + cert
        return content.replace(MARKER_CRT.encode(), base64.b64encode(cert)).replace(MARKER_KEY.encode(), base64.b64encode(key))

    def write(self) -> Path | None:
        if not self.new:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.pem)
        return self.path


def ca_path(repo: Path) -> Path:
    return default_key_path(repo, "cluster-mesh-ca").with_suffix(".pem")


def fleet_ca(repo: Path, members_with_ca: list[str]) -> MeshCA:
    """The stored CA; a new one when no mesh member has a CA yet; an error when members have one we cannot read."""
    path = ca_path(repo)
    if path.is_file():
        return MeshCA(path.read_bytes(), path, new=False)
    if members_with_ca:
        raise GenerateError(
            f"the fleet's Cluster Mesh CA is needed for the new mesh member but {path} is missing "
            f"({', '.join(members_with_ca)} already use it): copy it from the machine that generated them, "
            "or decrypt one of their cilium-ca Secrets with sops and save ca.key + ca.crt there (PEM, mode 0600)"
        )
    return MeshCA(_new_ca(), path, new=True)


def _new_ca() -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cilium CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)
