"""SOPS for generated Secrets: per-cluster age recipients, the `.sops.yaml` rule, encryption before writing.

Plaintext exists only inside a private temporary directory and in sops' stdin; the work tree only ever
receives ciphertext. An encrypted file is written once and then left alone (its ciphertext changes on
every encryption and the user replaces the placeholder values with `sops FILE`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..fileio import private_temp_dir
from .names import GenerateError

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
    identity: str | None = None  # only for a newly generated key; written at apply time, never printed


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


def encrypt_new_secrets(
    files: Mapping[str, bytes], secret_paths: list[str], sops_config: bytes, meanwhile: Callable[[Callable[[], bool]], None] | None = None
) -> dict[str, bytes]:
    """Ciphertext for each secret path; the plaintext never leaves a 0700 temporary directory.

    `meanwhile` (called exactly once, on this thread) is work that does not need the ciphertext: it runs
    while the sops processes do, instead of after them, and is given a function that tells whether
    they still are (work it may cut short)."""
    if not secret_paths:
        if meanwhile is not None:
            meanwhile(_nothing_running)
        return {}
    from ..secrets.sops import encrypt_bytes, find_sops

    find_sops()  # missing sops: one line with the install hint, before anything is written
    plaintexts = {path: files[path] for path in secret_paths}  # `meanwhile` may add to `files`
    with private_temp_dir("gitops-kit-sops-") as temp:
        config_path = Path(temp) / SOPS_CONFIG
        config_path.write_bytes(sops_config)

        def encrypt(path: str) -> bytes:
            return encrypt_bytes(plaintexts[path], file_path=Path(temp) / path, config_path=config_path)

        from concurrent.futures import ThreadPoolExecutor

        # each sops run is mostly process start-up: run them side by side (the threads only wait on pipes);
        # results are taken in path order, so the first failing path is the one reported, every run
        with ThreadPoolExecutor(max_workers=min(len(secret_paths), MAX_CONCURRENT_SOPS)) as pool:
            pending = [pool.submit(encrypt, path) for path in secret_paths]
            if meanwhile is not None:
                # on an error the pool still waits for sops before the temp dir goes
                meanwhile(lambda: not all(future.done() for future in pending))
            return {path: future.result() for path, future in zip(secret_paths, pending)}


def _nothing_running() -> bool:
    return False


def write_new_key(recipient: Recipient) -> Path | None:
    if recipient.identity is None or recipient.key_path is None:
        return None
    from ..secrets.keys import write_identity

    write_identity(recipient.key_path, recipient.identity, recipient.recipient)
    return recipient.key_path
