"""The program's end skips the shutdown collections' walk; a library caller's collector is left alone."""

from __future__ import annotations

import gc
import subprocess
import sys

from gitops_kit.cli import main

MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"


def test_as_the_program_main_freezes_the_heap_before_the_process_ends(tmp_path):
    (tmp_path / "a.yaml").write_text(MANIFEST)
    code = (
        "import gc, sys; from gitops_kit.cli import main; "
        f"sys.argv = ['gitops-kit', 'validate', '--quiet', {str(tmp_path)!r}]; "
        "status = main(); print(status, gc.get_freeze_count() > 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "True"]


def test_the_console_entry_point_still_reports_and_exits_with_its_status(tmp_path):
    (tmp_path / "a.yaml").write_text(MANIFEST.replace("name: a\n", ""))  # object-identity: missing name
    result = subprocess.run([sys.executable, "-m", "gitops_kit", "validate", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and "[object-identity]" in result.stdout


def test_called_with_arguments_main_leaves_the_collector_alone(tmp_path):
    (tmp_path / "a.yaml").write_text(MANIFEST)
    before = gc.get_freeze_count()
    assert main(["validate", "--quiet", str(tmp_path)]) == 0
    assert gc.get_freeze_count() == before
