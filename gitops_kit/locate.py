"""Lazy source positions: JSON path inside a document → line and column in its file.

Only documents that received a finding come here, so the cost of ruamel.yaml's composer (about
100x slower than the fast loader) is paid for a handful of documents, not for the whole tree.
"""

from __future__ import annotations

from functools import lru_cache

from .loader import Chunk, split_documents
from .model import DocRef, PathPart

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator


def _compose(text: str):
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = True
    return yaml.compose(text)


@lru_cache(maxsize=64)
def _chunks(path: str) -> tuple[Chunk, ...]:
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ()
    return tuple(split_documents(text))


@lru_cache(maxsize=256)
def _node(path: str, index: int):
    chunks = _chunks(path)
    if index >= len(chunks):
        return None
    try:
        return _compose(chunks[index].text)
    except Exception:  # noqa: BLE001 - an unparsable document simply has no positions
        return None


def position(ref: DocRef, path: tuple[PathPart, ...]) -> tuple[int, int]:
    """1-based (line, column) of `path` in the document `ref`, or of its deepest existing parent."""
    if not path:
        return ref.line, 1
    node = _node(ref.path, ref.index)
    if node is None:
        return ref.line, 1
    chunk = _chunks(ref.path)[ref.index]
    line, column, deepest, depth = _walk(node, path)
    if depth < len(path) and _is_literal(deepest):
        # a YAML document inside a `|` string (Argo CD's helm.values): go on inside it
        inner = _inside_literal(deepest, chunk.text, path[depth:])
        if inner is not None:
            line, column = inner
    # node lines are 0-based relative to the chunk
    return chunk.line + line, column + 1


def _walk(node, path: tuple[PathPart, ...]) -> tuple[int, int, Any, int]:
    """0-based (line, column) of the deepest part of `path` found from `node`, that node, and how many
    parts were found."""
    line, column = node.start_mark.line, node.start_mark.column
    for depth, part in enumerate(path):
        child, key_node = _child(node, part)
        if child is None:
            return line, column, node, depth
        anchor = key_node if key_node is not None else child
        line, column = anchor.start_mark.line, anchor.start_mark.column
        node = child
    return line, column, node, len(path)


def _is_literal(node) -> bool:
    return getattr(node, "id", "") == "scalar" and getattr(node, "style", None) == "|" and isinstance(node.value, str)


def _inside_literal(node, text: str, path: tuple[PathPart, ...]) -> tuple[int, int] | None:
    """0-based (line, column) in the chunk of `path` inside the YAML held by the literal block scalar
    `node`, or None when that text is not YAML. A literal scalar keeps its lines as written, minus one
    indentation, so its lines map one to one onto the file's, from the line after the `|`."""
    inner_text = node.value
    try:
        inner = _compose(inner_text)
    except Exception:  # noqa: BLE001 - not YAML: the string itself is the place
        return None
    if inner is None:
        return None
    first = node.start_mark.line + 1
    raw_lines = text.split("\n")
    inner_lines = inner_text.split("\n")
    indent = 0
    for offset, inner_line in enumerate(inner_lines):
        if inner_line.strip(" ") and first + offset < len(raw_lines):
            raw = raw_lines[first + offset]
            indent = (len(raw) - len(raw.lstrip(" "))) - (len(inner_line) - len(inner_line.lstrip(" ")))
            break
    line, column, _node, _depth = _walk(inner, path)
    return first + line, indent + column


def _child(node, part: PathPart):
    """(child, key node) of `part` in a mapping or sequence node, or (None, None)."""
    if node.tag.endswith(":map") or getattr(node, "id", "") == "mapping":
        found = (None, None)
        for k, v in node.value:
            if getattr(k, "value", None) == part or (isinstance(part, str) and str(getattr(k, "value", "")) == part):
                found = (v, k)
        return found
    if (node.tag.endswith(":seq") or getattr(node, "id", "") == "sequence") and isinstance(part, int):
        if 0 <= part < len(node.value):
            return node.value[part], None
    return None, None


def duplicate_keys(text: str) -> Iterator[tuple[str, int, int]]:
    """(key, line, column) of every repeated key in the document text; lines relative to the text."""
    try:
        root = _compose(text)
    except Exception:  # noqa: BLE001
        return
    if root is None:
        return
    stack = [root]
    while stack:
        node = stack.pop()
        kind = getattr(node, "id", "")
        if kind == "mapping":
            seen: set = set()
            for key, value in node.value:
                scalar = getattr(key, "value", None)
                if isinstance(scalar, str):
                    if scalar in seen:
                        yield scalar, key.start_mark.line + 1, key.start_mark.column + 1
                    seen.add(scalar)
                stack.append(value)
        elif kind == "sequence":
            stack.extend(node.value)


def clear_cache() -> None:
    _chunks.cache_clear()
    _node.cache_clear()
