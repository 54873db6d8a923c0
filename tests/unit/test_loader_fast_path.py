"""The loader's one-call-per-file fast path must give exactly what the per-document path gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_kit.loader import Limits, load_text, load_text_per_document

_PIECES = [
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
    "# leading comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n",
    "# gitops-kit: ignore object-identity\nkind: Secret\nmetadata: {}\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: c\n  annotations:\n    ignore-check.gitops-kit.io/duplicate-object: ok\n",
    "- a list\n- document\n",
    "just a scalar\n",
    "# only a comment\n",
    "\n",
    "a: 1\na: 2\n",  # duplicate key
    "key: [unclosed\n",  # syntax error
    "anchors: &x {a: 1}\nuse: *x\n",
    "nested: {a: {b: {c: [1, [2, [3]]]}}}\n",
    # longer than the default depth bound (200 lines): the fast path walks it instead of giving up
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: long\ndata:\n" + "".join(f"  k{i}: v\n" for i in range(250)),
    "deep:\n" + "".join("  " * (i + 1) + f"l{i}:\n" for i in range(8)) + "  " * 9 + "leaf: 1\n",
    # Unicode spaces and a BOM inside the stream are content, not blanks, markers or comment starts
    "\xa0\n",
    "\n\xa0---\n- 7\n",  # (octal numbers are load_text's own addition: see test_speed_loader)
    "\u2003# gitops-kit: ignore object-identity\nkind: Secret\n",
    "\u3000\n# c\nkind: ConfigMap\n",
    "\ufeffkind: ConfigMap\n",
]
_MARKERS = ["---\n", "--- \n", "---\n\n", "...\n---\n", "--- # comment\n", "---\n\u3000\n"]


@st.composite
def yaml_streams(draw) -> str:
    pieces = draw(st.lists(st.sampled_from(_PIECES), min_size=0, max_size=6))
    text = ""
    if draw(st.booleans()):
        text += draw(st.sampled_from(_MARKERS))
    for number, piece in enumerate(pieces):
        if number:
            text += draw(st.sampled_from(_MARKERS))
        text += piece
    return text


@settings(max_examples=300, deadline=None)
@given(yaml_streams())
def test_fast_path_matches_per_document_path(text):
    assert load_text(text, "/r/f.yaml", "f.yaml") == load_text_per_document(text, "/r/f.yaml", "f.yaml")


@settings(max_examples=100, deadline=None)
@given(yaml_streams())
def test_fast_path_matches_with_a_small_depth_limit(text):
    limits = Limits(max_depth=3)
    assert load_text(text, "/r/f.yaml", "f.yaml", limits) == load_text_per_document(text, "/r/f.yaml", "f.yaml", limits)


def test_marker_line_content_keeps_its_line():
    text = "a: 1\n--- !!map\nb: 2\n--- |\n  block\n"
    documents, problems = load_text(text, "/r/f.yaml", "f.yaml")
    assert problems == []
    assert [(doc.ref.index, doc.ref.line, doc.data) for doc in documents] == [
        (0, 1, {"a": 1}),
        (1, 2, {"b": 2}),
        (2, 4, "block\n"),
    ]


@given(st.lists(st.sampled_from(["---", "...", "\n", " ", "\t", "\r", "a", "-", ".", "#", "--- x", "\n---\n", "\xa0"]), max_size=14).map("".join))
@settings(max_examples=400, deadline=None)
def test_marker_scan_finds_what_the_multiline_regex_finds(text):
    from gitops_kit import loader

    assert loader._marker_positions(text) == [m.start() for m in loader._MARKER.finditer(text)]
