"""engine.validate spells its paths as pathlib would, without importing pathlib (one-file start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from gitops_kit.engine import path_text


@given(st.lists(st.sampled_from(["/", "//", ".", "..", "a", "b.yaml", "./", "x/"]), max_size=6).map("".join))
def test_path_text_is_what_pathlib_prints(text):
    assert path_text(text) == str(PurePosixPath(text))


def test_a_one_file_run_does_not_import_pathlib(tmp_path):
    """`gitops-kit validate one-file.yaml` (the pre-commit path): engine, rules and their data tables
    read paths as strings."""
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, annotations: {x: y}}\nspec:\n"
        "  template:\n    metadata: {annotations: {x: y}}\n    spec: {containers: [{name: a, image: nginx}]}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: v}\n"
    )
    code = (
        "import sys\n"
        "from gitops_kit.cli import main\n"
        f"sys.argv = ['gitops-kit', 'validate', '--quiet', {str(manifest)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pathlib' in sys.modules, 'gitops_kit.rules.deprecated_api' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GITOPS_KIT_JOBS": "1"})
    assert done.stdout.splitlines()[-1].split() == ["False", "True"], done.stdout + done.stderr
