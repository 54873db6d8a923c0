"""A large run checks its files with fewer cyclic-GC passes, and leaves the collector as it found it."""

from __future__ import annotations

import gc

from gitops_kit import engine
from gitops_kit.engine import BULK_GC_THRESHOLD, PARALLEL_MIN_FILES, validate


def _tree(root, files: int) -> None:
    for index in range(files):
        folder = root / f"d{index // 50}"
        folder.mkdir(exist_ok=True)
        (folder / f"c{index}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{index}\ndata:\n  k: v\n")


def _seen_while_loading(monkeypatch, tmp_path, files: int) -> tuple:
    seen = []
    real = engine.load_serially

    def spy(*args, **kwargs):
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "load_serially", spy)
    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    _tree(tmp_path, files)
    before = gc.get_threshold()
    report = validate([str(tmp_path)])
    assert report.files == files and report.findings == []
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    return seen[0]


def test_a_large_run_raises_the_young_generation_threshold_while_loading(monkeypatch, tmp_path):
    assert _seen_while_loading(monkeypatch, tmp_path, PARALLEL_MIN_FILES) == (BULK_GC_THRESHOLD, True)


def test_a_small_run_leaves_the_collector_alone(monkeypatch, tmp_path):
    threshold = gc.get_threshold()[0]
    assert _seen_while_loading(monkeypatch, tmp_path, 3) == (threshold, False)


def test_a_library_callers_own_freeze_is_left_alone(monkeypatch, tmp_path):
    """A pre-fork server that froze its heap keeps it frozen across validate() (found in review)."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        seen = []
        real = engine.load_serially
        monkeypatch.setattr(engine, "load_serially", lambda *a, **k: (seen.append(gc.get_threshold()[0]), real(*a, **k))[1])
        monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
        _tree(tmp_path, PARALLEL_MIN_FILES)
        validate([str(tmp_path)])
        # still frozen (objects that died meanwhile leave it, an unfreeze would empty it)
        assert gc.get_freeze_count() > frozen // 2 and seen[0] != BULK_GC_THRESHOLD
    finally:
        gc.unfreeze()


def test_runs_on_other_threads_leave_the_collector_alone(monkeypatch, tmp_path):
    import threading

    monkeypatch.setenv("GITOPS_KIT_JOBS", "1")
    _tree(tmp_path, PARALLEL_MIN_FILES)
    before = gc.get_threshold()
    seen = []
    real = engine.load_serially
    monkeypatch.setattr(engine, "load_serially", lambda *a, **k: (seen.append(gc.get_threshold()[0]), real(*a, **k))[1])
    runs = [threading.Thread(target=validate, args=([str(tmp_path)],)) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert len(seen) == 3 and BULK_GC_THRESHOLD not in seen and gc.get_threshold() == before
