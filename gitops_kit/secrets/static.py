"""Binary-free, key-free checks of sops-encrypted documents (pure functions over parsed YAML data).

Paths are tuples of keys and indices, as rules report them. Messages never contain a value.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

ENCRYPTED_FILE = re.compile(r"\.(sops|enc)\.ya?ml$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
#: markers Flux's decryptor uses to recognise a whole sops file stored base64-encoded in a Secret value
_NESTED_SOPS_MARKERS = (b"mac: ENC[", b'"mac": "ENC[', b"sops_mac=ENC[", b"[sops]")

Path = tuple[str | int, ...]


def is_encrypted_file_name(file: str) -> bool:
    """`*.sops.yaml` / `*.enc.yaml` files are meant to be encrypted; `.sops.yaml` itself is the config."""
    name = file.rpartition("/")[2]
    return bool(ENCRYPTED_FILE.search(name)) and not name.startswith(".sops.")


def sops_block(data: Any) -> dict[str, Any] | None:
    block = data.get("sops") if isinstance(data, dict) else None
    return block if isinstance(block, dict) else None


def metadata_problems(meta: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """What makes sops refuse (or Flux skip) this metadata block."""
    from .sopsfile import parse_enc  # only for documents that carry a sops block: keeps start-up light

    mac = meta.get("mac")
    if not isinstance(mac, str) or not mac:
        yield ("sops",), "the sops block has no mac: sops refuses to decrypt it and Flux does not decrypt it"
    elif isinstance(parse_enc(mac), str):
        yield ("sops", "mac"), f"sops.mac is {parse_enc(mac)}"
    if not meta.get("version"):
        yield ("sops",), "the sops block has no version"
    lastmodified = meta.get("lastmodified")
    text = lastmodified if isinstance(lastmodified, str) else getattr(lastmodified, "isoformat", lambda: "")()
    if not text or not (_RFC3339.match(text) or _RFC3339.match(text.replace("+00:00", "Z"))):
        yield ("sops", "lastmodified") if lastmodified else ("sops",), "sops.lastmodified is missing or not an RFC3339 time"
    if not _has_recipient(meta):
        yield ("sops",), "the sops block lists no recipient (age, pgp or a KMS key): nobody can decrypt it"


def _has_recipient(meta: dict[str, Any]) -> bool:
    providers = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms")
    key_groups = meta.get("key_groups")
    groups = [meta] + [g for g in (key_groups if isinstance(key_groups, list) else []) if isinstance(g, dict)]
    return any(isinstance(g.get(p), list) and g.get(p) for g in groups for p in providers)


def unencrypted_leaves(data: dict[str, Any], meta: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """Leaves the file's own rule says must be encrypted but that are not well-formed ENC values."""
    from .sopsfile import SopsFileError, parse_enc, selection_rule, should_be_encrypted

    try:
        rule = selection_rule(meta)
    except SopsFileError as error:
        yield ("sops",), str(error)
        return
    # the sops block itself (recipients, mac, dates) is never encrypted: do not even walk it
    for path, value in _leaves({key: item for key, item in data.items() if key != "sops"}, ()):
        if value is None or value == "":
            continue
        keys = tuple(p for p in path if isinstance(p, str))
        try:
            selected = should_be_encrypted(keys, rule)
        except re.error:
            yield ("sops",), f"the file's {rule[0]} is not a valid regular expression"
            return
        if not selected:
            continue
        if not isinstance(value, str):
            yield path, "value is plaintext but the file's sops rule says it must be encrypted"
            continue
        problem = parse_enc(value)
        if isinstance(problem, str):
            reason = "plaintext" if not value.startswith("ENC[") else problem
            yield path, f"value is {reason} but the file's sops rule says it must be encrypted"


def plaintext_secret_fields(data: dict[str, Any]) -> Iterator[Path]:
    """Non-empty data/stringData entries of an unencrypted Secret (Flux 'sops inside data' excepted)."""
    for field in ("data", "stringData"):
        values = data.get(field)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if value in (None, ""):
                continue
            if field == "data" and _is_nested_sops(value):
                continue
            yield (field, str(key))


def _is_nested_sops(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        import base64

        decoded = base64.b64decode(value, validate=False)
    except ValueError:
        return False
    return any(marker in decoded for marker in _NESTED_SOPS_MARKERS)


def _leaves(node: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (str(key),))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _leaves(item, path + (index,))
    else:
        yield path, node
