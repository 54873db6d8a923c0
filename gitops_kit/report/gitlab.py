"""GitLab Code Quality JSON (the CodeClimate subset GitLab reads).

GitLab matches findings between pipelines by `fingerprint`, so it must be stable (no line numbers:
`Finding.fingerprint()`) and unique within one report: identical findings get an occurrence counter.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from ..model import Finding, Report, Severity
from . import RenderOptions
from .json import unicode_safe

DESCRIPTION = "GitLab Code Quality report (CodeClimate JSON with stable fingerprints)"

_SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def render(report: Report, options: RenderOptions) -> str:
    seen: Counter[str] = Counter()
    issues = []
    for finding in report.findings:
        base = finding.fingerprint()
        occurrence = seen[base]
        seen[base] += 1
        issues.append(_issue(finding, _unique(base, occurrence)))
    return unicode_safe(json.dumps(issues, indent=2, ensure_ascii=False)) + "\n"


def _unique(base: str, occurrence: int) -> str:
    # the first occurrence keeps the plain fingerprint so it stays equal to the baseline's
    if occurrence == 0:
        return base
    return hashlib.sha256(f"{base}\x1f{occurrence}".encode()).hexdigest()[:32]


def _issue(finding: Finding, fingerprint: str) -> dict[str, Any]:
    description = f"{finding.object}: {finding.message}" if finding.object else finding.message
    issue: dict[str, Any] = {
        "type": "issue",
        "description": f"[{finding.rule_id}] {description}",
        "check_name": finding.rule_id,
        "fingerprint": fingerprint,
        "severity": _SEVERITIES[finding.severity],
        "categories": ["Bug Risk"],
        # GitLab needs a line to show the issue in the diff; 1 stands for "the file as a whole"
        "location": {"path": finding.file, "lines": {"begin": max(finding.line, 1)}},
    }
    if finding.fix:
        issue["content"] = {"body": finding.fix}
    return issue
