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
    from typing import Iterator


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
    chunk_line = _chunks(ref.path)[ref.index].line
    line, column = node.start_mark.line, node.start_mark.column
    for part in path:
        child = None
        key_node = None
        if node.tag.endswith(":map") or getattr(node, "id", "") == "mapping":
            for k, v in node.value:
                if getattr(k, "value", None) == part or (isinstance(part, str) and str(getattr(k, "value", "")) == part):
                    key_node, child = k, v
        elif (node.tag.endswith(":seq") or getattr(node, "id", "") == "sequence") and isinstance(part, int):
            if 0 <= part < len(node.value):
                child = node.value[part]
        if child is None:
            break
        anchor = key_node if key_node is not None else child
        line, column = anchor.start_mark.line, anchor.start_mark.column
        node = child
    # node lines are 0-based relative to the chunk
    return chunk_line + line, column + 1


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
