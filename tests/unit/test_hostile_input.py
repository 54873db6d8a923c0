"""Hostile input never raises: each case is a located finding or a note, within bounded time."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_kit.engine import validate
from gitops_kit.model import Report

ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
)
DEEP = "[" * 10_000 + "]" * 10_000 + "\n"
DEEP_BLOCK = "".join(" " * i + f"k{i}:\n" for i in range(3000)) + " " * 3000 + "leaf: 1\n"

CASES: dict[str, tuple[bytes, str | None]] = {
    # name: (file content, rule id expected, or None when the file may load cleanly)
    "alias-bomb": (ALIAS_BOMB.encode(), "yaml-syntax"),
    "deep-flow": (DEEP.encode(), "yaml-syntax"),
    "deep-block": (DEEP_BLOCK.encode(), "yaml-syntax"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)), "yaml-syntax"),
    "invalid-utf8": (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \xe9t\xe9\n", "yaml-syntax"),
    "tabs": (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n", "yaml-syntax"),
    "huge-integer": (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + b"9" * 5000 + b"\n", "object-identity"),
    "non-string-keys": (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  1: x\n  [a, b]: y\n  null: z\n", None),
    # alone, a scalar or list file is not a manifest (a values file); next to an object it is flagged
    "scalar-document": (b"just a string\n", None),
    "list-document": (b"- a\n- b\n", None),
    "scalar-in-manifest": (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\njust a string\n", "object-identity"),
    "list-in-manifest": (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n- a\n- b\n", "object-identity"),
    "kind-is-a-list": (b"apiVersion: [v1]\nkind: {a: b}\nmetadata: 5\n", "object-identity"),
    "only-markers": (b"---\n...\n---\n", None),
    "empty": (b"", None),
    "bom-crlf": ("\ufeffapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n".encode(), None),
    "unicode": ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ünïcødé-✓\n".encode(), None),
}


def run(tmp_path: Path, name: str, content: bytes) -> Report:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / f"{name}.yaml").write_bytes(content)
    return validate([root])


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_is_a_located_finding_never_an_exception(tmp_path, name):
    content, expected = CASES[name]
    report = run(tmp_path, name, content)
    assert isinstance(report, Report) and report.files == 1
    # the engine turns a rule that raised into a finding; hostile input must not make any rule crash
    assert [f for f in report.findings if "rule crashed" in f.message] == []
    if expected is None:
        assert [f for f in report.findings if f.rule_id == "yaml-syntax"] == []
    else:
        rules = {f.rule_id for f in report.findings}
        assert expected in rules, report.findings
        for finding in report.findings:
            assert finding.file == f"{name}.yaml" and finding.line >= 1


def test_alias_bomb_message_names_the_cause(tmp_path):
    report = run(tmp_path, "bomb", ALIAS_BOMB.encode())
    assert any("alias" in f.message for f in report.findings)


def test_invalid_utf8_is_located_at_the_bad_byte(tmp_path):
    report = run(tmp_path, "latin1", CASES["invalid-utf8"][0])
    (finding,) = report.findings
    assert (finding.line, finding.column) == (4, 9) and "UTF-8" in finding.message


def test_file_over_the_size_limit_is_skipped_with_a_finding(tmp_path):
    report = run(tmp_path, "huge", b"a: 1\n" * (6 * 1024 * 1024))  # 30 MiB, default limit is 20 MiB
    (finding,) = report.findings
    assert finding.rule_id == "yaml-syntax" and "limit" in finding.message
    assert report.documents == 0


def test_config_limits_lower_the_bounds(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".gitops-kit.yaml").write_text("limits:\n  max-file-bytes: 100\n  max-depth: 5\n")
    (root / "big.yaml").write_text("a: 1\n" * 100)
    (root / "deep.yaml").write_text("a: " + "[" * 10 + "]" * 10 + "\n")
    messages = {f.file: f.message for f in validate([root]).findings}
    assert "limit" in messages["big.yaml"] and "nested deeper than 5" in messages["deep.yaml"]


def test_unreadable_directory_entry_named_yaml(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "dir.yaml").mkdir()  # a directory with a YAML name is not a file to load
    (root / "dangling.yaml").symlink_to(root / "missing-target.yaml")
    report = validate([root])
    assert isinstance(report, Report)
