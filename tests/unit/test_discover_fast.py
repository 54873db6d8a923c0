"""The fast paths of discovery agree with the simple definitions they replace."""

from __future__ import annotations

import fnmatch
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_kit.config import Config, _excluded
from gitops_kit.discover import discover

SEGMENTS = st.sampled_from(["apps", "charts", "base", "x.yaml", "templates", "a b", "vendor", "**", "*", "c?", "[ab]"])


def reference_excluded(patterns: tuple[str, ...], relative: str) -> bool:
    """The definition: the path or one of its parent directories matches a pattern (fnmatchcase),
    and a `**/x` pattern also matches `x` at the root."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.rstrip("/")
        alternatives = (bare, bare[3:]) if bare.startswith("**/") else (bare,)
        if any(fnmatch.fnmatchcase(c, a) for a in alternatives for c in candidates):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    patterns=st.lists(st.lists(SEGMENTS, min_size=1, max_size=3).map("/".join), max_size=4).map(tuple),
    path=st.lists(st.sampled_from(["apps", "charts", "base", "x.yaml", "templates", "a b", "vendor", "ca", "b"]), min_size=1, max_size=5).map("/".join),
)
def test_exclusion_matches_the_definition(patterns: tuple[str, ...], path: str) -> None:
    assert _excluded(patterns, path) == reference_excluded(patterns, path)


def reference_walk(top: str, root: str, config: Config) -> list[str]:
    """os.walk with per-file checks, as discovery was first written."""
    found = []
    for directory, subdirs, files in os.walk(top, followlinks=False):
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        subdirs[:] = sorted(
            s for s in subdirs
            if s != ".git" and not config.is_excluded(f"{rel_dir}/{s}" if rel_dir else s)
            and not os.path.islink(os.path.join(directory, s))
            and not (s == "templates" and os.path.isfile(os.path.join(directory, "Chart.yaml")))
        )
        for name in files:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if (name.endswith((".yaml", ".yml")) or name == "Kustomization") and not config.is_excluded(rel):
                found.append(rel)
    return sorted(found)


def test_walk_finds_what_os_walk_finds(tmp_path) -> None:
    layout = [
        "a/x.yaml", "a/b/y.yml", "a/b/c/Kustomization", "a/notes.txt", "vendor/v.yaml", "charts/c/Chart.yaml",
        "charts/c/templates/t.yaml", "charts/c/values.yaml", ".git/config.yaml", "z.yaml", "a b/s p.yaml",
    ]
    for rel in layout:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a: 1\n")
    (tmp_path / "inside-link").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "file-link.yaml").symlink_to(tmp_path / "z.yaml")
    config = Config(root=tmp_path, exclude=("vendor/",))
    result = discover([tmp_path], config)
    assert [f.file for f in result.files] == reference_walk(str(tmp_path), str(tmp_path), config)
    assert "a/b/c" in result.kustomization_roots
    assert any("inside-link: symlinked directory" in note for note in result.skipped)
    assert any("templates: Helm chart templates" in note for note in result.skipped)
