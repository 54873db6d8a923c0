"""Build the wheel, install it into a fresh virtualenv and run the CLI from there (no source checkout)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, copy_tree


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_wheel_installs_and_runs_from_a_fresh_virtualenv(tmp_path):
    dist = tmp_path / "dist"
    built = run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = dist.glob("gitops_kit-*.whl")

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    python, script = venv / "bin" / "python", venv / "bin" / "gitops-kit"
    installed = run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    assert installed.returncode == 0, installed.stderr[-2000:]

    # run outside the checkout so nothing can be imported from the source tree
    tree = copy_tree(FIXTURES / "report" / "tree", tmp_path / "repo")
    (tree / ".git").mkdir()
    result = run(script, "validate", "--format", "json", ".", cwd=tree)
    assert result.returncode == 1, result.stderr
    rules = {finding["rule"] for finding in json.loads(result.stdout)["findings"]}
    assert {"yaml-syntax", "object-identity", "duplicate-object", "duplicate-key"} <= rules

    listing = run(script, "rules", "--format", "json", cwd=tmp_path)
    assert listing.returncode == 0 and len(json.loads(listing.stdout)) >= 4

    probe = (
        "import json, os, gitops_kit, gitops_kit.resources as r\n"
        "here = r._PACKAGE\n"
        "names = [n for n in r.BUNDLED if os.path.exists(os.path.join(os.path.dirname(here), n)) or os.path.exists(os.path.join(here, '_bundled', n))]\n"
        "print(json.dumps({'package': str(r._PACKAGE), 'dirs': {n: str(r.bundled_dir(n)) for n in names}}))\n"
    )
    located = run(python, "-c", probe, cwd=tmp_path)
    assert located.returncode == 0, located.stderr
    info = json.loads(located.stdout)
    package = Path(info["package"])
    assert str(package).startswith(str(venv)), "imported gitops_kit from outside the fresh virtualenv"
    assert "schemas" in info["dirs"]
    for name, folder in info["dirs"].items():
        assert Path(folder).is_dir() and Path(folder).is_relative_to(package), name
    assert (Path(info["dirs"]["schemas"]) / "report.schema.json").is_file()
