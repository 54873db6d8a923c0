"""Binary-free, key-free checks of sops-encrypted documents (pure functions over parsed YAML data).

Paths are tuples of keys and indices, as rules report them. Messages never contain a value.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

#: names of files meant to be encrypted, as a rule's `file_names` selector (`is_encrypted_file_name`)
ENCRYPTED_FILE_NAMES = ("*.sops.yaml", "*.sops.yml", "*.enc.yaml", "*.enc.yml")
_ENCRYPTED_SUFFIXES = tuple(pattern[1:] for pattern in ENCRYPTED_FILE_NAMES)
_RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
#: markers Flux's decryptor uses to recognise a whole sops file stored base64-encoded in a Secret value
_NESTED_SOPS_MARKERS = (b"mac: ENC[", b'"mac": "ENC[', b"sops_mac=ENC[", b"[sops]")

Path = tuple[str | int, ...]


def is_encrypted_file_name(file: str) -> bool:
    """`*.sops.yaml` / `*.enc.yaml` files are meant to be encrypted; `.sops.yaml` itself is the config."""
    name = file.rpartition("/")[2]
    return name.endswith(_ENCRYPTED_SUFFIXES) and not name.startswith(".sops.")


def sops_block(data: Any) -> dict[str, Any] | None:
    block = data.get("sops") if isinstance(data, dict) else None
    return block if isinstance(block, dict) else None


def metadata_problems(meta: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """What makes sops refuse (or Flux skip) this metadata block."""
    mac = meta.get("mac")
    if not isinstance(mac, str) or not mac:
        yield ("sops",), "the sops block has no mac: sops refuses to decrypt it and Flux does not decrypt it"
    elif not well_formed(mac):
        from .sopsfile import parse_enc  # only for a value that is not exactly as sops writes it

        problem = parse_enc(mac)
        if isinstance(problem, str):
            yield ("sops", "mac"), f"sops.mac is {problem}"
    if not meta.get("version"):
        yield ("sops",), "the sops block has no version"
    lastmodified = meta.get("lastmodified")
    text = lastmodified if isinstance(lastmodified, str) else getattr(lastmodified, "isoformat", lambda: "")()
    if not text or not (_rfc3339(text) or _rfc3339(text.replace("+00:00", "Z"))):
        yield ("sops", "lastmodified") if lastmodified else ("sops",), "sops.lastmodified is missing or not an RFC3339 time"
    if not _has_recipient(meta):
        yield ("sops",), "the sops block lists no recipient (age, pgp or a KMS key): nobody can decrypt it"


def _rfc3339(text: str) -> bool:
    global _RFC3339_MATCH
    if _RFC3339_MATCH is None:  # compiled on the first encrypted document, not at import
        _RFC3339_MATCH = re.compile(_RFC3339).match
    return _RFC3339_MATCH(text) is not None


_RFC3339_MATCH: Callable[[str], Any] | None = None
_PROVIDERS = ("age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms")


def _has_recipient(meta: dict[str, Any]) -> bool:
    """A non-empty list of some key type, in the block itself or in one of its key groups."""
    key_groups = meta.get("key_groups")
    for group in [meta, *(key_groups if isinstance(key_groups, list) else ())]:
        if isinstance(group, dict):
            for provider in _PROVIDERS:
                keys = group.get(provider)
                if isinstance(keys, list) and keys:
                    return True
    return False


def well_formed(value: str) -> bool:
    """True when `value` is an ENC value exactly as sops writes it: base64 data, a 32-byte IV,
    a 16-byte tag and a known type. Every such value is one `sopsfile.parse_enc` accepts, so one regex
    match answers the common case; anything else needs `parse_enc` (and its reason)."""
    global _WELL_FORMED
    if _WELL_FORMED is None:
        _WELL_FORMED = re.compile(
            r"ENC\[AES256_GCM,data:(?=[A-Za-z0-9+/])(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
            r",iv:[A-Za-z0-9+/]{43}=,tag:[A-Za-z0-9+/]{22}==,type:(?:str|int|float|bool|bytes|time|comment)\]"
        )
    return _WELL_FORMED.fullmatch(value) is not None


_WELL_FORMED: re.Pattern[str] | None = None
#: (selection field, its value) → "does this mapping key match": the same rules and keys come back in
#: every document of a repository, so answers are remembered
_KEY_TESTS: dict[tuple[str, str], Callable[[str], bool] | None] = {}
#: sops' selection fields (sops_config.SELECTION_FIELDS, kept equal by a test): the common case is read
#: here, without importing the sops parser (sopsfile: dataclasses, decimal, json) for every run
_SELECTION_FIELDS = (
    "unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex",
    "encrypted_comment_regex",
)


def selection(meta: dict[str, Any]) -> tuple[str, str] | None:
    """The sops block's selection rule (field, value) as `sopsfile.selection_rule` reads it; None when the
    block sets more than one field (sops refuses the file; `selection_rule` raises and says why)."""
    chosen = None
    for name in _SELECTION_FIELDS:
        value = meta.get(name)
        if value not in (None, ""):
            if chosen is not None:
                return None
            chosen = (name, str(value))
    return chosen or ("unencrypted_suffix", "_unencrypted")


def age_recipients(meta: dict[str, Any]) -> list[str]:
    """`sopsfile.age_recipients` (the age recipients of the block and of its key groups), kept equal by a
    test: reading them here spares every run with encrypted files the import of the sops parser."""
    found = []
    groups = meta.get("key_groups")
    for owner in [meta, *(groups if isinstance(groups, list) else ())]:
        entries = owner.get("age") if isinstance(owner, dict) else None
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and entry.get("recipient"):
                found.append(str(entry.get("recipient")))
    return found


def unencrypted_leaves(data: dict[str, Any], meta: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """Leaves the file's own rule says must be encrypted but that are not well-formed ENC values.

    sops' shouldBeEncrypted looks at every mapping key on a leaf's path, so the walk decides per key:
    below a key that selects (encrypted_*) or deselects (unencrypted_*) the subtree, no key is tested
    again, and a deselected subtree is not walked at all."""
    rule = selection(meta)
    if rule is None:
        from .sopsfile import SopsFileError, selection_rule

        try:
            selection_rule(meta)
        except SopsFileError as error:
            yield ("sops",), str(error)
        return
    name, value = rule
    # the sops block itself (recipients, mac, dates) is never encrypted: do not even walk it
    body = [(key, item) for key, item in data.items() if key != "sops"]
    found: list[tuple[Path, str]] = []
    if name in ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex"):
        test = _key_test(name, value)
        if test is None:  # sops fails on the first value it looks at
            if any(_has_value(item) for _key, item in body):
                yield ("sops",), f"the file's {name} is not a valid regular expression"
            return
        encrypting = name.startswith("encrypted")
        _walk_items(body, (), not encrypting, test, encrypting, found)
    elif name == "unencrypted_comment_regex":  # comments decide: values are encrypted unless one says otherwise
        _walk_items(body, (), True, None, False, found)
    yield from found


def _key_test(name: str, value: str) -> Callable[[str], bool] | None:
    """Does a mapping key itself match the rule's suffix or regex; None for an invalid regex."""
    if (name, value) not in _KEY_TESTS:
        if len(_KEY_TESTS) > 64:  # a long-lived process that saw many rules: drop the old answers
            _KEY_TESTS.clear()
        _KEY_TESTS[(name, value)] = (lambda key: key.endswith(value)) if name.endswith("suffix") else _regex_test(value)
    return _KEY_TESTS[(name, value)]


def _regex_test(pattern: str) -> Callable[[str], bool] | None:
    try:
        search = re.compile(pattern).search
    except re.error:
        return None
    answers: dict[str, bool] = {}

    def test(key: str) -> bool:
        answer = answers.get(key)
        if answer is None:
            if len(answers) > 4096:
                answers.clear()
            answer = answers[key] = search(key) is not None
        return answer

    return test


def _walk_items(items: Any, path: Path, selected: bool, test: Callable[[str], bool] | None, encrypting: bool, found: list) -> None:
    """Append (path, problem) for every selected leaf below these (key, value) pairs that is not well
    encrypted. `selected`: the keys above decided that leaves here are encrypted; `test`: None once
    nothing below can change that (a key matched an encrypted_* rule). Scalars are handled in the loop:
    most leaves of a Secret (apiVersion, metadata.name…) are not selected and cost no call."""
    for key, item in items:
        key = str(key)
        here, below = selected, test
        if test is not None and test(key):
            if not encrypting:
                continue  # unencrypted_*: a matching key leaves its whole subtree in the clear
            here, below = True, None
        if isinstance(item, dict):
            _walk_items(item.items(), path + (key,), here, below, encrypting, found)
        elif isinstance(item, list):
            _walk_list(item, path + (key,), here, below, encrypting, found)
        elif here and not (item is None or item == ""):
            problem = _leaf_problem(item)
            if problem:
                found.append((path + (key,), problem))


def _walk_list(items: list, path: Path, selected: bool, test: Callable[[str], bool] | None, encrypting: bool, found: list) -> None:
    for index, item in enumerate(items):
        if isinstance(item, dict):
            _walk_items(item.items(), path + (index,), selected, test, encrypting, found)
        elif isinstance(item, list):
            _walk_list(item, path + (index,), selected, test, encrypting, found)
        elif selected and not (item is None or item == ""):
            problem = _leaf_problem(item)
            if problem:
                found.append((path + (index,), problem))


def _has_value(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_has_value(item) for item in node.values())
    if isinstance(node, list):
        return any(_has_value(item) for item in node)
    return not (node is None or node == "")


def _leaf_problem(value: Any) -> str:
    """Why a value the rule selects is not encrypted ("" when it is a well-formed ENC value)."""
    if not isinstance(value, str):
        return "value is plaintext but the file's sops rule says it must be encrypted"
    if well_formed(value):
        return ""
    from .sopsfile import parse_enc

    problem = parse_enc(value)
    if isinstance(problem, str):
        reason = "plaintext" if not value.startswith("ENC[") else problem
        return f"value is {reason} but the file's sops rule says it must be encrypted"
    return ""


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
