"""Offline verification of sops files with an age identity or a PGP key: data key, every value's GCM tag, the MAC.

Reimplements sops' decrypt-side checks (sops.go Tree.Decrypt) so a repository can be verified in CI
without the sops binary. Problems name the file, the line and the key path — never a value.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from .keys import read_identities
from .sopsfile import EncValue, SopsFile, SopsFileError, age_recipients, as_list, parse_enc, parse_json, parse_yaml, selection_rule, should_be_encrypted

if TYPE_CHECKING:
    from .pgp import PgpKeyring


@dataclass(frozen=True)
class Problem:
    path: str  # file
    line: int
    key: str  # dotted key path inside the document, "" for file-level problems
    code: str  # sops-mac, sops-value, sops-key, sops-format
    message: str

    def __str__(self) -> str:
        where = f" at {self.key}" if self.key else ""
        return f"{self.path}:{self.line}: {self.code}: {self.message}{where}"


def load_identities(age_key_file: Path | None = None, environ: dict[str, str] | None = None) -> list[Any]:
    """Identities the way sops finds them: --age-key-file, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, keys.txt."""
    from pyrage import x25519

    env = os.environ if environ is None else environ
    texts: list[str] = []
    files = [age_key_file] if age_key_file else []
    if env.get("SOPS_AGE_KEY_FILE"):
        files.append(Path(env["SOPS_AGE_KEY_FILE"]))
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "~"), ".config")
    default = Path(config_home) / "sops" / "age" / "keys.txt"
    for path in files:
        try:
            texts.append(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise UserError(f"{path}: cannot read the age key file ({error.strerror})") from None
    if default.is_file() and not files:
        texts.append(default.read_text(encoding="utf-8"))
    if env.get("SOPS_AGE_KEY"):
        texts.append(env["SOPS_AGE_KEY"])
    identities = []
    for text in texts:
        for token in read_identities(text):
            try:
                identities.append(x25519.Identity.from_str(token))
            except Exception:
                # post-quantum and plugin identities are not supported by pyrage; skip, never echo the key
                continue
    return identities


def rfc3339(value: str) -> str:
    """Go's time.Parse(RFC3339) then Format(RFC3339): the AAD sops uses for the MAC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SopsFileError("sops.lastmodified is not an RFC3339 time") from None
    offset = parsed.utcoffset()
    base = parsed.replace(microsecond=0, tzinfo=None).isoformat()
    if not offset:
        return base + "Z"
    return base + parsed.replace(microsecond=0).isoformat()[-6:]


def _gcm_decrypt(key: bytes, enc: EncValue, aad: bytes) -> bytes | None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(enc.iv, enc.data + enc.tag, aad)
    except InvalidTag:
        return None


def data_key(metadata: dict[str, Any], identities: list[Any]) -> bytes | None:
    import pyrage

    for entry in as_list(metadata.get("age")):
        if not isinstance(entry, dict) or not entry.get("enc") or not identities:
            continue
        try:
            key = pyrage.decrypt(str(entry["enc"]).encode(), identities)
        except Exception:
            continue
        if len(key) == 32:
            return key
    return None


def _typed(plain: bytes, kind: str) -> bytes:
    # sops parses the decrypted text back into its type, and ToBytes writes it again
    if kind == "bool":
        return b"True" if plain.decode() in ("1", "t", "T", "TRUE", "true", "True") else b"False"
    return plain


def verify_document_set(name: str, parsed: SopsFile, identities: list[Any], pgp: "PgpKeyring | None" = None) -> list[Problem]:
    metadata = parsed.metadata
    if metadata is None:
        return [Problem(name, 1, "", "sops-format", "no sops metadata in the first document; the file is not encrypted")]
    line = parsed.metadata_line or 1
    try:
        rule = selection_rule(metadata)
        aad_time = rfc3339(str(metadata.get("lastmodified") or ""))
        if rule[0].endswith("_regex"):
            re.compile(rule[1])
    except SopsFileError as error:
        return [Problem(name, line, "sops", "sops-format", str(error))]
    except re.error:
        return [Problem(name, line, f"sops.{rule[0]}", "sops-format", "the file's selection regex is not valid")]
    if metadata.get("key_groups"):
        return [_unverified(name, line, "key_groups (Shamir secret sharing) need several keys combined")]
    key = data_key(metadata, identities)
    pgp_entries = [e for e in as_list(metadata.get("pgp")) if isinstance(e, dict)]
    if key is None and pgp_entries and pgp is not None:
        key = pgp.data_key(pgp_entries)
    if key is None:
        return [_no_key(name, line, metadata, identities, pgp_entries, pgp)]
    problems: list[Problem] = []
    mac_only = metadata.get("mac_only_encrypted") is True
    digest = hashlib.sha512()
    if mac_only:
        digest.update(hashlib.sha256(b"sops").digest())
    for leaves in parsed.documents:
        for leaf in leaves:
            if leaf.value is None:
                continue
            encrypted = should_be_encrypted(leaf.keys, rule)
            if not encrypted:
                if not mac_only:
                    from .sopsfile import go_bytes

                    digest.update(go_bytes(leaf.value))
                continue
            if leaf.value == "":
                continue
            if not isinstance(leaf.value, str):
                problems.append(Problem(name, leaf.line, leaf.dotted, "sops-value", "value should be encrypted but is plaintext"))
                continue
            enc = parse_enc(leaf.value)
            if isinstance(enc, str):
                problems.append(Problem(name, leaf.line, leaf.dotted, "sops-value", f"value should be encrypted but is {enc}"))
                continue
            plain = _gcm_decrypt(key, enc, leaf.aad)
            if plain is None:
                problems.append(Problem(name, leaf.line, leaf.dotted, "sops-value", "encrypted value fails authentication: the value or its key name was changed outside sops"))
                continue
            if enc.type != "comment":
                digest.update(_typed(plain, enc.type))
    mac_value = metadata.get("mac")
    if not mac_value:
        problems.append(Problem(name, line, "sops.mac", "sops-mac", "the file has no MAC; re-encrypt it with sops"))
        return problems
    mac_enc = parse_enc(str(mac_value))
    stored = None if isinstance(mac_enc, str) else _gcm_decrypt(key, mac_enc, aad_time.encode())
    if stored is None:
        problems.append(Problem(name, line, "sops.mac", "sops-mac", "the MAC cannot be decrypted: sops.lastmodified or sops.mac was edited"))
    elif problems:
        pass  # values already failed; a MAC comparison would only repeat that
    elif stored.decode("ascii", "replace") != digest.hexdigest().upper():
        problems.append(Problem(name, line, "sops.mac", "sops-mac", "MAC mismatch: a value was changed outside sops (sops decrypt fails with exit 51)"))
    return problems


#: problems that mean "not checked", not "broken": `secrets verify` exits 3 when these are all it found
UNVERIFIED = "sops-unverified"
_SERVICE_KEYS = {"kms": "AWS KMS", "gcp_kms": "GCP KMS", "azure_kv": "Azure Key Vault", "hc_vault": "HashiCorp Vault", "hckms": "HuaweiCloud KMS"}


def _unverified(name: str, line: int, why: str) -> Problem:
    return Problem(name, line, "sops", UNVERIFIED, f"cannot verify offline: {why}; use `sops decrypt` (it checks the MAC)")


def _no_key(name: str, line: int, metadata: dict[str, Any], identities: list[Any], pgp_entries: list[Any], pgp: "PgpKeyring | None") -> Problem:
    """Why no data key: a key that does not fit is a problem; a key type gitops-kit cannot use is "unverified"."""
    age = age_recipients(metadata)
    classic_age = [r for r in age if not r.startswith("age1pq")]
    pgp_usable = bool(pgp_entries) and pgp is not None and pgp.unavailable is None
    # keys the user named that do not fit are a problem; an unrelated personal keyring only means "not checked"
    if (classic_age and identities) or (pgp_usable and pgp is not None and pgp.explicit):
        tried = [kind for kind, used in (("age identities", classic_age and identities), ("PGP keys", pgp_usable)) if used]
        return Problem(name, line, "sops", "sops-key",
                       f"none of the given {' or '.join(tried)} can decrypt the data key (--age-key-file, --pgp-key-file)")
    reasons = []
    if classic_age:
        reasons.append("no age identity given (--age-key-file, SOPS_AGE_KEY_FILE)")
    if len(classic_age) < len(age):
        reasons.append("post-quantum age recipients are not supported offline")
    if pgp_entries:
        if pgp is None:
            why = "no PGP key given (--pgp-key-file)"
        else:
            why = pgp.unavailable or f"no key in the GnuPG keyring {pgp.home} can decrypt it (pass --pgp-key-file)"
        reasons.append(f"PGP: {why}")
    services = [label for field, label in _SERVICE_KEYS.items() if metadata.get(field)]
    if services:
        reasons.append(f"the data key is also wrapped for {', '.join(services)}, which needs that service")
    return _unverified(name, line, "; ".join(reasons) or "the file lists no recipient")


def verify_file(path: Path, identities: list[Any], display: str | None = None, pgp: "PgpKeyring | None" = None) -> list[Problem]:
    name = display or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Problem(name, 1, "", "sops-format", f"cannot read the file ({getattr(error, 'strerror', None) or error})")]
    try:
        parsed = parse_json(text) if Path(path).suffix.lower() == ".json" or _binary_store(path, text) else parse_yaml(text)
    except SopsFileError as error:
        return [Problem(name, error.line or 1, "", "sops-format", str(error))]
    return verify_document_set(name, parsed, identities, pgp)


def _binary_store(path: Path, text: str) -> bool:
    # sops treats unknown extensions as its binary store: one JSON object {"data": ENC, "sops": {...}}
    return Path(path).suffix.lower() not in (".yaml", ".yml", ".json", ".env", ".ini") and text.lstrip().startswith("{")
