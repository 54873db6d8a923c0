"""cli/_quick.py reads a pre-commit hook's command line exactly as argparse does, or declines."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_kit.cli import build_parser
from gitops_kit.cli._quick import VALIDATE_DEFAULTS, parse_validate

WORDS = st.sampled_from(
    [
        "--quiet", "-q", "--strict-schemas", "--rule", "--rule=schema-validation", "schema-validation", "--disable",
        "--disable=yaml-syntax", "--target", "flux=2.7", "--schema-location", "--fail-on", "warning", "bogus",
        "--fail-on=info", "--color", "never", "--color=sometimes", "a.yaml", "dir/b.yml", "-", "--", "-h", "--qui",
        "--format", "json", "-qq", "--rule=", "--output", "x.json", "--kubernetes-version", "1.31",
    ]
)


def _argparse(arguments: list[str]) -> dict | None:
    try:
        namespace = build_parser(only="validate").parse_args(arguments)
    except SystemExit:
        return None
    values = vars(namespace)
    values.pop("func")
    return values


def test_defaults_are_argparse_defaults():
    assert _argparse(["validate"]) == VALIDATE_DEFAULTS


@settings(max_examples=500, deadline=None)
@given(words=st.lists(WORDS, max_size=7))
def test_whatever_it_accepts_argparse_reads_the_same(words):
    arguments = ["validate", *words]
    quick = parse_validate(arguments)
    if quick is not None:
        assert vars(quick) == _argparse(arguments)


def test_the_hook_command_lines_take_the_quick_path():
    lint = ["validate", "--quiet", "--rule", "yaml-syntax", "--rule", "schema-validation", "a.yaml", "b/c.yml"]
    args = parse_validate(lint)
    assert args is not None and args.rule == ["yaml-syntax", "schema-validation"] and args.paths == ["a.yaml", "b/c.yml"]
    assert parse_validate(["validate", "--quiet", "x.yaml"]) is not None


HEAVY = ("argparse", "pathlib", "typing", "dataclasses", "yaml_rs", "jsonschema_rs.jsonschema_rs", "email.utils", "decimal")


def test_a_pre_commit_run_on_a_valid_manifest_imports_nothing_heavy(tmp_path):
    """The single-file bar's import budget: no argparse, pathlib, typing, parser wrappers or jsonschema_rs."""
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  selector:\n    matchLabels: {app: a}\n"
        "  template:\n    metadata:\n      labels: {app: a}\n    spec:\n      containers:\n      - name: a\n        image: nginx:1.27\n"
        "        resources: {limits: {memory: 64Mi}}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
    )
    code = (
        "import sys; from gitops_kit.cli import main; "
        f"status = main(['validate', '--quiet', {str(manifest)!r}]); "
        f"print(status, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0 []"


def test_what_it_declines_still_gets_argparse_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gitops_kit", "validate", "--fail-on", "bogus", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "invalid choice: 'bogus'" in result.stderr
