"""The real sops CLI, run safely: no shell, a timeout, a minimal environment, plaintext only via pipes.

Every call passes `--config` explicitly (sops otherwise searches from the working directory, not
the file's) and `--filename-override` so creation rules match the target path when the plaintext
arrives on stdin. Exit codes become typed errors whose message says what to do.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from .. import tools
from ..errors import ToolError

MINIMUM_VERSION = (3, 10, 0)  # stdin encrypt/decrypt with --filename-override
INSTALL_HINT = "install it with: pip install 'gitops-kit[sops]'"
TIMEOUT = 60.0

#: Identity/config variables passed through to sops; recipient variables are deliberately dropped
#: because they make sops ignore the `.sops.yaml` rule's keys.
_KEEP_ENV = ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "XDG_CONFIG_HOME", "GNUPGHOME")


class SopsError(ToolError):
    """sops failed; `returncode` is its exit code."""

    def __init__(self, message: str, returncode: int = 1) -> None:
        super().__init__(message)
        self.returncode = returncode


class SopsMissing(SopsError):
    """sops is not installed or too old."""


class MacMismatch(SopsError):
    """The file was changed outside sops (exit 51)."""


class ValueTampered(SopsError):
    """An encrypted value or its key name was changed (AES-GCM authentication failed, exit 25)."""


class KeyNotFound(SopsError):
    """No available identity can decrypt the file's data key (exit 128)."""


class NoMatchingRule(SopsError):
    """`.sops.yaml` has no creation rule for the path."""


class AlreadyEncrypted(SopsError):
    """encrypt was asked to encrypt a file that already has sops metadata (exit 203)."""


class NotEncrypted(SopsError):
    """decrypt was given a file without sops metadata."""


_BY_CODE: dict[int, tuple[type[SopsError], str]] = {
    51: (MacMismatch, "MAC mismatch: the file was edited outside sops; re-encrypt it with `gitops-kit secrets encrypt`"),
    24: (MacMismatch, "the MAC cannot be decrypted: the sops metadata (lastmodified or mac) was edited"),
    25: (ValueTampered, "an encrypted value or a key name was changed outside sops; restore it from git history"),
    128: (KeyNotFound, "no age key can decrypt this file; pass --age-key-file or set SOPS_AGE_KEY_FILE"),
    203: (AlreadyEncrypted, "already encrypted (has a sops block); decrypt or edit it instead"),
    92: (SopsError, "nothing to encrypt: the input is empty"),
    100: (SopsError, "file not found"),
}


#: binaries whose version was already checked in this process (one `sops --version` per run)
_CHECKED: set[str] = set()


def find_sops() -> str:
    """Path of a sops binary at least MINIMUM_VERSION, else `SopsMissing` with the install hint."""
    return start_version_check().verdict()


class VersionCheck:
    """`sops --version` started now, its verdict read later (`verdict`): work that needs the binary can run
    beside the check, as long as its result is only used once the verdict is in."""

    def __init__(self) -> None:
        try:
            self.binary = tools.find_tool("sops", INSTALL_HINT)
        except tools.ToolMissing:
            raise SopsMissing(f"sops: not found; {INSTALL_HINT}") from None
        self._running: tools.Running | None = None
        if self.binary not in _CHECKED:
            self._running = tools.start([self.binary, "--version", "--disable-version-check"], env=_env(), tool="sops")

    def verdict(self) -> str:
        """The binary's path once its version is known to be recent enough; else `SopsMissing`."""
        running, self._running = self._running, None
        if running is not None:
            result = running.finish(timeout=TIMEOUT)
            found = tools.parse_version(result.text.splitlines()[0] if result.text else "")
            try:
                tools.require_version("sops", found, MINIMUM_VERSION)
            except ToolError as error:
                raise SopsMissing(f"{error}; {INSTALL_HINT}") from None
            _CHECKED.add(self.binary)
        return self.binary

    def cancel(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.kill()


def start_version_check() -> VersionCheck:
    """Raises `SopsMissing` at once when there is no sops; the version's verdict comes from `verdict()`."""
    return VersionCheck()


def _env(age_key_file: Path | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = tools.minimal_env({"SOPS_DISABLE_VERSION_CHECK": "1"}, keep=_KEEP_ENV)
    if age_key_file is not None:
        env["SOPS_AGE_KEY_FILE"] = os.fspath(age_key_file)
    if extra:
        env.update(extra)
    return env


def _raise_for(result: tools.Result, subject: Path, action: str) -> None:
    if result.returncode == 0:
        return
    detail = result.error_text.splitlines()[-1] if result.error_text else ""
    if result.returncode in _BY_CODE:
        kind, message = _BY_CODE[result.returncode]
    elif "no matching creation rules" in detail:
        kind, message = NoMatchingRule, "no creation rule in .sops.yaml matches this path; add one (gitops-kit secrets keygen --cluster NAME)"
    elif "metadata not found" in detail:
        kind, message = NotEncrypted, "not a sops-encrypted file (no sops metadata)"
    elif "config file not found" in detail:
        kind, message = NoMatchingRule, ".sops.yaml not found or has no creation rules"
    else:
        kind, message = SopsError, f"sops {action} failed (exit {result.returncode}): {_redact(detail)}"
    raise kind(f"{subject}: {message}", result.returncode)


def _redact(detail: str) -> str:
    # sops quotes input fragments in some messages; they may be plaintext, so drop anything quoted
    return re.sub(r"(\"[^\"]*\"|'[^']*'|`[^`]*`)", "<redacted>", detail)[:200]


def encrypt_bytes(plaintext: bytes, *, file_path: Path, config_path: Path, input_type: str = "yaml") -> bytes:
    """Encrypt `plaintext` as sops would for `file_path` under `config_path`'s creation rules."""
    return start_encrypt(plaintext, file_path=file_path, config_path=config_path, input_type=input_type).result()


class Encrypting:
    """A sops process encrypting one plaintext (`start_encrypt`); `result` waits for the ciphertext."""

    def __init__(self, running: tools.Running, file_path: Path) -> None:
        self._running = running
        self._file_path = file_path

    def done(self) -> bool:
        return self._running.done()

    def result(self) -> bytes:
        result = self._running.finish(timeout=TIMEOUT)
        _raise_for(result, self._file_path, "encrypt")
        return result.stdout

    def kill(self) -> None:
        self._running.kill()


def start_encrypt(
    plaintext: bytes, *, file_path: Path, config_path: Path, input_type: str = "yaml", binary: str | None = None
) -> Encrypting:
    """Start sops encrypting `plaintext` (its whole input, handed over at once: `tools.Running.send`) and
    return without waiting.

    `binary`: a `VersionCheck`'s binary, whose verdict the caller reads before it uses the ciphertext;
    without it the version is checked here first (`find_sops`)."""
    binary = binary or find_sops()
    config_path = Path(config_path).resolve()
    args = [
        binary, "--config", os.fspath(config_path), "encrypt",
        "--filename-override", os.path.abspath(file_path),
        "--input-type", input_type, "--output-type", input_type,
    ]
    # cwd = the config's directory so nothing sops writes or resolves lands in the caller's tree.
    running = tools.start(args, env=_env(), cwd=config_path.parent, stdin=True, tool="sops")
    # Sent now, possibly before a version check's verdict (`binary`): the check is about features, not
    # trust (it is the sops the user chose, reading its stdin only); a too-old one's output is discarded.
    running.send(plaintext)
    return Encrypting(running, Path(file_path))


def decrypt_bytes(
    ciphertext: bytes,
    *,
    file_path: Path,
    input_type: str = "yaml",
    age_key_file: Path | None = None,
    config_path: Path | None = None,
) -> bytes:
    """Decrypt sops ciphertext; the plaintext is returned, never written anywhere."""
    binary = find_sops()
    args = [binary]
    if config_path is not None:
        args += ["--config", os.fspath(Path(config_path).resolve())]
    args += [
        "decrypt", "--filename-override", os.path.abspath(file_path),
        "--input-type", input_type, "--output-type", input_type,
    ]
    cwd = Path(config_path).resolve().parent if config_path else _existing_parent(Path(file_path))
    result = tools.run(args, input=ciphertext, env=_env(age_key_file), timeout=TIMEOUT, cwd=cwd, tool="sops")
    _raise_for(result, Path(file_path), "decrypt")
    return result.stdout


def updatekeys(file_path: Path, *, config_path: Path, age_key_file: Path | None = None) -> bool:
    """Re-wrap the data key for the recipients of the file's creation rule; True if the file changed."""
    binary = find_sops()
    config_path = Path(config_path).resolve()
    args = [binary, "--config", os.fspath(config_path), "updatekeys", "--yes", os.path.abspath(file_path)]
    result = tools.run(args, env=_env(age_key_file), timeout=TIMEOUT, cwd=config_path.parent, tool="sops")
    _raise_for(result, Path(file_path), "updatekeys")
    return "already up to date" not in result.error_text


def _existing_parent(path: Path) -> Path:
    # A not-yet-written target's directory may not exist; sops only needs somewhere to stand.
    for parent in Path(os.path.abspath(path)).parents:
        if parent.is_dir():
            return parent
    return Path("/")


def input_type_for(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".env": "dotenv", ".ini": "ini"}.get(suffix, "binary")
