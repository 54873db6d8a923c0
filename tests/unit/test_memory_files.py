"""Discovery's FileList stores names per directory and builds each SourcePath when read (the memory bar
of issue 8); it must read exactly as the sorted list of SourcePaths it replaces, and parallel runs must
cut its directory view into the same chunks as that list."""

from __future__ import annotations

import gc
import os
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_kit import validate
from gitops_kit.config import Config
from gitops_kit.discover import FileList, Files, SourcePath, discover
from gitops_kit.engine import by_directory
from gitops_kit.parallel import _leading_directories, split_by_directory

LAYOUT = [
    "a.yaml", "a/z.yaml", "a/b/x.yaml", "a/b/c/Kustomization", "a-b/y.yaml", "a b/s p.yml", ".sops.yaml",
    "z/0.yaml", "z/y/1.yaml", "z/-.yaml", "Kustomization",
]
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: team\ndata:\n  k: v\n"


def _write(root, files) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a: 1\n")


def _reference(root) -> list[SourcePath]:
    """The sorted list discovery returned before it kept files per directory."""
    found = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = os.path.join(directory, name)
            found.append(SourcePath(path, os.path.relpath(path, root).replace(os.sep, "/")))
    return sorted(found, key=lambda s: s.file)


def test_the_file_list_reads_as_the_sorted_list(tmp_path) -> None:
    _write(tmp_path, LAYOUT)
    files = discover([tmp_path], Config(root=tmp_path)).files
    reference = _reference(tmp_path)
    assert isinstance(files, FileList)
    assert list(files) == reference and files == reference and len(files) == len(reference)
    assert [(s.path, s.file) for s in files] == [(s.path, s.file) for s in reference]
    assert files[0] == reference[0] and files[-1] == reference[-1] and files[2:5] == reference[2:5]
    # the order in which the engine checks them: each directory's files together, by name
    grouped = by_directory(files)
    assert isinstance(grouped, Files)
    assert list(grouped) == by_directory(reference) == sorted(reference, key=lambda s: s.file.rpartition("/")[::2])
    assert [grouped[i] for i in range(len(grouped))] == list(grouped) and grouped[-1] == list(grouped)[-1]
    assert list(grouped) != list(files)  # the layout makes the two orders differ


def test_files_given_one_by_one_and_outside_the_root(tmp_path) -> None:
    repo = tmp_path / "repo"
    _write(repo, ["apps/a.yaml", "apps/b.yaml", "c.yaml"])
    _write(tmp_path, ["outside.yaml"])
    given_paths = [repo / "apps" / "b.yaml", tmp_path / "outside.yaml", repo / "c.yaml", repo / "apps"]
    files = discover(given_paths, Config(root=repo)).files
    assert [(s.path, s.file) for s in files] == [
        (str(tmp_path / "outside.yaml"), "../outside.yaml"),
        (str(repo / "apps" / "a.yaml"), "apps/a.yaml"),
        (str(repo / "apps" / "b.yaml"), "apps/b.yaml"),
        (str(repo / "c.yaml"), "c.yaml"),
    ]


NAMES = st.sampled_from(["a", "b", "a-b", "a.b", "z", "0"])
FILES = st.lists(
    st.tuples(st.lists(NAMES, max_size=3).map("/".join), st.sampled_from(["x.yaml", "y.yml", "-.yaml", "k"])).map(
        lambda pair: f"{pair[0]}/{pair[1]}" if pair[0] else pair[1]
    ),
    unique=True,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(files=FILES, parts=st.integers(1, 9), at_least=st.integers(1, 20))
def test_chunks_of_the_directory_view_are_the_list_chunks(files: list[str], parts: int, at_least: int) -> None:
    sources = [SourcePath(f"/r/{file}", file) for file in files]
    view = FileList(sources).by_directory()
    as_list = by_directory(sources)
    assert list(view) == as_list
    chunks = split_by_directory(view, parts)
    assert all(isinstance(chunk, Files) for chunk in chunks)
    assert [list(chunk) for chunk in chunks] == split_by_directory(as_list, parts)
    if chunks:
        lead, rest = _leading_directories(chunks[0], at_least)
        listed = list(chunks[0])
        assert (list(lead), list(rest)) == tuple(map(list, _leading_directories(listed, at_least)))


def test_parallel_run_over_nested_directories_matches_serial(tmp_path, monkeypatch) -> None:
    """Directories whose files sort after their subdirectories, so file order and check order differ."""
    for d in range(4):
        for sub in ("", "/inner", "-x"):
            folder = tmp_path / f"team-{d}{sub}"
            folder.mkdir(parents=True, exist_ok=True)
            for f in range(40):
                (folder / f"cm-{f:02d}.yaml").write_text(CONFIGMAP.format(name=f"cm-{f % 30}"), encoding="utf-8")
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    serial = validate([tmp_path])
    monkeypatch.setenv("GITOPS_KIT_JOBS", "3")
    parallel = validate([tmp_path])
    assert [f.to_dict() for f in parallel.findings] == [f.to_dict() for f in serial.findings]
    assert (parallel.files, parallel.documents) == (serial.files, serial.documents) == (480, 480)
    assert any(f.rule_id == "duplicate-object" for f in serial.findings)


def test_a_large_file_list_holds_little_per_file() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        relative = (f"team-{i // 50:04d}/svc-{i:06d}.yaml" for i in range(20000))
        files = FileList(SourcePath(f"/srv/fleet/{file}", file) for file in relative)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(files) == 20000 and files[12345].path == "/srv/fleet/team-0246/svc-012345.yaml"
    assert held / 20000 < 40, f"{held / 20000:.0f} bytes per file"  # a list of SourcePaths: ≈ 130
