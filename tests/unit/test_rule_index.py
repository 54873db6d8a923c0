"""The rule index lets a run import only the rule modules its documents need; it must match the rules."""

from __future__ import annotations

import subprocess
import sys

from gitops_kit import rulebase
from gitops_kit.rulebase import all_rules, rule_entries


def test_index_is_current():
    with open(rulebase._rules_dir() + "/_index.py", encoding="utf-8") as handle:
        assert handle.read() == rulebase.index_source(), "run: python -m gitops_kit.rulebase --write-index"


def test_entries_agree_with_the_imported_rules():
    for rule_id, rule in all_rules().items():
        entry = rule_entries()[rule_id]
        assert (entry.scope, entry.index_fields(), entry.default_enabled) == (rule.scope, rule.index_fields(), rule.default_enabled)


def test_a_deployment_run_imports_only_the_rules_it_needs(tmp_path):
    manifest = tmp_path / "app.yaml"
    manifest.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n")
    code = (
        "import sys\n"
        "from gitops_kit import validate\n"
        f"validate([{str(manifest)!r}])\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('gitops_kit.rules.'))))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "gitops_kit.rules.container_memory_limit" in loaded  # applies to Deployments
    for unrelated in ("gpu_mig_config", "gitlab_runner_values", "pod_security_policy", "helm_values_schema"):
        assert f"gitops_kit.rules.{unrelated}" not in loaded


def test_a_rule_module_that_cannot_be_imported_is_one_clear_error():
    import pytest

    from gitops_kit.errors import UserError

    with pytest.raises(UserError, match=r"rule module gitops_kit\.rules\.no_such_rule cannot be loaded \(ModuleNotFoundError"):
        rulebase._import("no_such_rule")


def test_rule_ids_are_kebab_case():
    import itertools
    import re

    kebab = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
    for length in range(5):
        for letters in itertools.product(["a", "9", "-", "A", "_"], repeat=length):
            text = "".join(letters)
            assert rulebase._is_rule_id(text) == bool(kebab.fullmatch(text)), text
