"""Every output format on a realistic report (the real engine on a small broken tree) and on edge cases."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from gitops_kit import report as formats
from gitops_kit.engine import validate
from gitops_kit.model import Finding, Report, RuleInfo, Severity
from gitops_kit.report import RenderOptions, github, gitlab, junit, sarif
from tests.conftest import FIXTURES, ROOT, copy_tree

SARIF_SCHEMA = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
REPORT_SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
OPTIONS = RenderOptions(tool_version="0.1.0")
EXPECTED = {
    ("broken.yaml", "yaml-syntax", 6),
    ("duplicate-key.yaml", "duplicate-key", 8),
    ("duplicate-object.yaml", "duplicate-object", 6),
    ("nameless.yaml", "object-identity", 3),
}


@pytest.fixture
def real_report(tmp_path: Path) -> Report:
    tree = copy_tree(FIXTURES / "report" / "tree", tmp_path / "repo")
    (tree / ".git").mkdir()  # marks the repository root so files are reported relative to it
    return validate([tree])


def _rule(rule_id: str, severity: Severity = Severity.ERROR) -> RuleInfo:
    return RuleInfo(rule_id, severity, f"summary of {rule_id}", "why it matters", "how to fix", f"docs/rules.md#{rule_id}")


def edge_report() -> Report:
    """Unknown positions, unicode, newlines, percent signs, commas, colons and control characters."""
    findings = [
        Finding("yaml-syntax", Severity.ERROR, "binary file: 100% not YAML\nsecond line\r\nthird", "dir with space/bin,ary:x.yaml"),
        Finding("object-identity", Severity.WARNING, "ünïcødé ✓ name — ok", "clusters/cern-ö/app.yaml", 3, 0, "ConfigMap/ns/ä"),
        Finding("object-identity", Severity.WARNING, "ünïcødé ✓ name — ok", "clusters/cern-ö/app.yaml", 9, 1, "ConfigMap/ns/ä"),
        Finding("duplicate-key", Severity.INFO, "control \x00\x1b[31m chars & <tags> \"quotes\"", "a.yaml", 2, 5, fix="fix it\x07"),
    ]
    return Report(
        findings=sorted(findings),
        files=3,
        documents=4,
        rules=[_rule("yaml-syntax"), _rule("object-identity", Severity.WARNING), _rule("duplicate-key")],
        notifications=["skipped big.yaml: 31457280 bytes, over the 10 MiB limit"],
    )


def test_every_format_is_a_cli_choice():
    assert {"text", "json", "sarif", "junit", "github", "gitlab"} <= set(formats.names())
    for name in formats.names():
        assert formats.get(name).DESCRIPTION


def test_real_report_has_the_four_findings(real_report):
    found = {(Path(f.file).name, f.rule_id, f.line) for f in real_report.findings}
    assert found == EXPECTED


@pytest.mark.parametrize("make", ["real", "edge", "empty"])
def test_sarif_validates_against_the_official_schema(make, real_report):
    report = {"real": real_report, "edge": edge_report(), "empty": Report()}[make]
    payload = json.loads(sarif.render(report, OPTIONS))
    jsonschema.validate(payload, SARIF_SCHEMA)
    run = payload["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not physical["artifactLocation"]["uri"].startswith("/")
        # GitHub code scanning rejects startLine < 1: unknown lines have no region at all
        if "region" in physical:
            assert physical["region"]["startLine"] >= 1
            assert physical["region"].get("startColumn", 1) >= 1


def test_sarif_content(real_report):
    run = json.loads(sarif.render(real_report, OPTIONS))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "gitops-kit" and driver["version"] == "0.1.0"
    assert "informationUri" not in driver
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    assert by_id["duplicate-key"]["defaultConfiguration"]["level"] == "error"
    assert "Fix:" in by_id["duplicate-key"]["help"]["text"] and "**Fix:**" in by_id["duplicate-key"]["help"]["markdown"]
    located = {
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in run["results"]
    }
    assert located == EXPECTED
    fingerprints = {r["partialFingerprints"]["gitopsKit/v1"] for r in run["results"]}
    assert fingerprints == {f.fingerprint() for f in real_report.findings}


def test_sarif_edge_cases():
    payload = json.loads(sarif.render(edge_report(), OPTIONS))
    run = payload["runs"][0]
    unknown = next(r for r in run["results"] if r["ruleId"] == "yaml-syntax")
    physical = unknown["locations"][0]["physicalLocation"]
    assert "region" not in physical
    assert physical["artifactLocation"]["uri"] == "dir%20with%20space/bin%2Cary%3Ax.yaml"
    column_unknown = next(r for r in run["results"] if r["locations"][0]["physicalLocation"].get("region", {}).get("startLine") == 3)
    assert "startColumn" not in column_unknown["locations"][0]["physicalLocation"]["region"]
    assert column_unknown["properties"]["object"] == "ConfigMap/ns/ä"
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"].startswith("skipped big.yaml")
    assert next(r for r in run["results"] if r["ruleId"] == "duplicate-key")["level"] == "note"


def test_sarif_lists_rules_that_only_appear_in_findings():
    report = Report(findings=[Finding("from-a-plugin", Severity.WARNING, "m", "a.yaml", 1, 1)])
    payload = json.loads(sarif.render(report, OPTIONS))
    jsonschema.validate(payload, SARIF_SCHEMA)
    assert payload["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "from-a-plugin"


@pytest.mark.parametrize("make", ["real", "edge", "empty"])
def test_json_matches_its_schema(make, real_report):
    report = {"real": real_report, "edge": edge_report(), "empty": Report()}[make]
    payload = json.loads(formats.get("json").render(report, OPTIONS))
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(payload)
    assert payload["summary"]["findings"] == len(report.findings)


def test_junit_real_report_parses_and_fails_per_finding(real_report):
    root = ET.fromstring(junit.render(real_report, OPTIONS))
    assert root.tag == "testsuites"
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == 4 == int(root.get("failures"))
    suites = {suite.get("name") for suite in root.findall("testsuite")}
    assert suites == {rule.id for rule in real_report.rules}
    names = {case.get("name") for case in root.iter("testcase") if case.find("failure") is not None}
    assert "nameless.yaml:3:1 Service/default/?" in names


def test_junit_lesser_findings_are_not_failures_and_control_characters_are_escaped():
    text = junit.render(edge_report(), RenderOptions(fail_on="error"))
    root = ET.fromstring(text.encode("utf-8"))  # would raise on an unescaped control character
    failures = root.findall(".//failure")
    assert [f.get("type") for f in failures] == ["error"]
    assert "100%" in failures[0].get("message")
    outs = [case.findtext("system-out") for case in root.iter("testcase") if case.find("system-out") is not None]
    assert any(out.startswith("warning:") and "ünïcødé" in out for out in outs)
    assert any("\\x00" in out and "\\x1b" in out and "<tags>" in out for out in outs)
    assert root.findtext("system-out").startswith("skipped big.yaml")
    warning_root = ET.fromstring(junit.render(edge_report(), RenderOptions(fail_on="warning")).encode())
    assert len(warning_root.findall(".//failure")) == 3


def test_junit_empty_report_lists_checked_rules_as_passing():
    report = Report(rules=[_rule("yaml-syntax")])
    root = ET.fromstring(junit.render(report, OPTIONS))
    assert root.get("tests") == "1" and root.get("failures") == "0"
    assert ET.fromstring(junit.render(Report(), OPTIONS)).get("tests") == "0"


def test_github_annotations_real(real_report):
    lines = github.render(real_report, OPTIONS).splitlines()
    assert len(lines) == 4
    assert "::error file=nameless.yaml,line=3,col=1,title=object-identity%3A Service/default/?::missing metadata.name%0Afix: " in "\n".join(lines)


def test_github_escaping_and_unknown_line():
    lines = github.render(edge_report(), OPTIONS).splitlines()
    binary = next(line for line in lines if "binary" in line)
    # file property: `,` and `:` encoded; no line/col for an unknown position
    assert binary.startswith("::error file=dir with space/bin%2Cary%3Ax.yaml,title=yaml-syntax::")
    assert "100%25 not YAML%0Asecond line%0D%0Athird" in binary
    assert all("\n" not in line and "\r" not in line for line in lines)
    warning = next(line for line in lines if line.startswith("::warning"))
    assert "line=3," in warning and "col=" not in warning
    assert any(line.startswith("::notice file=a.yaml,line=2,col=5,") for line in lines)
    assert lines[-1] == "::notice title=gitops-kit::skipped big.yaml: 31457280 bytes, over the 10 MiB limit"
    assert github.render(Report(), OPTIONS) == ""


def test_gitlab_code_quality_real(real_report):
    issues = json.loads(gitlab.render(real_report, OPTIONS))
    assert {(i["location"]["path"], i["check_name"], i["location"]["lines"]["begin"]) for i in issues} == EXPECTED
    assert all(i["severity"] == "critical" for i in issues)
    assert {i["fingerprint"] for i in issues} == {f.fingerprint() for f in real_report.findings}


def test_gitlab_fingerprints_unique_stable_and_severities_mapped():
    issues = json.loads(gitlab.render(edge_report(), OPTIONS))
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints) == 4  # the two identical findings differ by occurrence
    assert json.loads(gitlab.render(edge_report(), OPTIONS)) == issues
    assert {i["check_name"]: i["severity"] for i in issues} == {
        "yaml-syntax": "critical",
        "object-identity": "major",
        "duplicate-key": "info",
    }
    unknown = next(i for i in issues if i["check_name"] == "yaml-syntax")
    assert unknown["location"]["lines"]["begin"] == 1
    assert json.loads(gitlab.render(Report(), OPTIONS)) == []


def test_gitlab_fingerprint_survives_a_line_shift(tmp_path):
    tree = copy_tree(FIXTURES / "report" / "tree", tmp_path / "repo")
    (tree / ".git").mkdir()
    before = {i["check_name"]: i["fingerprint"] for i in json.loads(gitlab.render(validate([tree]), OPTIONS))}
    path = tree / "nameless.yaml"
    path.write_text("# a comment pushes everything down\n\n" + path.read_text())
    after = {i["check_name"]: i["fingerprint"] for i in json.loads(gitlab.render(validate([tree]), OPTIONS))}
    assert before == after
