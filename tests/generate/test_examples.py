"""The committed example fleets are exactly what the generator produces today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gitops_kit.engine import validate

ROOT = Path(__file__).resolve().parents[2]


def test_examples_are_current(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "regenerate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr


def test_flux_example_validates_with_zero_findings():
    report = validate([ROOT / "examples" / "flux-fleet"])
    assert [(f.rule_id, f.file, f.line) for f in report.findings] == []


def test_argocd_example_validates_with_zero_findings():
    report = validate([ROOT / "examples" / "argocd-fleet"])
    assert [(f.rule_id, f.file, f.line) for f in report.findings] == []
    assert report.files > 50
