"""Meta-tests: every rule is documented, has pass and fail fixtures, and docs/rules.md is current."""

from __future__ import annotations

import pytest

from gitops_kit.rulebase import all_rules
from gitops_kit.ruledocs import rules_markdown

from ..conftest import FIXTURES, ROOT

RULES = all_rules()


def test_registry_finds_rules():
    assert {"yaml-syntax", "object-identity", "duplicate-object", "duplicate-key"} <= set(RULES)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_is_documented(rule_id):
    rule = RULES[rule_id]
    for field in ("summary", "rationale", "fix", "example"):
        value = getattr(rule, field)
        assert isinstance(value, str) and len(value.strip()) >= 10, f"{rule_id}: {field} is missing or too short"
    assert rule.summary.strip().endswith("."), f"{rule_id}: summary should be a sentence"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_has_pass_and_fail_fixtures(rule_id):
    folder = FIXTURES / "rules" / rule_id
    for kind in ("pass", "fail"):
        cases = list((folder / kind).glob("*")) if (folder / kind).is_dir() else []
        assert cases, f"{rule_id}: add at least one case under tests/fixtures/rules/{rule_id}/{kind}/"


def test_docs_rules_md_is_current():
    generated = rules_markdown(RULES.values())
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == generated, "docs/rules.md is stale: run `gitops-kit rules --format markdown > docs/rules.md`"
