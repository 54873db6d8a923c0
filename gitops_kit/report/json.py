"""JSON: a documented, versioned shape (see docs/output-formats.md); `version` changes on breaking changes."""

from __future__ import annotations

import json

from ..model import Report
from . import RenderOptions

DESCRIPTION = "machine-readable, versioned JSON (schema: schemas/report.schema.json)"
JSON_VERSION = 1


def render(report: Report, options: RenderOptions) -> str:
    payload = {
        "version": JSON_VERSION,
        "tool": {"name": "gitops-kit", "version": options.tool_version},
        "summary": {
            "files": report.files,
            "documents": report.documents,
            "overlays": report.overlays,
            "findings": len(report.findings),
            "by_severity": report.counts(),
            "suppressed": report.suppressed,
            "baselined": report.baselined,
            "duration_seconds": round(report.duration, 3),
        },
        "findings": [finding.to_dict() for finding in report.findings],
        "notifications": list(report.notifications),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
