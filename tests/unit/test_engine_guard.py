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
    ruleset = RuleSet(
        rules={"crash-check": document_rule, "crash-collect": aggregate_rule},
        any_kind=(document_rule,),
        aggregates=(aggregate_rule,),
    )
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
