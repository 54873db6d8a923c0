"""Fuzzing: ≥ 10,000 mutated fixture files through the loader, the engine's rules and every reporter.

The campaign is bench/fuzz.py's (a longer run: `bench/fuzz.py --inputs 200000 --seed N`); here it
runs with a fixed seed and a CI-sized budget. Any exception, any rule the engine had to catch and
any report that does not parse is a failure, except the known bugs below, each pinned by a strict
xfail test: when one is fixed, its test passes, fails as XPASS, and the entry must be removed here.
"""

from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_kit import report as formats
from gitops_kit.model import Finding, Report, RuleInfo, Severity
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import fuzz  # noqa: E402

INPUTS = 10_000
#: signature in the crash text → why it is tolerated for now (fix proposed to the file's owner)
KNOWN_BUGS = {
}


def _unknown(summary: fuzz.Summary) -> list[fuzz.Crash]:
    return [c for c in summary.crashes if not any(sig in c.detail for sig in KNOWN_BUGS)]


def test_ten_thousand_mutated_inputs_never_crash(tmp_path):
    summary = fuzz.campaign(INPUTS, seed=20261129, full_every=50)
    assert summary.inputs == INPUTS and summary.full_runs == INPUTS // 50
    # the mutations must reach the rules, not only the parser's error paths
    assert summary.documents > INPUTS // 3 and summary.findings > INPUTS and summary.clean > 0
    crashes = _unknown(summary)
    if crashes:
        saved = fuzz.save_crashes(fuzz.Summary(crashes=crashes), tmp_path / "crashes")
        pytest.fail(f"{len(crashes)} crash(es), inputs saved to {saved[0].parent}:\n" + "\n".join(c.detail for c in crashes))


def test_a_crash_is_detected_and_saved(tmp_path, monkeypatch):
    # the harness itself must be able to fail: a rule that raises is reported, with its input
    from gitops_kit import loader

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(loader, "load_text", broken)
    summary = fuzz.campaign(3, seed=1, full_every=1000)
    assert summary.crashes and "boom" in summary.crashes[0].detail
    (path,) = fuzz.save_crashes(fuzz.Summary(crashes=summary.crashes[:1]), tmp_path / "out")
    assert path.read_bytes() == summary.crashes[0].data


def test_bench_script_exits_1_and_names_the_saved_input(tmp_path):
    import subprocess

    bad = tmp_path / "bad"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz.py"), "--inputs", "200", "--seed", "3", "--crash-dir", str(bad)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.stdout.startswith("fuzz: 200 inputs (seed 3)")
    if result.returncode == 1:  # a known bug met on this seed: the script must say where the input is
        assert "input saved to" in result.stdout and any(bad.iterdir())
    else:
        assert result.returncode == 0 and not bad.exists()


def test_mapping_key_holding_a_mapping_is_a_located_finding(tmp_path):  # found by the fuzzer
    from gitops_kit.engine import validate

    (tmp_path / ".git").mkdir()
    (tmp_path / "a.yaml").write_text("? version: 1\n  clusters:\n    ips: [a]\n: x\n", encoding="utf-8")
    (finding,) = validate([tmp_path]).findings
    assert (finding.rule_id, finding.line) == ("yaml-syntax", 1) and "complex mapping key" in finding.message


def test_sops_pgp_scalar_is_not_a_rule_crash(tmp_path):  # found by the fuzzer
    from gitops_kit.engine import validate

    (tmp_path / ".git").mkdir()
    (tmp_path / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]'}\n"
        "sops:\n  pgp: 1.5\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  version: 3.9.0\n",
        encoding="utf-8",
    )
    report = validate([tmp_path])
    assert not [f for f in report.findings if f.message.startswith("internal error")]


def test_chart_name_too_long_is_not_a_crash(tmp_path):  # found by the fuzzer
    from gitops_kit.engine import validate

    (tmp_path / ".git").mkdir()
    (tmp_path / "hr.yaml").write_text(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: c, namespace: n}\n"
        f"spec:\n  chart: {{spec: {{chart: {'c' * 300}, sourceRef: {{kind: HelmRepository, name: r}}}}}}\n"
        "  values: {a: 1}\n",
        encoding="utf-8",
    )
    report = validate([tmp_path])
    assert not [f for f in report.findings if f.message.startswith("internal error")]


# -- reporters on arbitrary reports: whatever a finding holds, JSON/SARIF/GitLab parse, JUnit is XML
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
#: a file name that is not UTF-8 reaches the reporters as surrogate escapes (os.fsdecode)
FILE_NAMES = st.one_of(TEXT, st.binary(max_size=20).map(lambda raw: os.fsdecode(raw + b".yaml")))
FINDINGS = st.builds(
    Finding,
    rule_id=st.sampled_from(["yaml-syntax", "duplicate-key", "object-identity", "x-plugin"]),
    severity=st.sampled_from(list(Severity)),
    message=TEXT,
    file=FILE_NAMES,
    line=st.integers(-1, 10**6),
    column=st.integers(-1, 10**4),
    object=TEXT,
    fix=TEXT,
)
REPORTS = st.builds(
    Report,
    findings=st.lists(FINDINGS, max_size=8).map(sorted),
    notifications=st.lists(TEXT, max_size=3),
    rules=st.just([RuleInfo("yaml-syntax", Severity.ERROR, "s", "r", "f", "d")]),
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(REPORTS, st.sampled_from(["error", "warning", "info"]))
def test_every_reporter_output_parses_for_any_report(report, fail_on):
    options = formats.RenderOptions(tool_version="0", fail_on=fail_on)
    for name in formats.names():
        output = formats.get(name).render(report, options)
        # machine-readable formats must be valid UTF-8; text formats keep a name's own bytes
        output.encode("utf-8") if name in ("json", "sarif", "gitlab", "junit") else output.encode("utf-8", "surrogateescape")
        if name in ("json", "sarif", "gitlab"):
            payload = json.loads(output)
            if name == "json":
                assert payload["summary"]["findings"] == len(report.findings)
        elif name == "junit":
            ET.fromstring(output.encode("utf-8"))
