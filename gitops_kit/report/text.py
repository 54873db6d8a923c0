"""Human-readable text: one line per finding (`file:line:col: severity [rule] message`), a fix hint and a summary."""

from __future__ import annotations

from ..model import Report, Severity
from . import RenderOptions

DESCRIPTION = "for people: file:line:col, severity, rule, message, fix hint and a summary line"

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_DIM, _BOLD, _RESET = "\033[2m", "\033[1m", "\033[0m"


def render(report: Report, options: RenderOptions) -> str:
    color = options.color
    lines = []
    for finding in report.findings:
        severity = finding.severity.label
        if color:
            severity = f"{_COLORS[finding.severity]}{severity}{_RESET}"
            location = f"{_BOLD}{finding.location}{_RESET}"
        else:
            location = finding.location
        subject = f" {finding.object}:" if finding.object else ""
        lines.append(f"{location}: {severity} [{finding.rule_id}]{subject} {finding.message}")
        if finding.overlays:
            lines.append(f"    rendered in: {', '.join(finding.overlays)}")
        if finding.fix:
            hint = f"    fix: {finding.fix}"
            lines.append(f"{_DIM}{hint}{_RESET}" if color else hint)
    for note in report.notifications:
        lines.append(f"note: {note}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def summary(report: Report) -> str:
    counts = report.counts()
    total = len(report.findings)
    parts = [f"{counts[label]} {label}{'s' if counts[label] != 1 and label != 'info' else ''}" for label in counts]
    scope = f"{report.files} file{'s' if report.files != 1 else ''}, {report.documents} object{'s' if report.documents != 1 else ''}"
    if report.overlays:
        scope += f", {report.overlays} overlay{'s' if report.overlays != 1 else ''}"
    extra = []
    if report.suppressed:
        extra.append(f"{report.suppressed} suppressed")
    if report.baselined:
        extra.append(f"{report.baselined} in baseline")
    tail = f" ({', '.join(extra)})" if extra else ""
    verdict = "no findings" if total == 0 else f"{total} finding{'s' if total != 1 else ''}: {', '.join(parts)}"
    return f"{scope} checked in {report.duration:.2f}s — {verdict}{tail}"
