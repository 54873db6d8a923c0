"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

GitHub is stricter than the schema: regions need `startLine` ≥ 1, so a finding without a known
line gets no region at all (the file is still the location). URIs are relative to `%SRCROOT%`
so uploads work from any checkout directory.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..model import Finding, Report, RuleInfo, Severity
from . import RenderOptions
from .json import unicode_safe

DESCRIPTION = "SARIF 2.1.0 (GitHub code scanning, IDEs): rules metadata, physical locations, fingerprints"

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(report: Report, options: RenderOptions) -> str:
    rules = _rule_table(report)
    index = {rule.id: position for position, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": _driver(rules, options)},
        "invocations": [_invocation(report)],
        "results": [_result(finding, index) for finding in report.findings],
        "columnKind": "unicodeCodePoints",
    }
    payload = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return unicode_safe(json.dumps(payload, indent=2, ensure_ascii=False)) + "\n"


def _rule_table(report: Report) -> list[RuleInfo]:
    """Rules of the run plus any rule id that only appears in findings (e.g. a rule given by a plugin)."""
    rules = {rule.id: rule for rule in report.rules}
    for finding in report.findings:
        if finding.rule_id not in rules:
            rules[finding.rule_id] = RuleInfo(finding.rule_id, finding.severity, finding.rule_id, "", finding.fix, finding.docs)
    return [rules[rule_id] for rule_id in sorted(rules)]


def _driver(rules: list[RuleInfo], options: RenderOptions) -> dict[str, Any]:
    driver: dict[str, Any] = {"name": "gitops-kit", "rules": [_rule(rule) for rule in rules]}
    if options.tool_version:
        driver["version"] = options.tool_version
        driver["semanticVersion"] = options.tool_version
    return driver


def _rule(rule: RuleInfo) -> dict[str, Any]:
    summary = rule.summary or rule.id
    full = " ".join(part for part in (summary, rule.rationale) if part)
    help_text = f"{full}\nFix: {rule.fix}" if rule.fix else full
    help_markdown = f"**{_md(summary)}**\n\n{_md(rule.rationale)}".rstrip()
    if rule.fix:
        help_markdown += f"\n\n**Fix:** {_md(rule.fix)}"
    if rule.docs:
        help_markdown += f"\n\nSee `{rule.docs}`."
    entry: dict[str, Any] = {
        "id": rule.id,
        "name": _pascal(rule.id),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"tags": ["gitops", "kubernetes"]},
    }
    if rule.docs.startswith(("https://", "http://")):
        entry["helpUri"] = rule.docs
    return entry


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.file), "uriBaseId": SRCROOT}}
    if finding.line >= 1:
        region: dict[str, Any] = {"startLine": finding.line}
        if finding.column >= 1:
            region["startColumn"] = finding.column
        physical["region"] = region
    message = finding.message if not finding.object else f"{finding.object}: {finding.message}"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": _LEVELS[finding.severity],
        "message": {"text": message or finding.rule_id},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"gitopsKit/v1": finding.fingerprint()},
    }
    properties: dict[str, Any] = {}
    if finding.object:
        properties["object"] = finding.object
    if finding.overlays:
        properties["overlays"] = list(finding.overlays)
    if finding.fix:
        properties["fix"] = finding.fix
    if properties:
        result["properties"] = properties
    return result


def _invocation(report: Report) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": not report.error}
    notes = [{"level": "note", "message": {"text": note}} for note in report.notifications]
    if report.error:
        notes.append({"level": "error", "message": {"text": report.error}})
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return invocation


def _uri(file: str) -> str:
    # relative reference: percent-encode spaces, non-ASCII and reserved characters, keep `/`; a
    # file name that is not UTF-8 is encoded byte for byte, so the URI still names that file
    return quote(file.replace("\\", "/").encode("utf-8", "surrogateescape"), safe="/-._~")


def _pascal(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.split("-"))


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")
