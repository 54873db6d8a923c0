"""The render of `new cluster` in a forked child, while this process makes the Secrets.

`new cluster` is mostly Python: the Secrets (age key, mesh CA, `.sops.yaml`, sops), cookiecutter (≈ 0.1 s
to import, then the render), the validation and the commit. In one process those run one after the
other on one core. A child forked once the fleet is known imports cookiecutter and renders it on the
other core instead, with `render.render_fleet` itself, and hands the files over (the clusters' folders
first, so their overlays can start building while it renders the rest). A fork rather than a new
interpreter: the child starts at once, with everything this process has imported.

The child sends frames on a pipe: a 4-byte big-endian length and a pickle of a tuple (both ends are this
process's code, so pickle is safe). Its stdout and stderr go to /dev/null, so nothing cookiecutter prints
can reach the user's terminal.

    ("clusters", files so far)?  then one of
    ("files", files) | ("error", message) | ("oserror", errno, strerror, filename) | ("crash", text)
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .names import GenerateError

if TYPE_CHECKING:
    from .fleet import Fleet

_HEADER = struct.Struct(">I")


class RenderWorker:
    """`render_fleet(fleet, into=into)` in a forked child, from the moment this is made; `rendered` collects it.

    Raises OSError when no process can be forked, and RuntimeError where forking is unsafe (another
    thread is running: a library caller's, whose locks a fork would copy, held or not) or impossible (no
    `os.fork`): the caller then renders itself. `close()` stops the child whatever it is doing (a run
    that ended early: whatever it still writes would land in a folder the caller is about to remove)."""

    def __init__(self, fleet: Fleet, into: Path | None) -> None:
        if not hasattr(os, "fork"):
            raise RuntimeError("no os.fork on this platform")
        if threading.active_count() > 1:
            raise RuntimeError("other threads are running")
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: render, then exit without running the parent's clean-up (atexit, buffers)
            code = 0
            try:
                os.close(read_end)
                _child(write_end, fleet, into)
            except BaseException:  # noqa: BLE001 - the parent sees the pipe close and reports it
                code = 1
            os._exit(code)
        os.close(write_end)
        self.pid = pid
        self._answers = read_end
        self._closed = False
        self._status: int | None = None

    def quiet(self) -> bool:
        """Whether the child has nothing for the caller yet: a caller that will wait on `rendered` does
        other work meanwhile, as long as this says so."""
        return not self._closed and not select.select([self._answers], [], [], 0)[0]

    def rendered(self, clusters_rendered: Callable[[dict[str, bytes]], None] | None) -> dict[str, bytes]:
        """What `render_fleet` returns; `clusters_rendered` is called here, on this thread, as
        `render_fleet` would call it. Raises what `render_fleet` raises (GenerateError, OSError), and
        GenerateError when the child died or hung."""
        try:
            while True:
                answer = self._receive()
                if answer[0] != "clusters":
                    break
                if clusters_rendered is not None:
                    clusters_rendered(answer[1])
        except _ChildGone as gone:
            raise GenerateError(f"rendering the repository failed: {gone}; nothing was written") from None
        finally:
            self.close()  # it has answered (one render per child), or whatever it still does is unwanted
        kind = answer[0]
        if kind == "files":
            return answer[1]
        if kind == "error":
            raise GenerateError(answer[1])
        if kind == "oserror":
            raise OSError(answer[1], answer[2], answer[3])
        raise GenerateError(f"rendering the repository failed: {answer[-1]} (please report this as a gitops-kit bug)")

    def close(self) -> None:
        """Stop the child (and reap it); nothing if already stopped."""
        if self._closed:
            return
        self._closed = True
        import signal

        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass  # already gone
        self._reap()
        os.close(self._answers)

    def _reap(self) -> int:
        if self._status is None:
            try:
                self._status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            except ChildProcessError:  # reaped by someone else (a SIGCHLD handler of an embedding program)
                self._status = -1
        return self._status

    def _receive(self) -> tuple:
        (size,) = _HEADER.unpack(self._read(_HEADER.size))
        return pickle.loads(self._read(size))

    def _read(self, size: int) -> bytes:
        """Exactly `size` bytes from the child, within the tools' timeout."""
        from ..tools import DEFAULT_TIMEOUT, capped_timeout

        if self._closed:
            raise _ChildGone("the render process was stopped")
        timeout = capped_timeout(DEFAULT_TIMEOUT)
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        left = size
        while left:
            ready, _, _ = select.select([self._answers], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                self.close()
                raise _ChildGone(f"no answer from the render process after {timeout:g}s; it was stopped")
            chunk = os.read(self._answers, min(left, 1 << 20))
            if not chunk:
                raise _ChildGone(f"the render process exited with code {self._reap()}")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class _ChildGone(Exception):
    """The child ended (or stopped answering) before its answer was complete."""


def _child(answers: int, fleet: Fleet, into: Path | None) -> None:
    import gc
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the CLI's handler raises in the parent's code paths
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    sys.stdout = sys.stderr = open(quiet, "w", closefd=False)  # in case they wrote elsewhere (an embedding program's)
    gc.freeze()  # what the parent made stays shared: a collection would write to (and copy) its pages
    with os.fdopen(answers, "wb") as frames:
        try:
            _render(frames, fleet, into)
        except Exception as err:  # noqa: BLE001 - a bug of ours: reported to the parent in one line
            _answer(frames, ("crash", f"{type(err).__name__}: {err}"))


def _render(frames, fleet: Fleet, into: Path | None) -> None:  # noqa: ANN001 - a binary file
    from .render import render_fleet

    def clusters_rendered(files: dict[str, bytes]) -> None:
        _answer(frames, ("clusters", files))

    try:
        if into is None:
            files = render_fleet(fleet)
        else:
            files = render_fleet(fleet, into=into, clusters_rendered=clusters_rendered)
    except GenerateError as err:
        _answer(frames, ("error", str(err)))
    except OSError as err:
        _answer(frames, ("oserror", err.errno, err.strerror, err.filename))
    else:
        _answer(frames, ("files", files))


def _answer(frames, answer: tuple) -> None:  # noqa: ANN001 - a binary file
    data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    frames.write(_HEADER.pack(len(data)) + data)
    frames.flush()
