"""A rule that raises on odd input becomes a located finding, not a traceback that aborts the run."""

from __future__ import annotations

from gitops_kit.config import Config
from gitops_kit.engine import Engine, RuleSet
from gitops_kit.model import DocRef, Document, Severity
from gitops_kit.rulebase import Context, Rule


def _boom(doc, ctx):
    raise ValueError("Dict key must be str\nsecond line")
    yield  # pragma: no cover - makes this a generator like real checks


def _collect_boom(doc, ctx):
    raise KeyError("spec")


def _rule(**kwargs) -> Rule:
    return Rule(id=kwargs.pop("id"), severity=Severity.WARNING, summary="s", rationale="r", fix="f", example="e", **kwargs)


def test_crashing_rules_become_findings(tmp_path):
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    document_rule = _rule(id="crash-check", check=_boom)
    aggregate_rule = _rule(id="crash-collect", scope="repository", collect=_collect_boom, finish=lambda records, ctx: [])
    config = Config(root=tmp_path)
    ruleset = RuleSet({"crash-check": document_rule, "crash-collect": aggregate_rule})
    engine = Engine(config, ruleset, Context(root=str(tmp_path)))
    doc = Document({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, DocRef(str(path), "cm.yaml"))
    engine.check_documents([doc])
    engine.finish()
    findings, _ = engine.findings()
    by_rule = {f.rule_id: f for f in findings}
    assert set(by_rule) == {"crash-check", "crash-collect"}
    assert "rule crashed" in by_rule["crash-check"].message and "ValueError: Dict key must be str" in by_rule["crash-check"].message
    assert "second line" not in by_rule["crash-check"].message
    assert by_rule["crash-check"].file == "cm.yaml" and by_rule["crash-check"].object == "ConfigMap/a"


def _finish_boom(records, ctx):
    raise RuntimeError("aggregation bug")
    yield  # pragma: no cover


def test_crashing_finish_becomes_a_note_and_keeps_other_findings(tmp_path):
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    aggregate_rule = _rule(id="crash-finish", scope="repository", collect=lambda doc, ctx: 1, finish=_finish_boom)
    document_rule = _rule(id="crash-check", check=_boom)
    ruleset = RuleSet({"crash-finish": aggregate_rule, "crash-check": document_rule})
    engine = Engine(Config(root=tmp_path), ruleset, Context(root=str(tmp_path)))
    doc = Document({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, DocRef(str(path), "cm.yaml"))
    engine.check_documents([doc])
    engine.finish()
    findings, _ = engine.findings()
    assert [f.rule_id for f in findings] == ["crash-check"]
    assert len(engine.notes) == 1 and "crash-finish crashed" in engine.notes[0]


def test_user_errors_from_rules_are_not_swallowed(tmp_path):
    from gitops_kit.errors import ToolError

    def _tool_missing(doc, ctx):
        raise ToolError("sops: not found on PATH")
        yield  # pragma: no cover

    rule = _rule(id="needs-tool", check=_tool_missing)
    ruleset = RuleSet({"needs-tool": rule})
    engine = Engine(Config(root=tmp_path), ruleset, Context(root=str(tmp_path)))
    doc = Document({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, DocRef(str(tmp_path / "x.yaml"), "x.yaml"))
    import pytest

    with pytest.raises(ToolError):
        engine.check_documents([doc])
