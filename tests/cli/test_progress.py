"""Progress display: only for people at a terminal, only on slow runs; and the summary line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from gitops_kit.progress import Quiet, progress, wanted
from tests.conftest import FIXTURES, ROOT


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "quiet, environ, stream, expected",
    [
        (False, {}, _Tty(), True),
        (True, {}, _Tty(), False),
        (False, {"CI": "true"}, _Tty(), False),
        (False, {"TERM": "dumb"}, _Tty(), False),
        (False, {}, io.StringIO(), False),  # piped or redirected
    ],
)
def test_shown_only_to_people_at_a_terminal(quiet, environ, stream, expected):
    assert wanted(quiet, stream, environ) is expected


def test_not_wanted_costs_nothing():
    with progress("x", stream=io.StringIO(), delay=0) as bar:
        bar.start(3, "work")
        bar.advance()
    assert type(bar) is Quiet


# Runs the CLI in a child whose stderr is a pseudo-terminal, then reports what was drawn and whether
# rich was imported at all.
_CHILD = textwrap.dedent(
    """
    import os, pty, sys, json
    master, slave = pty.openpty()
    sys.stderr = os.fdopen(slave, "w", buffering=1)
    from gitops_kit.cli import main
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os.set_blocking(master, False)
    try:
        drawn = os.read(master, 65536).decode("utf-8", "replace")
    except BlockingIOError:
        drawn = ""
    print(json.dumps({"code": code, "rich": "rich" in sys.modules, "drawn": drawn}))
    """
)


def _child(*args: str, env: dict[str, str]):
    import json

    full = {**os.environ, "NO_COLOR": "1", **env}
    full.pop("CI", None)
    full.pop("GITHUB_ACTIONS", None)
    full.setdefault("TERM", "xterm")
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, env=full, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_quick_run_at_a_terminal_never_imports_rich():
    outcome = _child("validate", str(FIXTURES / "report/tree/duplicate-key.yaml"), env={})
    assert outcome["code"] == 1 and not outcome["rich"] and outcome["drawn"] == ""


def test_slow_run_draws_a_transient_bar_on_the_terminal():
    outcome = _child("validate", str(FIXTURES / "report/tree/duplicate-key.yaml"), env={"GITOPS_KIT_PROGRESS_DELAY": "0"})
    assert outcome["rich"] and "validating" in outcome["drawn"]
    quiet = _child("validate", "--quiet", str(FIXTURES / "report/tree/duplicate-key.yaml"), env={"GITOPS_KIT_PROGRESS_DELAY": "0"})
    assert not quiet["rich"] and quiet["drawn"] == ""


def test_summary_line_counts_files_objects_overlays_findings_by_severity_and_time(cli):
    result = cli("validate", str(FIXTURES / "report/tree"))
    last = result.stdout.splitlines()[-1]
    assert last.startswith(tuple(f"{n} files, " for n in range(1, 100)))
    assert " objects" in last and " checked in " in last and "s — " in last
    assert "errors" in last and "warning" in last and "info" in last
