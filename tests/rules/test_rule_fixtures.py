"""Every rule against its fixtures: `pass` cases give no finding of the rule, `fail` cases give exactly
the findings their `# expect: <rule-id>:<line>` comments list (file, rule and line must match)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitops_kit.engine import validate
from gitops_kit.rulebase import all_rules

from ..conftest import FIXTURES, copy_tree

RULE_FIXTURES = FIXTURES / "rules"
_EXPECT = re.compile(r"#\s*expect:\s*(.+)$")


def _cases(kind: str):
    for rule_id in sorted(all_rules()):
        folder = RULE_FIXTURES / rule_id / kind
        if folder.is_dir():
            for case in sorted(folder.iterdir()):
                yield pytest.param(rule_id, case, id=f"{rule_id}/{kind}/{case.name}")


def _expected(root: Path, rule_id: str) -> set[tuple[str, int]]:
    expected = set()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        for line in text.splitlines():
            match = _EXPECT.search(line)
            if not match:
                continue
            for item in match.group(1).split(","):
                rid, _, number = item.strip().rpartition(":")
                if rid == rule_id:
                    expected.add((path.name, int(number)))
    return expected


def _run(tmp_path: Path, case: Path, rule_id: str):
    target = copy_tree(case, tmp_path / "case")
    report = validate([target], rules=[rule_id])
    return target, [f for f in report.findings if f.rule_id == rule_id]


@pytest.mark.parametrize(("rule_id", "case"), list(_cases("pass")))
def test_pass_fixture_has_no_finding(tmp_path, rule_id, case):
    _, findings = _run(tmp_path, case, rule_id)
    assert findings == [], "\n".join(f"{f.location} {f.message}" for f in findings)


@pytest.mark.parametrize(("rule_id", "case"), list(_cases("fail")))
def test_fail_fixture_has_expected_findings(tmp_path, rule_id, case):
    target, findings = _run(tmp_path, case, rule_id)
    expected = _expected(target, rule_id)
    assert expected, f"fail fixture {case} declares no `# expect: {rule_id}:<line>`"
    got = {(Path(f.file).name, f.line) for f in findings}
    assert got == expected, "\n".join(f"{f.location} {f.message}" for f in findings)
