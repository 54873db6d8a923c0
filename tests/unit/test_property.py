"""Property: random bytes, random text and mutated fixture files never make validate() raise."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_kit.engine import validate
from gitops_kit.model import Report
from tests.conftest import FIXTURES

SEEDS = sorted((FIXTURES / "rules").rglob("*.yaml"))[:40] + sorted((FIXTURES / "report" / "tree").glob("*.yaml"))
SETTINGS = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
YAMLISH = st.text(alphabet=st.sampled_from(list("abk:-[]{}&*!|>#'\"\n\t ,.?%@`\\0123\u00e9\ufeff\x00")), max_size=300)


def check(content: bytes) -> Report:
    # hypothesis reruns the body many times, so use a fresh directory per example, not tmp_path
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.mkdir(root / ".git")
        (root / "input.yaml").write_bytes(content)
        report = validate([root])
    assert isinstance(report, Report)
    for finding in report.findings:
        assert finding.file == "input.yaml" and finding.line >= 0
    return report


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(content):
    check(content)


@SETTINGS
@given(YAMLISH)
def test_random_yamlish_text_never_raises(text):
    check(text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_fixture_files_never_raise(seed, data):
    content = bytearray(seed.read_bytes())
    for _ in range(data.draw(st.integers(1, 5))):
        if not content:
            break
        position = data.draw(st.integers(0, len(content) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert", "duplicate-line"]))
        if action == "flip":
            content[position] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del content[position : position + data.draw(st.integers(1, 20))]
        elif action == "insert":
            content[position:position] = data.draw(st.sampled_from([b"---\n", b"\t", b": ", b"&a ", b"*a", b"- ", b"\n  ", b"{"]))
        else:
            start = content.rfind(b"\n", 0, position) + 1
            end = content.find(b"\n", position)
            line = content[start : end + 1 if end >= 0 else len(content)]
            content[start:start] = line
    check(bytes(content))
