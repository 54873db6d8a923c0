"""Configuration: every setting parses, every invalid form is a ConfigError naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_kit.config import ConfigError, find_root, load_config, parse_config
from gitops_kit.loader import Limits
from gitops_kit.model import Severity

ROOT = Path("/repo")


def test_empty_and_missing_config_give_defaults(tmp_path):
    assert parse_config(None, ROOT).fail_on is Severity.ERROR
    config = load_config(tmp_path)
    assert config.source is None and config.rules == {} and config.limits == Limits()


def test_every_setting(tmp_path):
    config = parse_config(
        {
            "version": 1,
            "exclude": ["vendor/**", "charts/*/templates/**"],
            "rules": {
                "object-identity": "off",
                "duplicate-key": "warning",
                "duplicate-object": {"severity": "info", "enabled": True, "scope": "repo"},
                "yaml-syntax": True,
            },
            "targets": {"kubernetes": "v1.32", "flux": 2.7},
            "fail-on": "warning",
            "baseline": ".gitops-kit-baseline.json",
            "limits": {"max-file-bytes": 1000, "max-depth": 50},
            "render": {"kustomize": True},
            "schemas": {},
            "fleet": {},
            "secrets": {},
        },
        tmp_path,
    )
    assert not config.rule_enabled("object-identity", True)
    assert config.rule_enabled("yaml-syntax", False)
    assert config.severity_override("duplicate-key") is Severity.WARNING
    assert config.severity_override("duplicate-object") is Severity.INFO
    assert config.rule_options("duplicate-object") == {"scope": "repo"}
    assert config.targets == {"kubernetes": "1.32", "flux": "2.7"}
    assert config.fail_on is Severity.WARNING
    assert config.baseline == ".gitops-kit-baseline.json"
    assert config.limits == Limits(max_file_bytes=1000, max_depth=50)
    assert config.section("render") == {"kustomize": True}
    assert config.is_excluded("vendor/a/b.yaml") and config.is_excluded("charts/x/templates/d.yaml")
    assert config.is_excluded(".git/config") and not config.is_excluded("clusters/a.yaml")


@pytest.mark.parametrize(
    "data, key",
    [
        ([], "must be a mapping"),
        ({"colour": 1}, "colour"),
        ({"version": 2}, "version"),
        ({"exclude": 5}, "exclude"),
        ({"exclude": [1]}, "exclude"),
        ({"rules": []}, "rules"),
        ({"rules": {"no-such-rule": "off"}}, "rules.no-such-rule"),
        ({"rules": {"yaml-syntax": "loud"}}, "rules.yaml-syntax"),
        ({"rules": {"yaml-syntax": 3}}, "rules.yaml-syntax"),
        ({"rules": {"yaml-syntax": {"enabled": "yes"}}}, "rules.yaml-syntax.enabled"),
        ({"rules": {"yaml-syntax": {"severity": "fatal"}}}, "rules.yaml-syntax.severity"),
        ({"targets": ["1.32"]}, "targets"),
        ({"targets": {"kubernetes": "latest"}}, "targets.kubernetes"),
        ({"targets": {"kubernetes": True}}, "targets.kubernetes"),
        ({"fail-on": "never"}, "fail-on"),
        ({"baseline": 3}, "baseline"),
        ({"limits": 3}, "limits"),
        ({"limits": {"max-files": 3}}, "limits.max-files"),
        ({"limits": {"max-depth": -1}}, "limits.max-depth"),
        ({"limits": {"max-depth": True}}, "limits.max-depth"),
        ({"render": "yes"}, "render"),
    ],
)
def test_invalid_config_names_the_key(data, key):
    with pytest.raises(ConfigError) as err:
        parse_config(data, ROOT, ROOT / ".gitops-kit.yaml")
    assert key in str(err.value)
    assert str(err.value).startswith("/repo/.gitops-kit.yaml")


@pytest.mark.parametrize("text", ["rules: [\n", "\x00\x01 binary", "- a list\n"])
def test_invalid_config_files_are_config_errors(tmp_path, text):
    (tmp_path / ".gitops-kit.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"\.gitops-kit\.yaml"):
        load_config(tmp_path)


def test_explicit_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path, tmp_path / "nope.yaml")


def test_find_root_prefers_config_then_git(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_root(tmp_path / "a" / "b") == str(tmp_path.resolve())
    (tmp_path / "a" / ".gitops-kit.yml").write_text("version: 1\n")
    assert find_root(tmp_path / "a" / "b") == str((tmp_path / "a").resolve())
    assert find_root(str(tmp_path / "a" / "b" / "file.yaml")) == str((tmp_path / "a").resolve())  # a file: its folder up
