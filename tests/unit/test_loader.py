"""Loader: document splitting, start lines, encodings and the ignore comments/annotations it records."""

from __future__ import annotations

import pytest

from gitops_kit.loader import Limits, decode, load_file, load_text, split_documents


def load(text: str):
    return load_text(text, "/abs/f.yaml", "f.yaml")


def test_single_document_without_marker():
    docs, problems = load("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    assert problems == []
    assert [(d.ref.index, d.ref.line, d.name) for d in docs] == [(0, 1, "a")]


def test_multi_document_start_lines_skip_markers_and_comments():
    text = (
        "# header comment\n"          # 1
        "---\n"                        # 2
        "kind: A\n"                    # 3
        "---\n"                        # 4
        "# leading comment\n"          # 5
        "\n"                           # 6
        "kind: B\n"                    # 7
        "...\n"                        # 8
        "---\n"                        # 9
        "kind: C\n"                    # 10
    )
    docs, problems = load(text)
    assert problems == []
    assert [(d.data["kind"], d.ref.line) for d in docs] == [("A", 3), ("B", 7), ("C", 10)]


def test_empty_documents_are_dropped_but_keep_indexes_stable():
    docs, problems = load("---\n---\n# only a comment\n---\nkind: X\n---\n")
    assert problems == []
    assert [(d.data["kind"], d.ref.line) for d in docs] == [("X", 5)]


def test_block_scalar_on_marker_line_belongs_to_the_document():
    docs, problems = load("--- |\n  literal text\n---\nkind: Y\n")
    assert problems == []
    assert docs[0].data == "literal text\n"
    assert docs[1].data == {"kind": "Y"} and docs[1].ref.line == 4


def test_marker_inside_a_block_scalar_is_not_a_split():
    # `---` indented inside a literal block is content, not a marker
    docs, problems = load("data: |\n  ---\n  text\nkind: Z\n")
    assert problems == []
    assert docs[0].data["data"] == "---\ntext\n"


def test_bom_is_dropped():
    text, problem = decode("\ufeffkind: A\n".encode("utf-8"))
    assert problem is None and text == "kind: A\n"


def test_crlf_line_endings_keep_lines(tmp_path):
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b"kind: A\r\n---\r\n# c\r\nkind: B\r\nmetadata:\r\n  name: b\r\n")
    docs, problems = load_file(str(path), "crlf.yaml")
    assert problems == []
    assert [(d.kind, d.ref.line) for d in docs] == [("A", 1), ("B", 4)]
    assert docs[1].name == "b"


def test_syntax_error_has_file_line_and_column():
    docs, problems = load("kind: A\n---\nkind: B\nmetadata:\n  name: [unclosed\n")
    assert [d.kind for d in docs] == ["A"]
    assert len(problems) == 1
    assert problems[0].rule_id == "yaml-syntax" and problems[0].line >= 3 and problems[0].index == 1


def test_duplicate_key_is_located_and_the_document_still_loads():
    docs, problems = load("kind: A\nmetadata:\n  name: a\n  name: b\n")
    assert [(p.rule_id, p.line, p.column) for p in problems] == [("duplicate-key", 4, 3)]
    assert docs[0].name == "b"


def test_split_documents_reports_chunk_lines():
    chunks = split_documents("a: 1\n---\nb: 2\n")
    assert [(c.index, c.line) for c in chunks] == [(0, 1), (1, 2)]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"kind: A\n\x00\x01\x02", "binary file"),
        (b"kind: A\nname: \xff\xfe\n", "invalid UTF-8 (byte 0xff)"),
    ],
)
def test_undecodable_bytes_are_problems(raw, expected):
    text, problem = decode(raw)
    assert text is None and expected in problem.message


def test_invalid_utf8_is_located():
    _, problem = decode(b"a: 1\nb: \xc3\x28\n")
    assert (problem.line, problem.column) == (2, 4)


def test_oversized_file_is_a_problem_not_a_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" * 300)
    docs, problems = load_file(str(path), "big.yaml", Limits(max_file_bytes=1024))
    assert docs == [] and "limit" in problems[0].message


def test_annotations_and_top_comment_are_recorded_as_ignores():
    text = (
        "# gitops-kit: ignore object-identity, duplicate-key\n"
        "kind: A\n"
        "metadata:\n"
        "  annotations:\n"
        "    ignore-check.gitops-kit.io/some-rule: \"reviewed\"\n"
        "---\n"
        "kind: B\n"
        "metadata:\n"
        "  annotations:\n"
        "    gitops-kit.io/ignore-all: \"generated\"\n"
    )
    docs, _ = load(text)
    assert docs[0].ref.ignored == {"object-identity", "duplicate-key", "some-rule"}
    assert docs[1].ref.ignored == {"*"}


def test_nul_byte_late_in_the_file_is_still_binary(tmp_path):
    # yaml_rs stops at a NUL: without this check the rest of the file would be dropped silently
    path = tmp_path / "late.yaml"
    path.write_bytes(b"kind: A\n" + b"# padding\n" * 2000 + b"\x00kind: B\n")
    docs, problems = load_file(str(path), "late.yaml")
    assert docs == [] and "binary" in problems[0].message


@pytest.mark.parametrize("space", ["\xa0", "\u2003", "\u3000"])
def test_a_unicode_space_is_content_not_yaml_white_space(space):
    # YAML's white space is space and tab only: a line "\xa0---" is content (not a marker, not blank)
    docs, problems = load(f"\n{space}---\n- 7\n")
    assert problems == [] and [(d.data, d.ref.line) for d in docs] == [(f"{space}--- - 7", 2)]
    # a document of nothing but a Unicode space is a scalar document, not an empty one
    docs, problems = load(f"a: 1\n---\n{space}\n")
    assert problems == [] and [(d.data, d.ref.line) for d in docs] == [({"a": 1}, 1), (space, 3)]


def test_a_unicode_space_before_hash_is_not_an_ignore_comment():
    text = "\xa0# gitops-kit: ignore object-identity\nkind: A\n---\n# gitops-kit: ignore a\u3000b\nkind: B\n"
    docs, problems = load(text)
    assert problems == []
    assert [(d.ref.line, d.ref.ignored) for d in docs] == [(1, frozenset()), (5, frozenset({"a"}))]
    assert docs[0].data == {"\xa0# gitops-kit": "ignore object-identity", "kind": "A"}


def test_line_ignores_needs_a_real_comment_and_counts_yaml_lines():
    from gitops_kit.loader import line_ignores

    text = "a: 1 # gitops-kit: ignore x\nb: \xa0# gitops-kit: ignore y\nc: \"\u2028\" # gitops-kit: ignore z\n"
    assert line_ignores(text) == {1: frozenset({"x"}), 3: frozenset({"z"})}
