"""What a large `validate` run imports in every process it forks (docs/benchmarks.md, the 6,000-document bar).

Each process of a parallel run imports the rules its documents need after the fork, so a module that a
common document pulls in is paid once per core. These tests pin the cheap import paths of the encrypted
Secret and `.sops.yaml` documents every SOPS repository has.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from gitops_kit.secrets.sops_config import CreationRule, creation_rules

SOPS_YAML = """\
creation_rules:
  - path_regex: .*\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: age1henwn645drkd3fa34t27t2w2x0nsgw3w4h62gmg5x5xflyjpy38s5cncph
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
stringData:
  password: ENC[AES256_GCM,data:dXsQaq+hLKqY,iv:p3r6s9hLncZrGqusULD7vI+J7F95vSIWFspfcAYI7Kk=,tag:FT0oghVioRvjA0jHpCHoKQ==,type:str]
sops:
  age:
    - recipient: age1henwn645drkd3fa34t27t2w2x0nsgw3w4h62gmg5x5xflyjpy38s5cncph
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        ijSIjTlsqzuA0n9Y3xEaOz3yRa2pCAI4mnjNwpSSqHX3SsbzqiAvStmJL+11WYAF
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2026-01-26T10:00:00Z"
  mac: ENC[AES256_GCM,data:fhAH17ldrGTYktpe,iv:2AaspU4BnCvw/igr1LSSgMeQGDr7X2n7TTImAz0BQcU=,tag:MYETM2teJIrOyIrrZPM73A==,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.10.2
"""


def test_a_sops_repository_run_imports_no_dataclasses_pathlib_or_ruamel(tmp_path):
    (tmp_path / ".sops.yaml").write_text(SOPS_YAML)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "db.yaml").write_text(SECRET)
    code = (
        "import sys; from gitops_kit.cli import main; "
        f"status = main(['validate', '--quiet', {str(tmp_path)!r}]); "
        "print(status, [m for m in ('dataclasses', 'pathlib', 'ruamel.yaml') if m in sys.modules], "
        "'gitops_kit.rules.sops_rule_coverage' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the .sops.yaml and the Secret did reach sops-rule-coverage, which reads the creation rules
    assert result.stdout.strip() == "0 [] True"


def test_creation_rules_are_frozen_values_that_survive_pickling():
    """Creation rules travel inside sops-rule-coverage's records from worker processes to the parent."""
    rules = creation_rules(
        {"creation_rules": [{"path_regex": "^a/", "age": "age1x, age1y", "encrypted_regex": "^data$"}, {"pgp": ["F1"]}]}
    )
    assert rules[0] == CreationRule(0, "^a/", ("age1x", "age1y"), (), ("encrypted_regex", "^data$"), False)
    assert rules[1].path_regex == "" and rules[1].pgp == ("F1",) and rules[1].selection is None
    assert pickle.loads(pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL)) == rules
    assert len({rules[0], pickle.loads(pickle.dumps(rules[0]))}) == 1
    with pytest.raises(AttributeError):  # records share one rule: it must not change
        rules[0].age = ()  # type: ignore[misc]


def test_first_matching_rule_keeps_sops_first_match_semantics_and_reports_a_bad_regex():
    from gitops_kit.errors import UserError
    from gitops_kit.secrets.sops_config import first_matching_rule

    rules = creation_rules({"creation_rules": [{"path_regex": r"^prod/", "age": "a"}, {"path_regex": r"\.yaml$", "age": "b"}, {"age": "c"}]})
    for _ in range(2):  # the second round answers from the compiled patterns
        assert first_matching_rule(rules, "prod/x.yaml").age == ("a",)
        assert first_matching_rule(rules, "dev/x.yaml").age == ("b",)
        assert first_matching_rule(rules, "dev/x.json").age == ("c",)
    bad = creation_rules({"creation_rules": [{"path_regex": "(", "age": "a"}]})
    with pytest.raises(UserError, match=r"creation_rules\[0\]\.path_regex '\(' is not a valid regex"):
        first_matching_rule(bad, "x.yaml")
