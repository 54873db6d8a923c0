"""action.yml and templates/gitlab-ci.yml: their structure, and their exact gitops-kit command lines run for real.

No offline schema of GitHub Actions metadata or of .gitlab-ci.yml is available here, so the structure is
checked against the keys each platform documents as required; the commands are executed with bash, as the
runners do, against a copy of a fixture repository with known findings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import yaml

from tests.conftest import FIXTURES, ROOT, copy_tree

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
GITLAB = yaml.safe_load((ROOT / "templates/gitlab-ci.yml").read_text(encoding="utf-8"))
SARIF_SCHEMA = json.loads((FIXTURES / "sarif/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {**os.environ, **env, "NO_COLOR": "1"}
    full.pop("GITHUB_ACTIONS", None)
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full['PATH']}"  # gitops-kit as the installed script
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)


def _fixture_repo(tmp_path: Path) -> Path:
    return copy_tree(FIXTURES / "report/tree", tmp_path / "repo")


def _action_step(name: str) -> dict:
    return next(step for step in ACTION["runs"]["steps"] if step.get("name") == name)


def _with_inputs(value: str, inputs: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: inputs[m.group(1)], value)


def test_action_structure():
    assert ACTION["runs"]["using"] == "composite"
    assert {"name", "description", "inputs", "runs"} <= ACTION.keys()
    assert {"paths", "fail-on", "kubernetes-version"} <= ACTION["inputs"].keys()
    for step in ACTION["runs"]["steps"]:
        assert ("uses" in step) != ("run" in step), step
        if "run" in step:
            assert step["shell"] == "bash", "composite run steps must name their shell"
            assert "${{" not in step["run"], "inputs go through env, never into the script text"
        for value in [*step.get("env", {}).values(), *step.get("with", {}).values()]:
            for name in EXPRESSION.findall(str(value)):
                assert name in ACTION["inputs"], f"undeclared input {name}"
    uses = [step["uses"] for step in ACTION["runs"]["steps"] if "uses" in step]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    upload = next(s for s in ACTION["runs"]["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["if"].startswith("always()") and upload["with"]["sarif_file"] == "gitops-kit.sarif"
    assert "${GITHUB_ACTION_PATH}" in _action_step("Install gitops-kit")["run"]
    assert _action_step("Validate (annotations)")["if"] == "always()"


def test_action_commands_produce_valid_sarif_and_annotations(tmp_path):
    repo = _fixture_repo(tmp_path)
    inputs = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    inputs["kubernetes-version"] = "1.32"
    sarif_step = _action_step("Validate (SARIF for code scanning)")
    env = {k: _with_inputs(str(v), inputs) for k, v in sarif_step["env"].items()}
    result = _bash(sarif_step["run"], repo, env)
    assert result.returncode == 1, result.stderr  # the fixture has errors: the step fails, upload still runs
    payload = json.loads((repo / "gitops-kit.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(payload, SARIF_SCHEMA)
    rule_ids = {r["ruleId"] for r in payload["runs"][0]["results"]}
    assert {"duplicate-key", "duplicate-object", "yaml-syntax"} <= rule_ids

    annotate = _action_step("Validate (annotations)")
    result = _bash(annotate["run"], repo, {k: _with_inputs(str(v), inputs) for k, v in annotate["env"].items()})
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines and any(line.startswith("::error file=duplicate-key.yaml,line=") for line in lines), result.stdout


def test_action_paths_with_no_findings_pass(tmp_path):
    repo = _fixture_repo(tmp_path)
    (repo / "ok").mkdir()
    (repo / "ok/cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\ndata: {k: v}\n")
    step = _action_step("Validate (SARIF for code scanning)")
    inputs = {"paths": "ok", "fail-on": "error", "kubernetes-version": ""}
    result = _bash(step["run"], repo, {k: _with_inputs(str(v), inputs) for k, v in step["env"].items()})
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((repo / "gitops-kit.sarif").read_text())["runs"][0]["results"] == []


def test_gitlab_template_structure():
    job = GITLAB["gitops-kit"]
    assert {"script", "image", "artifacts"} <= job.keys()
    reports = job["artifacts"]["reports"]
    assert job["artifacts"]["when"] == "always", "reports must be kept when findings fail the job"
    assert set(reports) == {"codequality", "junit"}
    assert all(isinstance(line, str) for line in job["before_script"] + job["script"])
    assert {"GITOPS_KIT_PATHS", "GITOPS_KIT_FAIL_ON", "GITOPS_KIT_VERSION"} <= GITLAB["variables"].keys()


def test_gitlab_script_writes_code_quality_and_junit_reports(tmp_path):
    repo = _fixture_repo(tmp_path)
    job = GITLAB["gitops-kit"]
    result = _bash("\n".join(job["script"]), repo, {k: str(v) for k, v in GITLAB["variables"].items()})
    assert result.returncode == 1, result.stderr
    reports = job["artifacts"]["reports"]
    issues = json.loads((repo / reports["codequality"]).read_text(encoding="utf-8"))
    assert issues and all({"description", "check_name", "fingerprint", "severity", "location"} <= i.keys() for i in issues)
    assert all(i["location"]["path"] and i["location"]["lines"]["begin"] >= 1 for i in issues)
    suites = ET.parse(repo / reports["junit"]).getroot()
    failures = suites.iter("failure")
    assert len(list(failures)) == len(issues)
    assert "duplicate-key.yaml" in result.stdout  # the human-readable pass shows the findings in the job log
