"""The loader's shortcuts for the common file (docs/benchmarks.md) give exactly what the general path gives."""

from __future__ import annotations

import os

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gitops_kit import loader
from gitops_kit.loader import Limits, decode, load_file, load_text, load_text_per_document

# pieces that sit right after a `---` or at the start of a file: where the content-line shortcuts look
_PIECES = st.sampled_from(
    [
        "---", "...", "--- ", "---\t", "\n", "\r\n", " ", "\t", "#", "# c\n", "a: 1", "b: [1, 2]", "- x",
        "k: 0", "k: 010", "- 07", "k:\t010", "010", ":0", "|\n  t", "\ufeff",
        # Unicode spaces are content in YAML (only space and tab are white space), unlike for str.isspace
        "\xa0", "\u2003", "\u3000", "\xa0---", "\xa0# gitops-kit: ignore x", "# gitops-kit: ignore a\u3000b",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
@example("\n\xa0---\n- 07")  # the paths once put this document on lines 3 and 2 (it starts on line 2)
@example("a: 1\n---\n\u2003# gitops-kit: ignore x\n---\n\ufeff\u3000")
def test_the_one_call_path_agrees_with_the_per_document_path(text):
    documents, problems = load_text_per_document(text, "/r/f.yaml", "f.yaml")
    if ": 0" in text or "- 0" in text:
        problems.extend(loader.octal_numbers(text, documents))
    assert load_text(text, "/r/f.yaml", "f.yaml") == (documents, problems)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_the_octal_hint_is_the_two_substring_test(text):
    assert (loader._OCTAL_HINT(text) is not None) == (": 0" in text or "- 0" in text)


def _general(path: str, limits: Limits) -> tuple:
    """load_file as it was before the small-file shortcut: a file object, read_limited, decode."""
    with open(path, "rb") as handle:
        raw = loader.read_limited(handle, limits.max_file_bytes)
    if len(raw) > limits.max_file_bytes:
        return load_file(path, "f.yaml", Limits(max_file_bytes=0, max_depth=limits.max_depth))[1][0].rule_id, raw
    text, problem = decode(raw)
    if problem:
        return [], [problem]
    return load_text(text, path, "f.yaml", limits)


_BYTES = st.lists(
    st.sampled_from([b"a: 1\n", b"---\n", b"\xef\xbb\xbf", b"\x00", b"\xff", b"\xc3\x28", b"k: \xc3\xa9\n", b"\r\n", b"b: [\n", b""]),
    max_size=8,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(_BYTES)
def test_reading_a_file_gives_what_the_file_object_path_gives(tmp_path_factory, raw):
    path = str(tmp_path_factory.mktemp("f") / "f.yaml")
    with open(path, "wb") as handle:
        handle.write(raw)
    limits = Limits()
    assert load_file(path, "f.yaml", limits) == _general(path, limits)


def test_a_file_over_the_limit_and_an_unreadable_path_are_still_problems(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 100)
    documents, problems = load_file(str(big), "big.yaml", Limits(max_file_bytes=64))
    assert documents == [] and "larger than" in problems[0].message
    documents, problems = load_file(str(tmp_path / "gone.yaml"), "gone.yaml")
    assert documents == [] and problems[0].message == "cannot read file: No such file or directory"
    documents, problems = load_file(str(tmp_path), "dir.yaml")
    assert documents == [] and problems[0].message == "cannot read file: Is a directory"
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(b"")
    assert load_file(str(empty), "empty.yaml") == ([], [])
    if hasattr(os, "mkfifo"):  # not a regular file: goes the general way (and is not opened here at all)
        assert loader._read_small(str(tmp_path), 1024) is None
