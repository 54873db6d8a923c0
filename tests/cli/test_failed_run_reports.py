"""A run that fails (exit 2) still writes a valid machine-readable report that says why."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "gitlab"])
def test_exit_2_writes_a_valid_document(tmp_path, cli, fmt):
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n", encoding="utf-8")
    out = tmp_path / f"report.{fmt}"
    # kubeconform is not installed here (and PATH holds no other copy): the engine asked for cannot run
    result = cli("validate", "--schema-engine", "kubeconform", "--format", fmt, "-o", str(out), str(tmp_path),
                 env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "kubeconform" in result.stderr
    text = out.read_text(encoding="utf-8")
    if fmt == "junit":
        root = ET.fromstring(text)
        assert root.get("errors") == "1" and "kubeconform" in root.findtext("system-out")
    elif fmt == "gitlab":
        assert json.loads(text) == []
    elif fmt == "sarif":
        invocation = json.loads(text)["runs"][0]["invocations"][0]
        assert invocation["executionSuccessful"] is False
        assert any("kubeconform" in n["message"]["text"] for n in invocation["toolExecutionNotifications"])
    else:
        assert any("kubeconform" in note for note in json.loads(text)["notifications"])
