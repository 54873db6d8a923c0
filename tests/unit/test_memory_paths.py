"""Discovered files and DocRefs keep one shared root string instead of an absolute path each (the
memory bar of issue 8), yet give back exactly the paths they were built from."""

from __future__ import annotations

import gc
import os
import pickle
import tracemalloc

import pytest

from gitops_kit.config import Config
from gitops_kit.discover import SourcePath, discover
from gitops_kit.model import DocRef

PAIRS = [
    ("/repo/apps/web.yaml", "apps/web.yaml"),
    ("/web.yaml", "web.yaml"),
    ("/repo/web.yaml", "web.yaml"),
    ("relative/x.yaml", "relative/x.yaml"),
    ("/elsewhere/x.yaml", "../elsewhere/x.yaml"),  # outside the root: no common suffix
    ("/repo/a.yaml", "b.yaml"),
    ("", ""),
    ("/repo/x.yaml", ""),
    ("<stdin>", "<stdin>"),
]


@pytest.mark.parametrize(("path", "file"), PAIRS)
def test_paths_come_back_exactly(path: str, file: str) -> None:
    ref = DocRef(path, file, 2, 7, frozenset({"x"}))
    assert (ref.path, ref.file, ref.index, ref.line, ref.ignored) == (path, file, 2, 7, frozenset({"x"}))
    assert ref == DocRef(path, file, 2, 7, frozenset({"x"})) and hash(ref) == hash(DocRef(path, file, 2, 7, frozenset({"x"})))
    assert ref != DocRef(path + "x", file, 2, 7, frozenset({"x"}))
    assert repr(ref) == f"DocRef(path={path!r}, file={file!r}, index=2, line=7, ignored=frozenset({{'x'}}))"
    assert pickle.loads(pickle.dumps(ref)) == ref
    assert ref.replace(line=9).path == path
    assert DocRef.from_base(ref.base, ref.file, 2, 7, frozenset({"x"})) == ref
    source = SourcePath(path, file)
    assert (source.path, source.file) == (path, file)
    assert pickle.loads(pickle.dumps(source)) == source == SourcePath(path, file)
    with pytest.raises(AttributeError):
        ref.path = "/other"  # type: ignore[misc]


def _tree(root, directories: int, files: int) -> None:
    for d in range(directories):
        folder = root / f"team-{d:02d}"
        folder.mkdir()
        for f in range(files):
            (folder / f"svc-{f:04d}.yaml").write_text("a: 1\n")


def test_discovered_paths_are_the_walked_ones(tmp_path) -> None:
    _tree(tmp_path, 3, 4)
    (tmp_path / "team-01" / "sub").mkdir()
    (tmp_path / "team-01" / "sub" / "x.yml").write_text("a: 1\n")
    result = discover([tmp_path / "team-01", tmp_path / "team-02" / "svc-0001.yaml"], Config(root=tmp_path))
    expected = sorted(
        [f"team-01/svc-{f:04d}.yaml" for f in range(4)] + ["team-01/sub/x.yml", "team-02/svc-0001.yaml"]
    )
    assert [s.file for s in result.files] == expected
    assert [s.path for s in result.files] == [os.path.join(str(tmp_path), *s.split("/")) for s in expected]


def test_a_large_tree_costs_little_per_file(tmp_path) -> None:
    """Discovery's result for 2,000 files stays under 60 bytes a file (an absolute path string alone
    is ~100 bytes here), and the DocRefs of one worker's records unpickle sharing one root string."""
    _tree(tmp_path, 40, 50)
    config = Config(root=tmp_path)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = discover([tmp_path], config)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(result.files) == 2000
    assert held / 2000 < 60, f"{held / 2000:.0f} bytes per discovered file"

    refs = [DocRef(s.path, s.file, i, 1 + i) for s in result.files for i in range(2)]
    back = pickle.loads(pickle.dumps(refs, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == refs
    assert len({id(ref._base) for ref in back}) == 1  # one root string for every record
    assert back[0].file is back[1].file  # the documents of one file share its name
