"""age identities for clusters and admins (via pyrage; no age binary needed)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError


def generate_identity() -> tuple[str, str]:
    """A fresh X25519 age identity: (`AGE-SECRET-KEY-1…`, `age1…` recipient)."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def write_identity(path: Path, identity: str, recipient: str) -> None:
    """Write an identity file in age-keygen's format, mode 0600, atomically; never overwrite.

    The file is created with O_EXCL under a temporary name and hard-linked into place, so a
    concurrent writer or an existing key can never be clobbered and no reader sees half a key.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise UserError(f"{path}: already exists; refusing to overwrite an age identity (choose another --output)")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f"# public key: {recipient}\n{identity}\n".encode("ascii")
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            raise UserError(f"{path}: already exists; refusing to overwrite an age identity") from None
    finally:
        temp.unlink(missing_ok=True)


def read_identities(text: str) -> list[str]:
    """The `AGE-SECRET-KEY-1…` lines of a key file or `SOPS_AGE_KEY` value (comments, blanks skipped)."""
    return [token for token in text.split() if token.startswith("AGE-SECRET-KEY-")]
