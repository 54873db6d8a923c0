"""Unwrap a sops data key from a PGP stanza with GnuPG, as sops itself does (it runs `gpg --decrypt`).

Keys come from `--pgp-key-file` files, imported into a throwaway keyring that is deleted afterwards
(its gpg-agent stopped), or else from the user's own keyring (`GNUPGHOME`, `~/.gnupg`), as sops reads
it. gpg never prompts: a passphrase-protected key simply does not unwrap anything.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from .. import tools
from ..errors import UserError

_TIMEOUT = 30.0
_DECRYPT = ("--batch", "--no-tty", "--quiet", "--pinentry-mode", "loopback", "--decrypt")


def _short_temp_dir() -> str:
    """gpg-agent's sockets live in the keyring folder and a socket path has ~100 bytes at most."""
    base = tempfile.gettempdir()
    return base if len(base) <= 48 or not os.path.isdir("/tmp") else "/tmp"


class PgpKeyring:
    """A context manager; `unavailable` says why PGP files cannot be verified (None when they can)."""

    def __init__(self, key_files: list[Path], environ: Mapping[str, str] | None = None) -> None:
        self.key_files = key_files
        self.environ = dict(os.environ if environ is None else environ)
        self.gpg: str | None = None
        self.home: str | None = None
        self._temporary: str | None = None
        self.unavailable: str | None = None

    @property
    def explicit(self) -> bool:
        """Keys the user named: a file they do not decrypt is a problem, not just "not checked"."""
        return bool(self.key_files)

    def __enter__(self) -> "PgpKeyring":
        try:
            self.gpg = tools.find_tool("gpg", "install GnuPG (Debian: apt-get install gnupg)")
        except tools.ToolMissing:
            self.unavailable = "gpg (GnuPG) is not installed"
            return self
        if self.key_files:
            self._temporary = tempfile.mkdtemp(prefix="gitops-kit-gnupg-", dir=_short_temp_dir())
            os.chmod(self._temporary, 0o700)
            self.home = self._temporary
            for key_file in self.key_files:
                self._import(key_file)
        else:
            home = self.environ.get("GNUPGHOME") or os.path.join(self.environ.get("HOME", "~"), ".gnupg")
            if os.path.isdir(home):
                self.home = home
            else:
                self.unavailable = f"no --pgp-key-file and no GnuPG keyring at {home}"
        return self

    def _env(self) -> dict[str, str]:
        return tools.minimal_env({"GNUPGHOME": self.home or ""})

    def _import(self, key_file: Path) -> None:
        if not key_file.is_file():
            self.__exit__()
            raise UserError(f"{key_file}: no such PGP key file")
        result = tools.run([self.gpg or "gpg", "--batch", "--no-tty", "--quiet", "--import", str(key_file)],
                           timeout=_TIMEOUT, env=self._env())
        if result.returncode != 0:
            self.__exit__()
            detail = (result.error_text.splitlines() or ["no error message"])[-1]
            raise UserError(f"{key_file}: gpg cannot import it as a PGP key (an armored private key block is expected): {detail}")

    def data_key(self, entries: list[Any]) -> bytes | None:
        """The 32-byte data key from the first `sops.pgp` stanza a key here can decrypt."""
        if self.unavailable or self.gpg is None:
            return None
        for entry in entries:
            enc = entry.get("enc") if isinstance(entry, dict) else None
            if not isinstance(enc, str) or "BEGIN PGP MESSAGE" not in enc:
                continue
            try:
                result = tools.run([self.gpg, *_DECRYPT], timeout=_TIMEOUT, env=self._env(), input=enc.encode())
            except tools.ToolError:
                continue
            if result.returncode == 0 and len(result.stdout) == 32:
                return result.stdout
        return None

    def __exit__(self, *exc: object) -> None:
        if self._temporary is None:
            return
        if self.gpg:
            gpgconf = shutil.which("gpgconf", path=os.path.dirname(self.gpg)) or shutil.which("gpgconf")
            if gpgconf:
                try:
                    tools.run([gpgconf, "--kill", "gpg-agent"], timeout=_TIMEOUT, env=self._env())
                except tools.ToolError:
                    pass
        shutil.rmtree(self._temporary, ignore_errors=True)
        self._temporary = None
