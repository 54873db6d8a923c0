"""Forked workers give exactly the serial result: same findings, counts and notes, in the same order."""

from __future__ import annotations

from gitops_kit import validate
from gitops_kit.discover import SourcePath
from gitops_kit.parallel import split_by_directory

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: team\ndata:\n  k: v\n"


def _tree(root, directories=6, files=60):
    for d in range(directories):
        folder = root / f"team-{d}"
        folder.mkdir(parents=True)
        for f in range(files):
            (folder / f"cm-{f:03d}.yaml").write_text(CONFIGMAP.format(name=f"cm-{f}"), encoding="utf-8")
        # a duplicate inside the directory (scope rule), a nameless object, a broken file
        (folder / "zz-dup.yaml").write_text(CONFIGMAP.format(name="cm-7"), encoding="utf-8")
    (root / "team-2" / "nameless.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", encoding="utf-8")
    (root / "team-4" / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    # a repository rule across directories: the same Deployment twice is per scope, so use a fleet-wide one
    (root / "team-5" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {a: b}}\n"
        "  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: web, image: 'nginx:1'}]\n",
        encoding="utf-8",
    )


def _signature(report):
    return [(f.rule_id, f.file, f.line, f.column, f.message, f.object) for f in report.findings], (
        report.files, report.documents, report.suppressed, report.notifications
    )


def test_two_workers_match_one(tmp_path, monkeypatch):
    _tree(tmp_path)
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = validate([tmp_path])
    monkeypatch.setenv("GITOPS_KIT_JOBS", "3")
    parallel = validate([tmp_path])
    assert _signature(parallel) == _signature(serial)
    rules = {f.rule_id for f in serial.findings}
    assert {"duplicate-object", "object-identity", "yaml-syntax", "container-memory-limit"} <= rules
    assert serial.files == 6 * 61 + 3


def test_chunks_never_split_a_directory():
    sources = [SourcePath(f"/r/{d}/{f}.yaml", f"{d}/{f}.yaml") for d in ("a", "b", "c") for f in range(5)]
    chunks = split_by_directory(sources, 2)
    assert [s for chunk in chunks for s in chunk] == sources
    directories = [{s.file.split("/")[0] for s in chunk} for chunk in chunks]
    assert not set.intersection(*directories)


def test_a_failing_worker_is_redone_by_the_parent(tmp_path, monkeypatch):
    from gitops_kit import parallel

    _tree(tmp_path)
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = validate([tmp_path])

    def broken(*args):
        raise RuntimeError("simulated worker crash")

    monkeypatch.setattr(parallel, "_work", broken)  # inherited by the forked children
    monkeypatch.setenv("GITOPS_KIT_JOBS", "2")
    assert _signature(validate([tmp_path])) == _signature(serial)
