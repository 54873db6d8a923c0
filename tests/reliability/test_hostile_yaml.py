"""Hostile YAML, end to end: each case is a located finding from the real CLI, in bounded time and memory.

tests/unit/test_hostile_input.py covers each case through `validate()`; this file adds what it does
not: a 100 MB file (the size limit triggers before the file is read whole), merge keys, duplicate
keys at their line, and all cases at once through `gitops-kit validate --format json` (exit 1, JSON
parses, no traceback on stderr).
"""

from __future__ import annotations

import json
import os
import tracemalloc

import pytest

from gitops_kit.config import ConfigError, load_config
from gitops_kit.engine import validate
from gitops_kit.loader import Limits
from tests.unit.test_hostile_input import ALIAS_BOMB, CASES, DEEP

HUNDRED_MB = 100 * 1024 * 1024


def _repo(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


def _sparse_file(path, size):
    """A valid YAML header, then a hole up to `size` bytes: 100 MB on paper, nothing on disk."""
    with open(path, "wb") as handle:
        handle.write(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: |\n    ")
        handle.truncate(size)


def test_100_mb_file_is_skipped_with_a_finding_without_reading_it_whole(tmp_path):
    root = _repo(tmp_path)
    _sparse_file(root / "huge.yaml", HUNDRED_MB)
    assert os.path.getsize(root / "huge.yaml") == HUNDRED_MB
    (finding,) = validate([root]).findings
    assert finding.rule_id == "yaml-syntax" and finding.file == "huge.yaml" and "limit" in finding.message


def test_100_mb_file_costs_memory_bounded_by_the_limit_not_the_file(tmp_path):
    root = _repo(tmp_path)
    _sparse_file(root / "huge.yaml", HUNDRED_MB)
    tracemalloc.start()
    try:
        validate([root])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the loader reads at most limit + 1 bytes: memory stays near the 20 MiB default, far below the file
    assert peak < Limits().max_file_bytes + 16 * 1024 * 1024


def test_size_limit_is_configurable_and_the_message_names_the_setting(tmp_path):
    root = _repo(tmp_path)
    (root / ".gitops-kit.yaml").write_text("limits:\n  max-file-bytes: 2097152\n", encoding="utf-8")
    (root / "mid.yaml").write_bytes(b"a: " + b"x" * (3 * 1024 * 1024) + b"\n")
    (finding,) = validate([root]).findings
    assert "2 MiB limit" in finding.message and "max_file_bytes" in finding.message


@pytest.mark.parametrize("bad", ["limits: {max-file-bytes: -1}", "limits: {max-depth: lots}", "limits: {max-aliases: 3}", "limits: 7"])
def test_invalid_limits_are_a_configuration_error(tmp_path, bad):
    root = _repo(tmp_path)
    (root / ".gitops-kit.yaml").write_text(bad + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="limits"):
        load_config(root)


def test_merge_key_is_reported_at_its_line(tmp_path):
    # gitops-kit reads YAML 1.2, where `<<` is an ordinary key; the schema check reports it where it is
    root = _repo(tmp_path)
    (root / "merge.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\ndata: &d\n  name: a\nmetadata:\n  <<: *d\n",
        encoding="utf-8",
    )
    findings = validate([root]).findings
    assert [(f.line, f.column) for f in findings if "'<<'" in f.message] == [(6, 3)]
    assert "object-identity" in {f.rule_id for f in findings}  # kubectl would merge the keys; here they are missing


def test_duplicate_key_is_reported_at_the_repeated_key(tmp_path):
    root = _repo(tmp_path)
    (root / "dup.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n", encoding="utf-8")
    (finding,) = [f for f in validate([root]).findings if f.rule_id == "duplicate-key"]
    assert (finding.line, finding.column) == (5, 3) and "'name'" in finding.message


def test_every_hostile_file_at_once_through_the_cli(tmp_path, cli):
    root = _repo(tmp_path)
    for name, (content, _expected) in CASES.items():
        (root / f"{name}.yaml").write_bytes(content)
    (root / "alias-bomb-2.yaml").write_text(ALIAS_BOMB.replace("a: &a", "z: &a"), encoding="utf-8")
    (root / "deep-2.yaml").write_text("k: " + DEEP, encoding="utf-8")
    _sparse_file(root / "huge.yaml", HUNDRED_MB)
    result = cli("validate", str(root), "--format", "json")
    assert result.returncode == 1 and result.stderr == ""
    payload = json.loads(result.stdout)
    by_file: dict[str, list[dict]] = {}
    for finding in payload["findings"]:
        by_file.setdefault(finding["file"], []).append(finding)
    expected = {f"{n}.yaml" for n, (_, rule) in CASES.items() if rule} | {"alias-bomb-2.yaml", "deep-2.yaml", "huge.yaml"}
    assert expected <= set(by_file)
    for file in expected:
        assert all(f["line"] >= 0 and f["rule"] for f in by_file[file])
    assert payload["summary"]["files"] == len(CASES) + 3


def test_a_file_name_that_is_not_utf8_keeps_every_report_valid(tmp_path, cli):
    root = _repo(tmp_path)
    (root / os.fsdecode(b"bad\xff.yaml")).write_text("a: [\n", encoding="utf-8")
    for fmt in ("json", "sarif", "gitlab", "junit", "github", "text"):
        out = tmp_path / f"report.{fmt}"
        result = cli("validate", str(root), "--format", fmt, "-o", str(out))
        assert result.returncode == 1 and result.stderr == "", (fmt, result.stderr)
        if fmt in ("json", "sarif", "gitlab"):
            text = json.dumps(json.loads(out.read_text(encoding="utf-8")))
            assert "bad" in text
    sarif = json.loads((tmp_path / "report.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad%FF.yaml"
