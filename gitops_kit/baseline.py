"""Baseline files: adopt gitops-kit on an existing repository and fail only on new findings.

A baseline records each finding's fingerprint (rule, file, object, message — no line numbers, so
unrelated edits do not invalidate it). Findings are matched as a multiset: two identical findings
in the baseline excuse two in the run, not more.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .config import ConfigError
from .model import Report

BASELINE_VERSION = 1


def write_baseline(report: Report, path: Path) -> int:
    entries = [
        {"fingerprint": f.fingerprint(), "rule": f.rule_id, "file": f.file, "object": f.object, "message": f.message}
        for f in report.findings
    ]
    payload = {"version": BASELINE_VERSION, "tool": "gitops-kit", "findings": entries}
    from .fileio import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return len(entries)


def read_baseline(path: Path) -> Counter[str]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: baseline file not found (create it with --write-baseline {path})") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: not a gitops-kit baseline file: {err}") from None
    if not isinstance(payload, dict) or payload.get("version") != BASELINE_VERSION:
        raise ConfigError(f"{path}: not a gitops-kit baseline file (version {BASELINE_VERSION} expected)")
    findings = payload.get("findings")
    if not isinstance(findings, list):
        raise ConfigError(f"{path}: baseline has no findings list")
    return Counter(str(entry.get("fingerprint")) for entry in findings if isinstance(entry, dict))


def apply_baseline(report: Report, path: Path) -> None:
    known = read_baseline(path)
    kept = []
    for finding in report.findings:
        fingerprint = finding.fingerprint()
        if known[fingerprint] > 0:
            known[fingerprint] -= 1
            report.baselined += 1
        else:
            kept.append(finding)
    report.findings = kept
