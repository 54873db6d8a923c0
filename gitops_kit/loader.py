"""Load YAML files into `Document`s fast, and turn bad input into located problems.

The hot path uses `yaml_rs` (a Rust YAML 1.2 loader, ~10x PyYAML's C loader on Kubernetes
manifests; see docs/benchmarks.md). Multi-document files are split on `---` here so that each
document knows the line it starts on; ruamel.yaml is used only later, to locate findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml_rs

from .model import DocRef, Document

#: a document marker at the start of a line: `---` or `...`, alone or followed by blanks/content
_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.M)
_POSITION = re.compile(r"line (\d+), column (\d+)")
_DUPLICATE = re.compile(r"duplicate mapping key: (.*)$", re.S)
_IGNORE_ANNOTATION = "ignore-check.gitops-kit.io/"
_IGNORE_ALL_ANNOTATION = "gitops-kit.io/ignore-all"
_IGNORE_COMMENT = re.compile(r"#\s*gitops-kit:\s*ignore\s+([a-z0-9][a-z0-9,\s-]*)")

_ALIAS_LIMITS = yaml_rs.AliasLimits(max_total_replayed_events=100_000, max_replay_stack_depth=64)
_LAST_WINS = yaml_rs.DuplicateKeyPolicy.LastWins


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep hostile input cheap; configurable under `limits:` in `.gitops-kit.yaml`."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_depth: int = 200


@dataclass(slots=True)
class Problem:
    """A load-time problem, reported under `rule_id` (yaml-syntax or duplicate-key)."""

    rule_id: str
    message: str
    line: int
    column: int = 1
    index: int = 0


@dataclass(slots=True)
class Chunk:
    index: int
    line: int  # 1-based line of the chunk's first line
    text: str


def split_documents(text: str) -> list[Chunk]:
    """Split a YAML stream into its non-blank documents, keeping each one's starting line.

    Each chunk starts at its marker line with the marker blanked (`---` → three spaces), so line
    and column numbers inside a chunk map straight back to the file, and a marker line's own
    content (`--- !!map`, `--- |`) stays with the document that follows.
    """
    if not text.startswith(("---", "...")) and "\n---" not in text and "\n..." not in text:
        return [Chunk(0, 1, text)] if text.strip() else []
    chunks: list[Chunk] = []
    start, line, prefix = 0, 1, ""
    for match in _MARKER.finditer(text):
        pos = match.start()
        body = prefix + text[start:pos]
        if body.strip():
            chunks.append(Chunk(len(chunks), line, body))
        line += text.count("\n", start, pos)
        start, prefix = pos + 3, "   "
    body = prefix + text[start:]
    if body.strip():
        chunks.append(Chunk(len(chunks), line, body))
    return chunks


def _top_comment_ignores(text: str) -> frozenset[str]:
    """Rule ids named by `# gitops-kit: ignore ...` comments before the document's first content line."""
    ids: set[str] = set()
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = _IGNORE_COMMENT.search(stripped)
        if match:
            ids.update(_split_ids(match.group(1)))
    return frozenset(ids)


def _split_ids(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text.strip()) if part]


def line_ignores(text: str) -> dict[int, frozenset[str]]:
    """Line number → rule ids ignored by a trailing or standalone `# gitops-kit: ignore` comment."""
    found: dict[int, frozenset[str]] = {}
    if "gitops-kit:" not in text:
        return found
    for number, raw in enumerate(text.splitlines(), start=1):
        if "gitops-kit:" in raw:
            match = _IGNORE_COMMENT.search(raw)
            if match:
                found[number] = frozenset(_split_ids(match.group(1)))
    return found


def annotation_ignores(data: Any) -> frozenset[str]:
    """Rule ids suppressed by `ignore-check.gitops-kit.io/<rule>` annotations (`*` for ignore-all)."""
    meta = data.get("metadata") if isinstance(data, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict):
        return frozenset()
    ids = set()
    for key in annotations:
        if isinstance(key, str):
            if key.startswith(_IGNORE_ANNOTATION):
                ids.add(key[len(_IGNORE_ANNOTATION) :])
            elif key == _IGNORE_ALL_ANNOTATION:
                ids.add("*")
    return frozenset(ids)


def decode(raw: bytes) -> tuple[str | None, Problem | None]:
    """Bytes → text. A BOM is dropped; NUL bytes or invalid UTF-8 become a located problem."""
    if b"\x00" in raw[:8192]:
        return None, Problem("yaml-syntax", "binary file (NUL bytes): not YAML; exclude it or fix its name", 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        return None, Problem(
            "yaml-syntax", f"invalid UTF-8 (byte 0x{raw[err.start]:02x}): YAML files must be UTF-8", line, column
        )
    return text, None


def parse_chunk(chunk: Chunk) -> tuple[Any, list[Problem]]:
    """Parse one document. Returns its data (None when unusable) and its problems."""
    try:
        return yaml_rs.loads(chunk.text, parse_datetime=False, alias_limits=_ALIAS_LIMITS), []
    except yaml_rs.YAMLDecodeError as err:
        message = str(err)
    except RecursionError:
        return None, [Problem("yaml-syntax", "document nested too deeply to parse", chunk.line, 1, chunk.index)]
    duplicate = _DUPLICATE.search(message)
    if duplicate:
        try:
            data = yaml_rs.loads(
                chunk.text, parse_datetime=False, alias_limits=_ALIAS_LIMITS, duplicate_key_policy=_LAST_WINS
            )
        except (yaml_rs.YAMLDecodeError, RecursionError):
            data = None
        from .locate import duplicate_keys

        problems = [
            Problem(
                "duplicate-key",
                f"mapping key {key!r} appears more than once; YAML loaders silently keep only the last value",
                chunk.line + line - 1,
                column,
                chunk.index,
            )
            for key, line, column in duplicate_keys(chunk.text)
        ] or [Problem("duplicate-key", f"duplicate mapping key {duplicate.group(1).strip()}", chunk.line, 1, chunk.index)]
        return data, problems
    return None, [_syntax_problem(message, chunk)]


def _syntax_problem(message: str, chunk: Chunk) -> Problem:
    position = _POSITION.search(message)
    line, column = (int(position.group(1)), int(position.group(2))) if position else (1, 1)
    lines = [part.strip() for part in message.splitlines() if part.strip()]
    # yaml_rs puts the human reason last, after a caret excerpt of the source
    reason = lines[-1] if lines else message
    if reason.startswith("|") or reason == lines[0]:
        reason = lines[0]
    if "alias replay limit" in message:
        reason = "alias expansion limit exceeded (a 'billion laughs' alias bomb?)"
    return Problem("yaml-syntax", f"invalid YAML: {reason}", chunk.line + line - 1, column, chunk.index)


def _content_line(chunk: Chunk) -> int:
    """The first line of a chunk that is neither blank nor a comment: where the object starts."""
    offset = 0
    for raw in chunk.text.splitlines():
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            return chunk.line + offset
        offset += 1
    return chunk.line


def _too_deep(data: Any, limit: int) -> bool:
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values() if isinstance(value, (dict, list)))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node if isinstance(value, (dict, list)))
    return False


def load_text(text: str, path: str, file: str, limits: Limits = Limits()) -> tuple[list[Document], list[Problem]]:
    """Text of one file → its non-empty documents and the problems met while parsing it."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for chunk in split_documents(text):
        data, chunk_problems = parse_chunk(chunk)
        problems.extend(chunk_problems)
        if data is None:
            continue
        if (
            limits.max_depth
            and chunk.text.count("\n") + chunk.text.count("[") + chunk.text.count("{") > limits.max_depth
            and _too_deep(data, limits.max_depth)
        ):
            problems.append(
                Problem("yaml-syntax", f"document nested deeper than {limits.max_depth} levels", chunk.line, 1, chunk.index)
            )
            continue
        ignored = annotation_ignores(data)
        if "gitops-kit:" in chunk.text:
            ignored = ignored | _top_comment_ignores(chunk.text)
        documents.append(Document(data, DocRef(path, file, chunk.index, _content_line(chunk), ignored)))
    return documents, problems


def load_file(path: str, file: str, limits: Limits = Limits()) -> tuple[list[Document], list[Problem]]:
    """Read and load one file; unreadable, oversized, binary or non-UTF-8 files become problems."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limits.max_file_bytes + 1)
    except OSError as err:
        return [], [Problem("yaml-syntax", f"cannot read file: {err.strerror or err}", 0, 0)]
    if len(raw) > limits.max_file_bytes:
        return [], [
            Problem(
                "yaml-syntax",
                f"file larger than the {limits.max_file_bytes // (1024 * 1024)} MiB limit (limits.max_file_bytes); "
                "skipped",
                0,
                0,
            )
        ]
    text, problem = decode(raw)
    if problem:
        return [], [problem]
    return load_text(text, path, file, limits)
