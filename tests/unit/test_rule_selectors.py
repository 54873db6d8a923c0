"""Rule selectors (rulebase.Selector): the engine gives a rule only the documents its selector picks, so a
selector that leaves out a document the rule reports on or records silently loses findings.

The proof runs every rule with a narrowed selector on *every* document of real trees (the rule fixtures,
the example fleets, rendered overlays included) and checks that whatever the rule says about a document
comes from a document its selector picks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_kit.config import load_config
from gitops_kit.discover import discover
from gitops_kit.engine import Engine, RuleSet, load_serially, render_into
from gitops_kit.model import Severity
from gitops_kit.rulebase import Context, Rule, Selector, load_rule, name_patterns, rule_entries

ROOT = Path(__file__).resolve().parents[2]
# rules that see more than objects of their kinds: what their selectors leave out must be of no interest
NARROWED = sorted(
    rule_id
    for rule_id, entry in rule_entries().items()
    if entry.scope != "load"
    and not entry.any_document
    and (entry.plain_documents or entry.marker_keys or entry.file_names or entry.api_versions is not None)
)
TREES = ["tests/fixtures/rules", "tests/fixtures/sops", "examples/flux-fleet", "examples/argocd-fleet"]


def test_the_sops_fleet_and_secret_rules_are_narrowed():
    assert {"secret-not-encrypted", "sops-mac", "sops-rule-coverage", "flux-decryption", "ksops-decryption",
            "fleet-cluster-identity", "fleet-mesh-consistency", "fleet-pod-cidr", "deprecated-api"} <= set(NARROWED)


class _Spy(RuleSet):
    """Remembers the dispatch key of the document being checked (the engine looks it up in `_dispatch`)."""

    key: list = [()]

    def __init__(self, rules) -> None:
        super().__init__(rules)
        key = self.key

        class Remembering(dict):
            def get(self, found, default=None):
                key[0] = found
                return super().get(found, default)

        self._dispatch = Remembering()


def _seeing_everything(rule: Rule, key: list, leaks: list) -> Rule:
    """The rule with `any_document=True` (and its marker keys and file names, so that the engine works
    them out), noting each document it has something to say about that its real selector would not
    have given it."""

    def note(doc, said):
        if said and not rule.selects(*key[0]):
            leaks.append((rule.id, doc.ref.file, doc.ref.index, key[0]))

    def check(doc, ctx):
        found = list(rule.check(doc, ctx))
        note(doc, found)
        return found

    def collect(doc, ctx):
        record = rule.collect(doc, ctx)
        note(doc, record is not None)
        return record

    return Rule(
        id=rule.id, severity=rule.severity, summary=rule.summary, rationale=rule.rationale, fix=rule.fix, example=rule.example,
        scope=rule.scope, any_document=True, check=check if rule.check else None, collect=collect if rule.collect else None,
        finish=rule.finish, marker_keys=rule.marker_keys, file_names=rule.file_names, api_versions=rule.api_versions,
    )


@pytest.mark.parametrize("tree", TREES)
def test_selectors_keep_every_document_a_rule_reports_on(tree, tmp_path):
    root = tmp_path / "tree"
    shutil.copytree(ROOT / tree, root)
    config = load_config(root)
    leaks: list = []
    spy = _Spy({rule_id: _seeing_everything(load_rule(rule_id), _Spy.key, leaks) for rule_id in NARROWED})
    engine = Engine(config, spy, Context(root=str(root), services={"fleet": config.section("fleet")}))
    discovery = discover([root], config)
    rendered = render_into(engine, discovery)
    load_serially(engine, discovery.files, rendered.input_files)
    engine.finish()
    assert engine.documents > 0
    assert not leaks, f"selectors drop documents their rules report on or record: {leaks[:5]}"


def test_selector_semantics():
    secret = Selector(kinds={"Secret"}, file_names=("*.sops.yaml",))
    assert secret.selects("Secret", True)
    assert not secret.selects("Secret", False)  # a non-object (non-manifest file) is not a Secret to check
    assert not secret.selects("ConfigMap", True)
    assert secret.selects("ConfigMap", True, names=("*.sops.yaml",))
    marked = Selector(kinds=(), marker_keys=("sops",))
    assert not marked.selects("Secret", True) and not marked.selects("", False)
    assert marked.selects("Secret", True, markers=("sops",)) and marked.selects("", False, markers=("sops",))
    plain = Selector(kinds={"HelmRelease"}, plain_documents=True)
    assert plain.selects("", False) and plain.selects("HelmRelease", False) and not plain.selects("Deployment", True)
    assert Selector().selects("Anything", True) and not Selector().selects("Anything", False)
    assert Selector(any_document=True).selects("", False)


def test_api_versions_narrow_objects_only():
    deprecated = Selector(api_versions={"batch/v1beta1"})
    assert deprecated.selects("CronJob", True, api_version="batch/v1beta1")
    assert not deprecated.selects("CronJob", True, api_version="batch/v1")
    assert not Selector(kinds={"Job"}, api_versions={"batch/v1"}).selects("CronJob", True, api_version="batch/v1")
    assert Selector(api_versions=(), plain_documents=True).selects("", False)


def test_selector_descriptions():
    assert Selector(any_document=True).describe() == "any YAML document"
    assert Selector().describe() == "any object"
    assert load_rule("sops-mac").describe() == "files with a top-level `sops` key"
    assert load_rule("secret-not-encrypted").describe() == (
        "Secret; files named `*.enc.yaml`, `*.enc.yml`, `*.sops.yaml`, `*.sops.yml`"
    )
    assert load_rule("fleet-pod-cidr").describe() == (
        "Application, HelmRelease; documents that are not objects (values files, configs); "
        "files named `.gitops-kit.yaml`, `.gitops-kit.yml`"
    )


def test_file_name_patterns():
    patterns = ("*.sops.yaml", ".sops.yaml", "kustomization.yaml")
    assert name_patterns("db.sops.yaml", patterns) == ("*.sops.yaml",)
    assert name_patterns(".sops.yaml", patterns) == ("*.sops.yaml", ".sops.yaml")
    assert name_patterns("kustomization.yaml", patterns) == ("kustomization.yaml",)
    assert name_patterns("app.yaml", patterns) == ()


def test_the_engine_gives_markers_to_every_document_of_the_file(tmp_path):
    """An encrypted document marks its file: the plain first document of that file reaches marker rules
    (sops-rule-coverage reports it), the documents of other files do not."""
    seen: list[tuple[str, int]] = []

    def collect(doc, ctx):
        seen.append((doc.ref.file, doc.ref.index))

    rule = Rule(id="marked", severity=Severity.INFO, summary="s", rationale="r", fix="f", example="e", scope="repository",
                kinds=frozenset(), marker_keys=("sops",), collect=collect, finish=lambda records, ctx: [])
    (tmp_path / "mixed.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
                                         "apiVersion: v1\nkind: Secret\nmetadata: {name: b}\nsops: {mac: x}\n")
    (tmp_path / "plain.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n")
    config = load_config(tmp_path)
    engine = Engine(config, RuleSet({"marked": rule}), Context(root=str(tmp_path)))
    load_serially(engine, discover([tmp_path], config).files)
    assert sorted(seen) == [("mixed.yaml", 0), ("mixed.yaml", 1)]
