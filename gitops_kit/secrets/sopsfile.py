"""Parsing sops files the way sops (go-yaml v3) sees them: typed leaves with key paths and lines.

Pure functions over text. A leaf is one scalar with its full path (for reports), its AAD path
(mapping keys only — sops leaves sequence indices out of the AAD) and its Go-typed value.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ENC_VALUE = re.compile(r"^ENC\[AES256_GCM,data:(?P<data>.+),iv:(?P<iv>.+),tag:(?P<tag>.+),type:(?P<type>.+)\]")
KNOWN_TYPES = frozenset({"str", "int", "float", "bool", "bytes", "time", "comment"})
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$")


class SopsFileError(ValueError):
    """The file is not something sops can read; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Leaf:
    path: tuple[str | int, ...]
    line: int
    value: Any  # str, int, float, bool or None (null), typed as go-yaml v3 resolves plain scalars

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(part for part in self.path if isinstance(part, str))

    @property
    def aad(self) -> bytes:
        return (":".join(self.keys) + ":").encode("utf-8")

    @property
    def dotted(self) -> str:
        return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(self.path))


@dataclass(frozen=True)
class SopsFile:
    documents: list[list[Leaf]]  # leaves per document, `sops` blocks removed
    metadata: dict[str, Any] | None  # the first document's sops block, as plain Python data
    metadata_line: int | None
    first_document_is_mapping: bool


def go_scalar(text: str, plain: bool) -> Any:
    """A YAML scalar as go-yaml v3 decodes it into interface{} (YAML 1.2 core; timestamps stay strings)."""
    if not plain:
        return text
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _GO_INT.match(text):
        try:
            return int(text.replace("_", ""), 0) if not re.match(r"^[-+]?0[0-9]", text) else int(text, 8)
        except ValueError:
            pass
    if _GO_FLOAT.match(text):
        return float(text)
    lowered = text.lower()
    if lowered in (".inf", "+.inf"):
        return math.inf
    if lowered == "-.inf":
        return -math.inf
    if lowered == ".nan":
        return math.nan
    return text


def go_bytes(value: Any) -> bytes:
    """sops' ToBytes: what the MAC hashes for one plaintext leaf."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        if math.isinf(value):
            return b"+Inf" if value > 0 else b"-Inf"
        if math.isnan(value):
            return b"NaN"
        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.encode()
    return str(value).encode("utf-8")


def _walk(node: Any, path: tuple[str | int, ...], out: list[Leaf]) -> None:
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise SopsFileError("a mapping key is not a string; sops cannot handle it", key_node.start_mark.line + 1)
            _walk(value_node, path + (str(key_node.value),), out)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), out)
    elif isinstance(node, ScalarNode):
        plain = node.style is None and not _explicit_str(node)
        out.append(Leaf(path, node.start_mark.line + 1, go_scalar(str(node.value), plain)))


def _explicit_str(node: Any) -> bool:
    return str(getattr(node, "tag", "")).endswith(":str") and node.value != "" and go_scalar(node.value, True) != node.value


def _to_python(leaves: list[Leaf], prefix_len: int) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for leaf in leaves:
        cursor: Any = tree
        rest = leaf.path[prefix_len:]
        for part, following in zip(rest, rest[1:]):
            if isinstance(cursor, dict):
                cursor = cursor.setdefault(part, [] if isinstance(following, int) else {})
            else:
                while len(cursor) <= part:
                    cursor.append([] if isinstance(following, int) else {})
                cursor = cursor[part]
        last = rest[-1] if rest else None
        if isinstance(cursor, dict):
            cursor[last] = leaf.value
        else:
            cursor.append(leaf.value)
    return tree


def parse_yaml(text: str) -> SopsFile:
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode

    try:
        nodes = list(YAML(typ="safe", pure=True).compose_all(text))
    except Exception as error:  # every ruamel parse error means "not YAML"
        mark = getattr(error, "problem_mark", None)
        raise SopsFileError(f"not valid YAML ({getattr(error, 'problem', None) or error})", mark.line + 1 if mark else None) from None
    documents: list[list[Leaf]] = []
    metadata: dict[str, Any] | None = None
    metadata_line: int | None = None
    for index, node in enumerate(nodes):
        leaves: list[Leaf] = []
        if node is None:
            documents.append(leaves)
            continue
        if not isinstance(node, MappingNode):
            raise SopsFileError("the document is not a mapping; sops only handles mappings", node.start_mark.line + 1)
        for key_node, value_node in node.value:
            if str(key_node.value) == "sops":
                if index == 0:
                    block: list[Leaf] = []
                    _walk(value_node, ("sops",), block)
                    if not isinstance(value_node, MappingNode):
                        raise SopsFileError("the sops entry is not a mapping", key_node.start_mark.line + 1)
                    metadata = _to_python(block, 1)
                    metadata_line = key_node.start_mark.line + 1
                continue
            _walk(value_node, (str(key_node.value),), leaves)
        documents.append(leaves)
    first_is_mapping = bool(nodes) and isinstance(nodes[0], MappingNode)
    return SopsFile(documents, metadata, metadata_line, first_is_mapping)


def parse_json(text: str) -> SopsFile:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SopsFileError(f"not valid JSON ({error})", getattr(error, "lineno", None)) from None
    if not isinstance(data, dict):
        raise SopsFileError("the JSON document is not an object", 1)
    leaves: list[Leaf] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, path + (index,))
        else:
            leaves.append(Leaf(path, 1, value))

    for key, value in data.items():
        if key != "sops":
            walk(value, (key,))
    metadata = data.get("sops") if isinstance(data.get("sops"), dict) else None
    return SopsFile([leaves], metadata, 1 if metadata else None, True)


@dataclass(frozen=True)
class EncValue:
    data: bytes
    iv: bytes
    tag: bytes
    type: str


def parse_enc(value: str) -> EncValue | str:
    """An ENC[...] value, or a short reason why it is malformed (never echoing the value)."""
    match = ENC_VALUE.match(value)
    if not match:
        return "not in sops' ENC[AES256_GCM,…] format"
    try:
        parts = {name: base64.b64decode(match.group(name), validate=True) for name in ("data", "iv", "tag")}
    except (ValueError, base64.binascii.Error):
        return "a field of the ENC value is not valid base64"
    if len(parts["iv"]) != 32:
        return f"the IV is {len(parts['iv'])} bytes, sops writes 32"
    if len(parts["tag"]) != 16:
        return f"the GCM tag is {len(parts['tag'])} bytes, sops writes 16"
    if match.group("type") not in KNOWN_TYPES:
        return "unknown value type in the ENC value"
    return EncValue(parts["data"], parts["iv"], parts["tag"], match.group("type"))


def selection_rule(metadata: dict[str, Any]) -> tuple[str, str]:
    from .sops_config import SELECTION_FIELDS

    chosen = [(name, str(metadata[name])) for name in SELECTION_FIELDS if metadata.get(name) not in (None, "")]
    if len(chosen) > 1:
        raise SopsFileError("the sops block sets more than one of encrypted_regex/unencrypted_suffix/…; sops refuses such files")
    return chosen[0] if chosen else ("unencrypted_suffix", "_unencrypted")


def should_be_encrypted(keys: tuple[str, ...], rule: tuple[str, str]) -> bool:
    """sops' shouldBeEncrypted for value leaves: the rule applies to every key on the path."""
    name, value = rule
    if name == "unencrypted_suffix":
        return not any(key.endswith(value) for key in keys)
    if name == "encrypted_suffix":
        return any(key.endswith(value) for key in keys)
    if name == "unencrypted_regex":
        return not any(re.search(value, key) for key in keys)
    if name == "encrypted_regex":
        return any(re.search(value, key) for key in keys)
    # comment-regex modes depend on preceding comments; values are encrypted unless a comment says otherwise
    return name == "unencrypted_comment_regex"


def as_list(value: Any) -> list[Any]:
    """A metadata list as sops writes it; anything else (a hand-edited scalar or mapping) counts as empty."""
    return value if isinstance(value, list) else []


def key_entries(metadata: dict[str, Any], provider: str) -> list[dict[str, Any]]:
    """The stanzas of one key type (`age`, `pgp`…), from the flat list and from every key group."""
    entries = [e for e in as_list(metadata.get(provider)) if isinstance(e, dict)]
    for group in as_list(metadata.get("key_groups")):
        if isinstance(group, dict):
            entries += [e for e in as_list(group.get(provider)) if isinstance(e, dict)]
    return entries


def age_recipients(metadata: dict[str, Any]) -> list[str]:
    return [str(entry.get("recipient")) for entry in key_entries(metadata, "age") if entry.get("recipient")]
