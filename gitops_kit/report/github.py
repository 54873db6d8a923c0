"""GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message`.

Escaping follows the runner's rules (actions/toolkit `command.ts`): in the message `%`, `\\r`, `\\n`
are percent-encoded; in properties `:` and `,` are encoded as well, since they delimit properties.
"""

from __future__ import annotations

from ..model import Finding, Report, Severity
from . import RenderOptions

DESCRIPTION = "GitHub Actions annotations (workflow commands ::error/::warning/::notice)"

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report, options: RenderOptions) -> str:
    lines = [annotation(finding) for finding in report.findings]
    lines.extend(f"::notice title=gitops-kit::{escape_data(note)}" for note in report.notifications)
    return "".join(line + "\n" for line in lines)


def annotation(finding: Finding) -> str:
    properties = [f"file={escape_property(finding.file)}"]
    if finding.line >= 1:
        properties.append(f"line={finding.line}")
        if finding.column >= 1:
            properties.append(f"col={finding.column}")
    title = f"{finding.rule_id}: {finding.object}" if finding.object else finding.rule_id
    properties.append(f"title={escape_property(title)}")
    message = finding.message
    if finding.fix:
        message += f"\nfix: {finding.fix}"
    return f"::{_COMMANDS[finding.severity]} {','.join(properties)}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
