"""A large run compiles each kind's schema validator for its first document (docs/benchmarks.md).

The pure-Python first checks (`schema_accept`) spare a pre-commit run jsonschema_rs; a run over
hundreds of files compiles every kind it meets anyway, so there they would only add work.
"""

from __future__ import annotations

from gitops_kit.config import load_config
from gitops_kit.schemas import SchemaService, Validator, service_from_config

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}


def test_a_large_run_compiles_at_the_first_document(tmp_path):
    service = service_from_config(load_config(tmp_path), many=True)
    assert service.validate(CONFIG_MAP, "v1", "ConfigMap") == []
    assert service.validator("v1", "ConfigMap").compiled is not None


def test_a_small_run_answers_its_first_documents_without_compiling(tmp_path):
    service = service_from_config(load_config(tmp_path))
    assert service.quick_checks == Validator.QUICK_CHECKS
    assert service.validate(CONFIG_MAP, "v1", "ConfigMap") == []
    assert service.validator("v1", "ConfigMap").compiled is None


def test_both_report_the_same_issues_and_unknown_kinds_alike():
    broken = {**CONFIG_MAP, "data": {"k": 1}}
    quick, eager = SchemaService(), SchemaService(quick_checks=0)
    assert [i.message for i in quick.validate(broken, "v1", "ConfigMap")] == [
        i.message for i in eager.validate(broken, "v1", "ConfigMap")
    ] != []
    assert quick.validate(CONFIG_MAP, "example.org/v1", "Widget") is None
    assert eager.validate(CONFIG_MAP, "example.org/v1", "Widget") is None


def test_the_compiled_shortcut_leaves_odd_values_and_sops_blocks_to_the_full_check():
    eager = SchemaService(quick_checks=0)
    huge = {**CONFIG_MAP, "data": {"k": 10**30}}  # beyond 64 bits: jsonschema_rs cannot take it as is
    assert [i.message for i in eager.validate(huge, "v1", "ConfigMap")] == [
        i.message for i in SchemaService().validate(huge, "v1", "ConfigMap")
    ] != []
    encrypted = {**CONFIG_MAP, "sops": {"mac": "ENC[...]"}}  # set aside before validating, as before
    assert eager.validate(encrypted, "v1", "ConfigMap") == []
