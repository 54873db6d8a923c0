"""SOPS for generated Secrets: per-cluster age recipients, the `.sops.yaml` rule, encryption before writing.

Plaintext exists only inside a private temporary directory and in sops' stdin; the work tree only ever
receives ciphertext. An encrypted file is written once and then left alone (its ciphertext changes on
every encryption and the user replaces the placeholder values with `sops FILE`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from ..errors import ToolError
from ..fileio import private_temp_dir
from .names import GenerateError

if TYPE_CHECKING:
    from ..secrets.sops import Encrypting

SOPS_CONFIG = ".sops.yaml"
SECRET_SUFFIX = ".sops.yaml"
MAX_CONCURRENT_SOPS = 4  # a fleet of many new clusters still starts a bounded number of sops processes


def is_secret_path(path: str) -> bool:
    """A generated Secret (`…/name.sops.yaml`), not the `.sops.yaml` configuration itself."""
    name = path.rsplit("/", 1)[-1]
    return name.endswith(SECRET_SUFFIX) and name != SOPS_CONFIG


def cluster_path_regex(cluster: str, flavor: str = "flux") -> str:
    if flavor == "argocd":
        return rf"^clusters/{re.escape(cluster)}/.*\.sops\.ya?ml$"
    return rf"^(infrastructure/(controllers|configs)|apps)/{re.escape(cluster)}/.*\.sops\.ya?ml$"


def secret_cluster(path: str) -> str:
    """The cluster a generated secret belongs to: `clusters/<c>/…` (Argo CD) or `…/<c>/<file>` (Flux)."""
    parts = path.split("/")
    return parts[1] if parts[0] == "clusters" else parts[-2]


@dataclass(frozen=True)
class Recipient:
    recipient: str
    key_path: Path | None = None  # where a newly generated identity will be written
    identity: str | None = field(default=None, repr=False)  # only for a newly generated key; written at apply time, never printed


def default_key_path(repo: Path, cluster: str) -> Path:
    base = Path(os.environ.get("GITOPS_KIT_KEY_DIR") or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "gitops-kit" / "age")
    return base / repo.resolve().name / f"{cluster}.agekey"


def choose_recipient(repo: Path, cluster: str, given: str | None, sops_text: str | None, flavor: str = "flux") -> Recipient:
    """The recipient given, else the one `.sops.yaml` already uses for the cluster, else a key file's, else a new key."""
    if given:
        return Recipient(_check_recipient(given))
    if sops_text:
        from ..secrets.sops_config import _csv_or_list  # same parsing sops applies to `age:`
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(sops_text) or {}
        for rule in data.get("creation_rules") or []:
            if isinstance(rule, dict) and rule.get("path_regex") == cluster_path_regex(cluster, flavor) and rule.get("age"):
                return Recipient(_csv_or_list(rule["age"])[0])
    key_path = default_key_path(repo, cluster)
    if key_path.is_file():
        for line in key_path.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("# public key: "):
                return Recipient(_check_recipient(line.split(": ", 1)[1].strip()))
    from ..secrets.keys import generate_identity

    identity, recipient = generate_identity()
    return Recipient(recipient, key_path, identity)


def _check_recipient(text: str) -> str:
    from pyrage import x25519

    try:
        x25519.Recipient.from_str(text)
    except Exception:  # pyrage raises its own error types; any failure means the same to the user
        raise GenerateError(f"--age-recipient {text[:16]!r}…: not an age X25519 recipient (age1…)") from None
    return text


def sops_config_with_rule(sops_text: str | None, cluster: str, recipient: str, flavor: str = "flux") -> bytes:
    """`.sops.yaml` content with the cluster's creation rule (round-trip edit of the existing file)."""
    from ..secrets.sops_config import ensure_creation_rule

    with private_temp_dir("gitops-kit-sops-") as temp:
        path = Path(temp) / SOPS_CONFIG
        if sops_text is not None:
            path.write_text(sops_text, encoding="utf-8")
        ensure_creation_rule(path, cluster_path_regex(cluster, flavor), [recipient])
        return path.read_bytes()


class Encryption:
    """sops encrypting `plaintexts` (path → content) from the moment this is made; `finish` returns the
    ciphertexts in path order, `cancel` stops whatever still runs.

    Made as soon as the plaintexts are known, so sops works on the other core while this process goes on
    (rendering the rest of the templates). The plaintext reaches sops through its stdin only; the private
    temporary directory holds `.sops.yaml`. The version check is the `sops.version` sops writes into each
    ciphertext (`sops --version` only when that is missing, or when an encryption failed: a too-old sops
    is then what is reported). Raises `SopsMissing` at once when there is no sops at all."""

    def __init__(self, plaintexts: Mapping[str, bytes], sops_config: bytes) -> None:
        from contextlib import ExitStack

        from ..secrets.sops import VersionCheck

        self.plaintexts = dict(plaintexts)
        self._waiting = list(self.plaintexts)
        self._started: dict[str, "Encrypting"] = {}
        self._stack = ExitStack()
        self._outcome: dict[str, bytes] | ToolError | None = None
        self._check = VersionCheck()
        try:
            self._temp = Path(self._stack.enter_context(private_temp_dir("gitops-kit-sops-")))
            self._config = self._temp / SOPS_CONFIG
            self._config.write_bytes(sops_config)
            self._start_more()
        except BaseException:
            self.cancel()
            raise

    def _start_more(self) -> None:
        from ..secrets.sops import start_encrypt

        # a fleet of many new clusters still runs a bounded number of sops processes at once
        while self._waiting and sum(not e.done() for e in self._started.values()) < MAX_CONCURRENT_SOPS:
            path = self._waiting.pop(0)
            self._started[path] = start_encrypt(
                self.plaintexts[path], file_path=self._temp / path, config_path=self._config, check=self._check
            )

    def running(self) -> bool:
        self._start_more()
        return bool(self._waiting) or not all(e.done() for e in self._started.values())

    def finish(self) -> dict[str, bytes]:
        """The ciphertexts; the first failing path (in order) is the one reported, every run. Asked again,
        the same answer (or the same error)."""
        if self._outcome is None:
            try:
                self._outcome = self._collect()
            except ToolError as error:
                self._outcome = error
            finally:
                self.cancel()
        if isinstance(self._outcome, ToolError):
            raise self._outcome
        return dict(self._outcome)

    def _collect(self) -> dict[str, bytes]:
        ciphertexts = {}
        for path in self.plaintexts:
            self._start_more()  # the ones before `path` are done: `path` itself is started by now
            ciphertexts[path] = self._started[path].result()  # the version check included (Encrypting)
        return ciphertexts

    def cancel(self) -> None:
        """Stop and reap every sops process (still running, or finished but not collected) and remove the
        temporary directory; asked again, nothing more happens."""
        self._waiting.clear()
        for encrypting in self._started.values():
            # a finished one too: until its output is collected, its pipes are open and it is not reaped
            encrypting.kill()
        self._stack.close()


def encrypt_new_secrets(
    plaintexts: Mapping[str, bytes], sops_config: bytes, meanwhile: Callable[[Callable[[], bool]], None] | None = None,
    started: Encryption | None = None,
) -> dict[str, bytes]:
    """Ciphertext for each plaintext (path → content); the plaintext never reaches a file.

    `started`: an `Encryption` of exactly these plaintexts, made earlier. `meanwhile` (called exactly once,
    on this thread) is work that does not need the ciphertext: it runs while the sops processes do, instead
    of after them, and is given a function that tells whether they still are (work it may cut short)."""
    encryption = started
    if encryption is None and plaintexts:
        encryption = Encryption(plaintexts, sops_config)  # missing sops: one line with the install hint
    if encryption is None:
        if meanwhile is not None:
            meanwhile(_nothing_running)
        return {}
    try:
        if meanwhile is not None:
            meanwhile(encryption.running)
        return encryption.finish()
    finally:
        encryption.cancel()


def _nothing_running() -> bool:
    return False


def write_new_key(recipient: Recipient) -> Path | None:
    if recipient.identity is None or recipient.key_path is None:
        return None
    from ..secrets.keys import write_identity

    write_identity(recipient.key_path, recipient.identity, recipient.recipient)
    return recipient.key_path
