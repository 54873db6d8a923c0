"""The real CLI in a subprocess: exit codes, formats, --output, --quiet, colour, version and rules."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, copy_tree

ESC = "\033["


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    tree = copy_tree(FIXTURES / "report" / "tree", tmp_path / "repo")
    (tree / ".git").mkdir()
    return tree


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    root = tmp_path / "clean"
    (root / ".git").mkdir(parents=True)
    (root / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    return root


def test_clean_tree_exits_0(cli, clean):
    result = cli("validate", str(clean))
    assert result.returncode == 0, result.stderr
    assert "no findings" in result.stdout


def test_broken_tree_lists_the_findings_with_locations_and_exits_1(cli, broken):
    result = cli("validate", ".", cwd=broken)
    assert result.returncode == 1
    for location in ("broken.yaml:6:", "nameless.yaml:3:", "duplicate-object.yaml:6:", "duplicate-key.yaml:8:"):
        assert location in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["validate", "does-not-exist"], "does-not-exist"),
        (["validate", "--format", "xml", "."], "invalid choice"),
        (["validate", "--rule", "no-such-rule", "."], "no-such-rule"),
        (["validate", "--disable", "no-such-rule", "."], "no-such-rule"),
        (["validate", "--target", "flux", "."], "COMPONENT=VERSION"),
        (["validate", "--baseline", "missing.json", "."], "baseline"),
        (["rules", "--explain", "no-such-rule"], "no-such-rule"),
        (["frobnicate"], "invalid choice"),
        ([], ""),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(cli, clean, args, message):
    result = cli(*args, cwd=clean)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_config_exits_2_naming_the_key(cli, clean):
    (clean / ".gitops-kit.yaml").write_text("rules:\n  object-identity: loud\n")
    result = cli("validate", ".", cwd=clean)
    assert result.returncode == 2
    assert ".gitops-kit.yaml: rules.object-identity" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_fail_on_warning(cli, clean):
    (clean / ".gitops-kit.yaml").write_text("rules:\n  object-identity: warning\n")
    (clean / "svc.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {}\n")
    assert cli("validate", ".", cwd=clean).returncode == 0
    assert cli("validate", "--fail-on", "warning", ".", cwd=clean).returncode == 1


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "github", "gitlab"])
def test_output_file_equals_stdout(cli, broken, fmt):
    # `--output` writes atomically what stdout would show (JSON carries a duration: compare without it)
    stdout = cli("validate", "--format", fmt, ".", cwd=broken)
    out = broken.parent / f"report.{fmt}"
    written = cli("validate", "--format", fmt, "--output", str(out), ".", cwd=broken)
    assert stdout.returncode == written.returncode == 1
    assert written.stdout == ""
    assert _stable(out.read_text(encoding="utf-8"), fmt) == _stable(stdout.stdout, fmt)
    assert [p.name for p in broken.parent.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"] == []


def _stable(text: str, fmt: str) -> str:
    if fmt == "json":
        payload = json.loads(text)
        payload["summary"].pop("duration_seconds")
        return json.dumps(payload)
    if fmt == "junit":
        import re

        return re.sub(r' time="[0-9.]+"', "", text)
    if fmt == "text":
        return "\n".join(line for line in text.splitlines() if " checked in " not in line)
    return text


def test_output_file_is_not_written_on_usage_error(cli, clean):
    out = clean / "report.txt"
    out.write_text("keep me")
    assert cli("validate", "--output", str(out), "missing-dir", cwd=clean).returncode == 2
    assert out.read_text() == "keep me"


def test_quiet_drops_the_summary(cli, broken):
    result = cli("validate", "--quiet", ".", cwd=broken)
    assert result.returncode == 1
    assert "checked in" not in result.stdout and "nameless.yaml:3:" in result.stdout


def test_no_colour_when_not_a_tty_or_with_no_color(cli, broken):
    assert ESC not in cli("validate", ".", cwd=broken, env={"NO_COLOR": ""}).stdout
    assert ESC not in cli("validate", "--color", "always", ".", cwd=broken, env={"NO_COLOR": "1"}).stdout
    assert ESC in cli("validate", "--color", "always", ".", cwd=broken, env={"NO_COLOR": ""}).stdout


def _run_on_tty(cwd: Path, env: dict) -> str:
    leader, follower = pty.openpty()
    full_env = {**os.environ, "TERM": "xterm", **env}
    if not env.get("NO_COLOR"):
        full_env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gitops_kit", "validate", "."], cwd=cwd, env=full_env, stdout=follower, stderr=subprocess.DEVNULL
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO once the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_tty_unless_no_color(broken):
    assert ESC in _run_on_tty(broken, {})
    assert ESC not in _run_on_tty(broken, {"NO_COLOR": "1"})


def test_version_commands(cli):
    from gitops_kit import __version__

    assert __version__ in cli("version").stdout
    assert cli("--version").stdout.strip() == f"gitops-kit {__version__}"


def test_console_script_and_module_agree(clean):
    script = Path(sys.executable).parent / "gitops-kit"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    result = subprocess.run([str(script), "validate", str(clean)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "no findings" in result.stdout


def test_rules_explain_and_json(cli):
    explained = cli("rules", "--explain", "duplicate-key")
    assert explained.returncode == 0 and "duplicate-key" in explained.stdout
    listing = json.loads(cli("rules", "--format", "json").stdout)
    ids = {rule["id"] for rule in listing}
    assert {"yaml-syntax", "object-identity", "duplicate-object", "duplicate-key"} <= ids


def test_write_baseline_then_only_new_findings_fail(cli, broken):
    baseline = broken.parent / "baseline.json"
    written = cli("validate", "--write-baseline", str(baseline), ".", cwd=broken)
    assert written.returncode == 0 and "wrote 4 finding(s)" in written.stderr
    assert cli("validate", "--baseline", str(baseline), ".", cwd=broken).returncode == 0
    (broken / "new.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {}\n")
    result = cli("validate", "--baseline", str(baseline), ".", cwd=broken)
    assert result.returncode == 1
    assert "new.yaml:3:" in result.stdout and "nameless.yaml" not in result.stdout
    assert "4 in baseline" in result.stdout


def test_json_output_matches_the_published_schema(cli, broken):
    import jsonschema

    from tests.conftest import ROOT

    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
    payload = json.loads(cli("validate", "--format", "json", ".", cwd=broken).stdout)
    jsonschema.Draft202012Validator(schema).validate(payload)
    assert payload["summary"]["by_severity"]["error"] == 4
