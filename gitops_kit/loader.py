"""Load YAML files into `Document`s fast, and turn bad input into located problems.

The hot path uses `yaml_rs` (a Rust YAML 1.2 loader, ~10x PyYAML's C loader on Kubernetes
manifests; see docs/benchmarks.md). Multi-document files are split on `---` here so that each
document knows the line it starts on; ruamel.yaml is used only later, to locate findings.
"""

from __future__ import annotations

import os
import re

from . import _native
from .model import DocRef, Document, _Frozen, _Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: a document marker at the start of a line: `---` or `...`, alone or followed by blanks/content
_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.M)
# patterns of the rare paths (parse errors, suppression comments, octal numbers) are strings, compiled by
# `re` the first time one is used: every process starts without paying for them (start-up is a bar)
_POSITION = r"line (\d+), column (\d+)"
_DUPLICATE = r"(?s)duplicate mapping key: (.*)$"
_IGNORE_ANNOTATION = "ignore-check.gitops-kit.io/"
_IGNORE_ALL_ANNOTATION = "gitops-kit.io/ignore-all"
# YAML's white space is only space and tab (U+00A0, U+3000... are content): a `#` starts a comment only at
# the start of a line or after one of them, so `\xa0# gitops-kit: ignore x` is a mapping key, not a comment
_IGNORE_COMMENT = r"(?<![^ \t])#[ \t]*gitops-kit:[ \t]*ignore[ \t]+([a-z0-9][a-z0-9, \t-]*)"

# the extension's own call: the hot path passes alias limits and, for duplicates, a policy
_yaml = _native.yaml_rs()
_loads = _yaml._loads
_YAMLDecodeError = _native.yaml_error()
_ALIAS_LIMITS = _yaml._AliasLimits(max_total_replayed_events=100_000, max_replay_stack_depth=64)
# blank and content as YAML defines them, not as `str.isspace`/`\s` do (those count Unicode spaces, which
# YAML reads as content: "\n\xa0---" is a document starting on line 2)
_BLANKS = " \t\r\n"
_NON_BLANK = re.compile(r"[^ \t\r\n]")
#: the first line that is neither blank nor a comment
_CONTENT = re.compile(r"^[ \t]*[^ \t\r\n#]", re.M)
_EMPTY: frozenset[str] = frozenset()


class Limits(_Frozen):
    """Bounds that keep hostile input cheap; configurable under `limits:` in `.gitops-kit.yaml`."""

    __slots__ = _fields = ("max_file_bytes", "max_depth")

    def __init__(self, max_file_bytes: int = 20 * 1024 * 1024, max_depth: int = 200) -> None:
        object.__setattr__(self, "max_file_bytes", max_file_bytes)
        object.__setattr__(self, "max_depth", max_depth)


class Problem(_Record):
    """A load-time problem, reported under `rule_id` (yaml-syntax or duplicate-key).

    `ignored`: rule ids the problem's document opts out of (its top `# gitops-kit: ignore` comment,
    and for a document that still parses, its ignore-check annotations), like `DocRef.ignored`.
    """

    __slots__ = _fields = ("rule_id", "message", "line", "column", "index", "ignored")

    def __init__(
        self, rule_id: str, message: str, line: int, column: int = 1, index: int = 0, ignored: frozenset[str] = frozenset()
    ) -> None:
        self.rule_id = rule_id
        self.message = message
        self.line = line
        self.column = column
        self.index = index
        self.ignored = ignored


class Chunk(_Record):
    """One document's text; `line` is the 1-based line of the chunk's first line in the file."""

    __slots__ = _fields = ("index", "line", "text")

    def __init__(self, index: int, line: int, text: str) -> None:
        self.index = index
        self.line = line
        self.text = text


def split_documents(text: str) -> list[Chunk]:
    """Split a YAML stream into its non-blank documents, keeping each one's starting line.

    Each chunk starts at its marker line with the marker blanked (`---` → three spaces), so line
    and column numbers inside a chunk map straight back to the file, and a marker line's own
    content (`--- !!map`, `--- |`) stays with the document that follows.
    """
    if not text.startswith(("---", "...")) and "\n---" not in text and "\n..." not in text:
        return [Chunk(0, 1, text)] if _NON_BLANK.search(text) else []
    chunks: list[Chunk] = []
    start, line, prefix = 0, 1, ""
    for match in _MARKER.finditer(text):
        pos = match.start()
        body = prefix + text[start:pos]
        if _NON_BLANK.search(body):
            chunks.append(Chunk(len(chunks), line, body))
        line += text.count("\n", start, pos)
        start, prefix = pos + 3, "   "
    body = prefix + text[start:]
    if _NON_BLANK.search(body):
        chunks.append(Chunk(len(chunks), line, body))
    return chunks


def _top_comment_ignores(text: str) -> frozenset[str]:
    """Rule ids named by `# gitops-kit: ignore ...` comments before the document's first content line."""
    ids: set[str] = set()
    for raw in _lines(text):
        stripped = raw.strip(_BLANKS)
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = re.search(_IGNORE_COMMENT, stripped)
        if match:
            ids.update(_split_ids(match.group(1)))
    return frozenset(ids)


def _lines(text: str) -> list[str]:
    """The lines of `text` split at YAML's line breaks (CRLF, LF and a lone CR, as the parsers count them),
    not at splitlines' others (U+2028, \x0c...)."""
    return text.split("\n") if "\r" not in text else re.split(r"\r\n?|\n", text)


def _split_ids(text: str) -> list[str]:
    return [part for part in re.split(r"[ \t,]+", text) if part]


def line_ignores(text: str) -> dict[int, frozenset[str]]:
    """Line number → rule ids ignored by a trailing or standalone `# gitops-kit: ignore` comment."""
    found: dict[int, frozenset[str]] = {}
    if "gitops-kit:" not in text:
        return found
    for number, raw in enumerate(_lines(text), start=1):  # lines as findings are located (ruamel.yaml)
        if "gitops-kit:" in raw:
            match = re.search(_IGNORE_COMMENT, raw)
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
    if b"\x00" in raw:  # anywhere: yaml_rs stops at a NUL and would silently drop the rest of the file
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
        return _loads(chunk.text, parse_datetime=False, alias_limits=_ALIAS_LIMITS), []
    except _YAMLDecodeError as err:
        message = str(err)
    except (TypeError, ValueError):
        # yaml_rs cannot build a Python dict whose key is a mapping or a list (`? {a: 1}`)
        return None, [Problem("yaml-syntax", "unsupported complex mapping key (a mapping or list used as a key)", chunk.line, 1, chunk.index)]
    except RecursionError:
        return None, [Problem("yaml-syntax", "document nested too deeply to parse", chunk.line, 1, chunk.index)]
    duplicate = re.search(_DUPLICATE, message)
    if duplicate:
        try:
            data = _loads(
                chunk.text, parse_datetime=False, alias_limits=_ALIAS_LIMITS, duplicate_key_policy=_native.DUPLICATES_LAST_WINS
            )
        except (_YAMLDecodeError, RecursionError, TypeError, ValueError):
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
    position = re.search(_POSITION, message)
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
    # the one-call path's own test, so that the two paths cannot disagree on where a document starts
    found = _content_line_at(chunk.text, 0, len(chunk.text), chunk.line)
    return chunk.line if found is None else found


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


# `^` with re.M is tried at every character; a pattern that starts with a literal newline lets the
# regex engine jump from newline to newline (about 8x faster on typical manifests).
_MARKER_AFTER_NEWLINE = re.compile(r"\n(?:---|\.\.\.)(?=[ \t\r\n]|\Z)")
_MARKER_AT_START = re.compile(r"(?:---|\.\.\.)(?=[ \t\r\n]|\Z)")


def _marker_positions(text: str) -> list[int]:
    """Offsets of the document markers (`---`, `...` at the start of a line), like `_MARKER.finditer`."""
    positions = [0] if _MARKER_AT_START.match(text) else []
    for match in _MARKER_AFTER_NEWLINE.finditer(text):  # a plain loop: no generator frame per file
        positions.append(match.start() + 1)
    return positions


def _document_spans(text: str, has_markers: bool | None = None) -> list[tuple[int, int, int]]:
    """(start, end, line) of each non-blank document body, as `split_documents` cuts them, without copying."""
    if not (_has_markers(text) if has_markers is None else has_markers):
        return [(0, len(text), 1)] if _NON_BLANK.search(text) else []
    spans: list[tuple[int, int, int]] = []
    start, line = 0, 1
    non_blank = _NON_BLANK.search
    count = text.count
    for pos in _marker_positions(text):
        if non_blank(text, start, pos) is not None:
            spans.append((start, pos, line))
        line += count("\n", start, pos)
        start = pos + 3
    if non_blank(text, start) is not None:
        spans.append((start, len(text), line))
    return spans


def _has_markers(text: str) -> bool:
    return text.startswith(("---", "...")) or "\n---" in text or "\n..." in text


def _blank(text: str, start: int, end: int) -> bool:
    return _NON_BLANK.search(text, start, end) is None


def _content_line_at(text: str, start: int, end: int, line: int) -> int | None:
    """The line of the first content (not blank, not comment) in text[start:end]; None if there is none."""
    first_end = text.find("\n", start, end)
    first = text[start:end] if first_end < 0 else text[start:first_end]
    first = first.strip(_BLANKS)
    if first and not first.startswith("#"):
        return line  # content on the marker line itself: `--- !!map`, `--- |`
    match = _CONTENT.search(text, start, end)
    return line + text.count("\n", start, match.start()) if match else None


def _load_whole(text: str, path: str, file: str, limits: Limits) -> list[Document] | None:
    """The fast path: one parser call for the whole file; None when the per-document path must decide.

    Clean multi-document files are the common case, and one `yaml_rs` call per file costs less
    than one per document plus the copies of each document's text. Anything unusual (a parse
    error, a duplicate key, an empty document, input that might be nested too deeply) falls back
    to the per-document path, which locates problems exactly.
    """
    has_markers = _has_markers(text)
    spans = _document_spans(text, has_markers)
    if not spans:
        return []
    if len(spans) == 1 and has_markers:
        return None  # one document among markers: nothing to gain, and a list result would be ambiguous
    try:
        parsed = _loads(text, parse_datetime=False, alias_limits=_ALIAS_LIMITS)
    except (_YAMLDecodeError, RecursionError, TypeError, ValueError):
        return None  # the per-document path locates (or explains) it
    # Nesting needs a new line or a bracket per level, so most files cannot be too deep; a long
    # file (a CRD, gotk-components.yaml) is walked once here instead of being parsed again per document.
    if limits.max_depth and text.count("\n") + text.count("[") + text.count("{") > limits.max_depth:
        if _too_deep(parsed, limits.max_depth + (1 if len(spans) > 1 else 0)):
            return None  # the per-document path reports it at its document
    lines = []
    for start, end, line in spans:
        # most documents start with content right away, or on the line after their `---`
        first = text[start]
        if first not in "# \t\r\n":
            lines.append(line)
            continue
        if first == "\n" and start + 1 < end:
            first = text[start + 1]
            if first not in "# \t\r\n":
                lines.append(line + 1)
                continue
        found = _content_line_at(text, start, end, line)
        if found is None:
            return None  # a comment-only document: the parser may not count it as one
        lines.append(found)
    # Every span now holds content, so the parser sees at least these documents (plus any empty
    # ones); equal counts therefore mean the two agree document by document.
    if len(spans) == 1:
        datas = [parsed]  # no document markers at all
    elif isinstance(parsed, list) and len(parsed) == len(spans):
        datas = parsed
    else:
        return None  # the parser and the splitter disagree on where documents are: trust the splitter
    # suppressions need the text "gitops-kit" somewhere in the file: skip looking for them otherwise
    may_suppress = "gitops-kit" in text
    documents: list[Document] = []
    for index, data in enumerate(datas):
        if data is None:
            continue
        ignored = _EMPTY
        if may_suppress:
            ignored = annotation_ignores(data)
            body = text[spans[index][0] : spans[index][1]]
            if "gitops-kit:" in body:
                ignored = ignored | _top_comment_ignores(body)
        documents.append(Document(data, DocRef(path, file, index, lines[index], ignored)))  # type: ignore[arg-type]
    return documents


def load_text(text: str, path: str, file: str, limits: Limits = Limits()) -> tuple[list[Document], list[Problem]]:
    """Text of one file → its non-empty documents and the problems met while parsing it."""
    fast = _load_whole(text, path, file, limits)
    documents, problems = (fast, []) if fast is not None else load_text_per_document(text, path, file, limits)
    if _OCTAL_HINT(text) is not None:  # the cheap test first: most files have no such number
        problems.extend(octal_numbers(text, documents))
    return documents, problems


#: ": 0" or "- 0" somewhere in the text. A literal first (" 0") lets the regex engine skip ahead to the
#: candidates; `": 0" in text or "- 0" in text` scans the text twice, at about four times the cost.
_OCTAL_HINT = re.compile(r" 0(?<=[:-] 0)").search
# `key: 010` or `- 010` as a plain scalar: digits only, a leading zero, nothing after but a comment
_OCTAL = r"(?m)^(?P<lead>[ \t]*(?:-[ \t]+)*(?:(?P<key>[^#\n:]+?):[ \t]+)?)(?P<number>0[0-9]+)[ \t]*(?:#.*)?$"


def octal_numbers(text: str, documents: list[Document]) -> list[Problem]:
    """Integers with a leading zero (YAML 1.1 octal for the Go tools, decimal for YAML 1.2 ones).

    File modes (`defaultMode: 0644`) are octal on purpose and skipped. Each problem carries the index
    and opt-outs of the document it sits in."""
    problems = []
    starts = [(doc.ref.line, doc.ref.index, doc.ref.ignored) for doc in documents]
    for match in re.finditer(_OCTAL, text):
        key = (match.group("key") or "").strip().strip("\"'")
        if key.lower().endswith("mode"):
            continue
        line = text.count("\n", 0, match.start()) + 1
        number = match.group("number")
        index, ignored = 0, _EMPTY
        for start, doc_index, doc_ignored in starts:
            if start <= line:
                index, ignored = doc_index, doc_ignored
        octal = int(number, 8) if all(c in "01234567" for c in number) else None
        reading = f"octal {octal}" if octal is not None else f'the string "{number}" (8 and 9 are not octal digits)'
        problems.append(
            Problem(
                "yaml-octal-number",
                f"{number} has a leading zero: kubectl, Helm, Flux and Argo CD read it as {reading}, YAML 1.2 tools as "
                f"{int(number)}; write it without the zero, or quote it",
                line,
                match.start("number") - match.start() + 1,
                index,
                ignored,
            )
        )
    return problems


def load_text_per_document(
    text: str, path: str, file: str, limits: Limits = Limits()
) -> tuple[list[Document], list[Problem]]:
    """The exact path: split first, then parse each document on its own, locating every problem."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for chunk in split_documents(text):
        data, chunk_problems = parse_chunk(chunk)
        if chunk_problems:
            opted_out = annotation_ignores(data) if data is not None else _EMPTY
            if "gitops-kit:" in chunk.text:
                opted_out = opted_out | _top_comment_ignores(chunk.text)
            for problem in chunk_problems:
                problem.ignored = opted_out
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


def read_limited(handle: Any, limit: int) -> bytes:
    """At most `limit` + 1 bytes of an open binary file (one more than allowed tells "too large").

    `handle.read(limit + 1)` would allocate the whole limit (20 MiB by default) for every file:
    the file's size decides how much to ask for."""
    size = os.fstat(handle.fileno()).st_size
    raw = handle.read(size + 1 if 0 < size <= limit else limit + 1)
    if size and len(raw) == size + 1:  # the file grew since fstat: read on, up to the limit
        raw += handle.read(limit + 1 - len(raw))
    return raw


def load_file(path: str, file: str, limits: Limits = Limits()) -> tuple[list[Document], list[Problem]]:
    """Read and load one file; unreadable, oversized, binary or non-UTF-8 files become problems."""
    raw = _read_small(path, limits.max_file_bytes)
    if raw is None:  # anything unusual (an error, an empty, growing or oversized file): the general path
        try:
            with open(path, "rb") as handle:
                raw = read_limited(handle, limits.max_file_bytes)
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
    text = None
    if b"\x00" not in raw and not raw.startswith(b"\xef\xbb\xbf"):
        try:
            text = raw.decode()  # what "utf-8-sig" gives without a BOM, minus that codec's Python-level wrapper
        except UnicodeDecodeError:
            pass  # decode() locates the bad byte
    if text is None:
        text, problem = decode(raw)
        if problem:
            return [], [problem]
    return load_text(text, path, file, limits)  # type: ignore[arg-type]


def _read_small(path: str, limit: int) -> bytes | None:
    """The whole file when it is a regular file of 1 byte up to `limit` read in one call, else None.

    A file object (`open` + `read_limited`) costs about as much again as the system calls for the small
    files of a repository; None sends every other case, including any error, to that path."""
    try:
        descriptor = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        size = os.fstat(descriptor).st_size
        if not 0 < size <= limit:
            return None
        raw = os.read(descriptor, size + 1)
        return raw if len(raw) == size else None  # shorter or longer: changed since fstat, read it again
    except OSError:
        return None
    finally:
        os.close(descriptor)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
