"""JSON: a documented, versioned shape (see docs/output-formats.md); `version` changes on breaking changes."""

from __future__ import annotations

import json
import re

from ..model import Report
from . import RenderOptions

DESCRIPTION = "machine-readable, versioned JSON (schema: schemas/report.schema.json)"
JSON_VERSION = 1
#: lone surrogates: file names that are not UTF-8 arrive as surrogate escapes (PEP 383)
_SURROGATE = re.compile("[\ud800-\udfff]")


def unicode_safe(text: str) -> str:
    """Text that encodes as UTF-8: a JSON consumer must be able to read the file at all."""
    return _SURROGATE.sub("\ufffd", text)


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
        "notifications": list(report.notifications) + ([f"error: {report.error}"] if report.error else []),
    }
    return unicode_safe(json.dumps(payload, indent=2, ensure_ascii=False)) + "\n"
