"""action.yml and templates/gitlab-ci.yml: their structure, and their exact gitops-kit command lines run for real.

Both files are validated against SchemaStore's schemas as vendored by check-jsonschema (offline; skipped when
that test dependency is missing), their structure against the keys each platform documents, and the commands
are executed with bash, as the runners do, against a copy of a fixture repository with known findings: a push
(full run) and a pull/merge request (a real git repository, `--changed-since` the base sha).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import jsonschema
import yaml

from tests.conftest import FIXTURES, ROOT, commit_all, copy_tree

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
GITLAB = yaml.safe_load((ROOT / "templates/gitlab-ci.yml").read_text(encoding="utf-8"))
SARIF_SCHEMA = json.loads((FIXTURES / "sarif/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
BASE_SHA = re.compile(r"\$\{\{\s*github\.event\.pull_request\.base\.sha\s*\}\}")
DEFAULTS = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {**os.environ, **env, "NO_COLOR": "1"}
    full.pop("GITHUB_ACTIONS", None)
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full['PATH']}"  # gitops-kit as the installed script
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)


def _fixture_repo(tmp_path: Path) -> Path:
    return copy_tree(FIXTURES / "report/tree", tmp_path / "repo")


def _action_step(name: str) -> dict:
    return next(step for step in ACTION["runs"]["steps"] if step.get("name") == name)


def _with_inputs(value: str, inputs: dict[str, str], base: str = "") -> str:
    """The runner's expression expansion: inputs, and the pull request's base sha ("" on push events)."""
    return BASE_SHA.sub(base, EXPRESSION.sub(lambda m: {**DEFAULTS, **inputs}[m.group(1)], value))


def _step_env(name: str, inputs: dict[str, str], base: str = "") -> dict[str, str]:
    return {k: _with_inputs(str(v), inputs, base) for k, v in _action_step(name).get("env", {}).items()}


def _pull_request(tmp_path: Path) -> tuple[Path, str]:
    """The fixture repository committed as the PR base, then one new file with a duplicate key."""
    repo_dir = _fixture_repo(tmp_path)
    base = commit_all(repo_dir).head.commit.hexsha
    (repo_dir / "new.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, namespace: d}\ndata:\n  k: a\n  k: b\n", encoding="utf-8"
    )
    return repo_dir, base


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
    result = _bash(step["run"], repo, _step_env(step["name"], {"paths": "ok"}))
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


def test_action_on_a_pull_request_validates_only_what_it_changed(tmp_path):
    repo, base = _pull_request(tmp_path)
    sarif = _action_step("Validate (SARIF for code scanning)")
    result = _bash(sarif["run"], repo, _step_env(sarif["name"], {}, base))
    assert result.returncode == 1, result.stderr
    assert "0 of 0 overlays affected, 1 other file(s) validated" in result.stderr
    payload = json.loads((repo / "gitops-kit.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(payload, SARIF_SCHEMA)
    files = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in payload["runs"][0]["results"]}
    assert files == {"new.yaml"}  # the base's own findings are not the pull request's
    annotate = _action_step("Validate (annotations)")
    result = _bash(annotate["run"], repo, _step_env(annotate["name"], {}, base))
    assert [line.split(",")[0] for line in result.stdout.splitlines() if line.startswith("::error")] == ["::error file=new.yaml"]
    # changed-only: false, or a push event (no base sha): the whole repository
    full = _bash(sarif["run"], repo, _step_env(sarif["name"], {"changed-only": "false"}, base))
    assert full.returncode == 1 and "overlays affected" not in full.stderr
    assert "broken.yaml" in (repo / "gitops-kit.sarif").read_text(encoding="utf-8")


def test_action_diff_step_writes_the_job_summary(tmp_path):
    repo, base = _pull_request(tmp_path)
    step = _action_step("Rendered diff (job summary)")
    assert "github.event_name == 'pull_request'" in step["if"]
    summary = tmp_path / "summary.md"
    result = _bash(step["run"], repo, {**_step_env(step["name"], {}, base), "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr
    assert summary.read_text(encoding="utf-8").startswith(f"### gitops-kit: rendered diff against `{base}`")


def test_gitlab_merge_request_pipeline_checks_only_the_change_and_keeps_the_diff(tmp_path):
    repo, base = _pull_request(tmp_path)
    job = GITLAB["gitops-kit"]
    env = {**{k: str(v) for k, v in GITLAB["variables"].items()}, "CI_MERGE_REQUEST_DIFF_BASE_SHA": base}
    result = _bash("\n".join(job["script"]), repo, env)
    assert result.returncode == 1, result.stderr
    issues = json.loads((repo / job["artifacts"]["reports"]["codequality"]).read_text(encoding="utf-8"))
    assert {i["location"]["path"] for i in issues} == {"new.yaml"}
    assert "gitops-kit-diff.md" in job["artifacts"]["paths"]
    assert (repo / "gitops-kit-diff.md").read_text(encoding="utf-8").startswith("### gitops-kit: rendered diff")


def _vendored_schema(name: str) -> dict:
    """SchemaStore's schemas as vendored (offline) by check-jsonschema, a test-only dependency."""
    pytest.importorskip("check_jsonschema")
    from importlib import resources

    return json.loads(resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "schema_name, document, broken",
    [
        ("github-actions.json", ACTION, lambda d: d["runs"].pop("using")),
        ("gitlab-ci.json", GITLAB, lambda d: d["gitops-kit"].__setitem__("when", "sometimes")),
    ],
)
def test_templates_match_their_platform_schema(schema_name, document, broken):
    schema = _vendored_schema(schema_name)
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(document)] == []
    copy = json.loads(json.dumps(document))
    broken(copy)
    assert list(validator.iter_errors(copy)), "the schema must catch a broken template"
