"""JUnit XML for CI test tabs (GitLab `artifacts:reports:junit`, Jenkins junit plugin).

One `<testsuite>` per rule, not per file: the number of suites then stays small and stable between
runs (a repository can hold thousands of files), GitLab's test tab lists a failing rule once with its
findings beneath it, and Jenkins shows the rule as the class. A rule without findings gets one passing
test case so the report also shows what was checked. Findings at or above `--fail-on` are `<failure>`s;
lesser ones are passing test cases that carry the message in `<system-out>` (so they do not fail the job
that consumes the report, matching the exit code).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from ..model import Finding, Report, RuleInfo, Severity
from . import RenderOptions

DESCRIPTION = "JUnit XML (GitLab/Jenkins test reports): one test suite per rule, a failure per failing finding"

# characters XML 1.0 cannot carry at all, not even as character references
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Make text safe for XML 1.0: forbidden control characters become visible `\\xNN` escapes."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def render(report: Report, options: RenderOptions) -> str:
    fail_on = Severity.parse(options.fail_on)
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_rule[finding.rule_id].append(finding)
    rules = {rule.id: rule for rule in report.rules}
    rule_ids = sorted(set(rules) | set(by_rule))

    root = ET.Element("testsuites", name="gitops-kit", time=f"{report.duration:.3f}")
    total_tests = total_failures = 0
    for rule_id in rule_ids:
        suite, tests, failures = _suite(rule_id, rules.get(rule_id), by_rule.get(rule_id, []), fail_on)
        root.append(suite)
        total_tests += tests
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "1" if report.error else "0")
    notes = list(report.notifications) + ([f"error: {report.error}"] if report.error else [])
    if notes:
        out = ET.SubElement(root, "system-out")
        out.text = clean("\n".join(notes))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(rule_id: str, rule: RuleInfo | None, findings: list[Finding], fail_on: Severity) -> tuple[ET.Element, int, int]:
    suite = ET.Element("testsuite", name=clean(rule_id))
    failures = 0
    if not findings:
        ET.SubElement(suite, "testcase", name=clean(f"{rule_id}: no findings"), classname=clean(rule_id), time="0")
    for finding in findings:
        case = ET.SubElement(suite, "testcase", name=clean(_case_name(finding)), classname=clean(rule_id), file=clean(finding.file), time="0")
        if finding.line:
            case.set("line", str(finding.line))
        body = _body(finding)
        if finding.severity >= fail_on:
            failures += 1
            failure = ET.SubElement(case, "failure", message=clean(finding.message), type=finding.severity.label)
            failure.text = clean(body)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = clean(f"{finding.severity.label}: {body}")
    tests = max(len(findings), 1)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    if rule is not None and rule.summary:
        # JUnit's schema puts <properties> before the test cases
        properties = ET.Element("properties")
        ET.SubElement(properties, "property", name="summary", value=clean(rule.summary))
        suite.insert(0, properties)
    return suite, tests, failures


def _case_name(finding: Finding) -> str:
    subject = f" {finding.object}" if finding.object else ""
    return f"{finding.location}{subject}"


def _body(finding: Finding) -> str:
    lines = [f"{finding.location}: [{finding.rule_id}] {finding.message}"]
    if finding.object:
        lines.append(f"object: {finding.object}")
    if finding.overlays:
        lines.append(f"rendered in: {', '.join(finding.overlays)}")
    if finding.fix:
        lines.append(f"fix: {finding.fix}")
    return "\n".join(lines)
