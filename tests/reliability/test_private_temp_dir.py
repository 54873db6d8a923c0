"""fileio.private_temp_dir: a temporary tree of plaintext is gone even when Ctrl-C lands while it is removed."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from gitops_kit.fileio import private_temp_dir


def test_an_interrupt_during_removal_is_delivered_after_it(monkeypatch):
    real = shutil.rmtree
    removed = []

    def interrupted(path, *args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # Ctrl-C, just as the removal starts
        real(path, *args, **kwargs)
        removed.append(path)

    monkeypatch.setattr(shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with private_temp_dir("gitops-kit-test-") as path:
            Path(path, "cluster-mesh-ca.key").write_text("plaintext")
    assert removed == [path] and not os.path.exists(path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_it_is_private_and_removed_on_errors():
    with pytest.raises(RuntimeError):
        with private_temp_dir("gitops-kit-test-") as path:
            assert os.stat(path).st_mode & 0o777 == 0o700
            Path(path, "sub").mkdir()
            Path(path, "sub", "f").write_text("x")
            raise RuntimeError("boom")
    assert not os.path.exists(path)
