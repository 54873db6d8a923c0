"""The render of `new cluster` in a forked child, while this process makes the Secrets.

`new cluster` is mostly Python: the Secrets (age key, mesh CA, `.sops.yaml`, sops), cookiecutter (≈ 0.1 s
to import, then the render), the validation and the commit. In one process those run one after the
other on one core. A child forked once the fleet is known imports cookiecutter and renders it on the
other core instead, with `render.render_fleet` itself, and hands the files over (the clusters' folders
first, so their overlays can start building while it renders the rest). A fork rather than a new
interpreter: the child starts at once, with everything this process has imported.

The child sends frames on a pipe: a 4-byte big-endian length and a pickle of a tuple (both ends are this
process's code, so pickle is safe). Its stdout and stderr go to /dev/null, so nothing cookiecutter prints
can reach the user's terminal. The folder cookiecutter works in belongs to the parent, which removes it
once the child is gone: a child stopped mid-render (an error, Ctrl-C, a timeout) leaves nothing behind.

    ("clusters", files so far)?  then one of
    ("files", files) | ("error", message) | ("oserror", errno, strerror, filename, text) | ("crash", text)
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
    that ended early: whatever it still writes would land in a folder the caller is about to remove) and
    removes its work folder. Make it with SIGINT and SIGTERM held (`fileio.SignalsHeld`) until the caller
    has it, so that no signal leaves a child nobody knows to stop."""

    def __init__(self, fleet: Fleet, into: Path | None) -> None:
        from ..fileio import private_temp_dir

        if not hasattr(os, "fork"):
            raise RuntimeError("no os.fork on this platform")
        if _threads() > 1:
            raise RuntimeError("other threads are running")
        self._work = private_temp_dir("gitops-kit-render-")
        try:
            read_end, write_end = os.pipe()
        except OSError:
            self._work.__exit__(None, None, None)
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            for fd in (read_end, write_end):
                os.close(fd)
            self._work.__exit__(None, None, None)
            raise
        if pid == 0:  # the child: render, then exit without running the parent's clean-up (atexit, buffers)
            code = 0
            try:
                os.close(read_end)
                _child(write_end, fleet, into, Path(self._work.path))
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
        GenerateError when the child died or hung (`GITOPS_KIT_TOOL_TIMEOUT` caps the wait, as for tools)."""
        from ..tools import DEFAULT_TIMEOUT, capped_timeout

        try:
            timeout = capped_timeout(DEFAULT_TIMEOUT)  # an invalid GITOPS_KIT_TOOL_TIMEOUT raises: closed below
            deadline = time.monotonic() + timeout
            while True:
                answer = self._receive(deadline, timeout)
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
            errno, strerror, filename, text = answer[1:]
            raise OSError(errno, strerror, filename) if errno is not None else OSError(text)
        raise GenerateError(f"rendering the repository failed: {answer[-1]} (please report this as a gitops-kit bug)")

    def close(self) -> None:
        """Stop the child, reap it and remove its work folder; nothing if already done."""
        import signal

        from ..fileio import SignalsHeld

        if self._closed:
            return
        with SignalsHeld():  # all of it or nothing: a Ctrl-C meanwhile lands once the folder is gone
            self._closed = True
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass  # already gone
            self._reap()
            os.close(self._answers)
            self._work.__exit__(None, None, None)  # nothing writes there any more

    def _reap(self) -> int:
        if self._status is None:
            try:
                self._status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            except ChildProcessError:  # reaped by someone else (a SIGCHLD handler of an embedding program)
                self._status = -1
        return self._status

    def _receive(self, deadline: float, timeout: float) -> tuple:
        (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline, timeout))
        return pickle.loads(self._read(size, deadline, timeout))

    def _read(self, size: int, deadline: float, timeout: float) -> bytes:
        """Exactly `size` bytes from the child, by `deadline`."""
        if self._closed:
            raise _ChildGone("the render process was stopped")
        chunks: list[bytes] = []
        left = size
        while left:
            ready, _, _ = select.select([self._answers], [], [], max(deadline - time.monotonic(), 0))
            if not ready:  # `rendered` stops the child
                raise _ChildGone(f"no answer from the render process after {timeout:g}s (GITOPS_KIT_TOOL_TIMEOUT); it was stopped")
            chunk = os.read(self._answers, min(left, 1 << 20))
            if not chunk:
                raise _ChildGone(f"the render process exited with code {self._reap()}")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class _ChildGone(Exception):
    """The child ended (or stopped answering) before its answer was complete."""


def _threads() -> int:
    """This process's threads, counting those `threading` does not know (started by C extensions)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _child(answers: int, fleet: Fleet, into: Path | None, work: Path) -> None:
    import gc
    import signal

    # the parent's handlers raise in its own code paths (and may be holding the signals while it forks):
    # here a signal simply ends the process, and the parent cleans up after it
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    sys.stdout = sys.stderr = open(quiet, "w", closefd=False)  # in case they wrote elsewhere (an embedding program's)
    gc.freeze()  # what the parent made stays shared: a collection would write to (and copy) its pages
    with os.fdopen(answers, "wb") as frames:
        try:
            _render(frames, fleet, into, work)
        except Exception as err:  # noqa: BLE001 - a bug of ours: reported to the parent in one line
            _answer(frames, ("crash", f"{type(err).__name__}: {err}"))


def _render(frames, fleet: Fleet, into: Path | None, work: Path) -> None:  # noqa: ANN001 - a binary file
    from .render import render_fleet

    def clusters_rendered(files: dict[str, bytes]) -> None:
        _answer(frames, ("clusters", files))

    try:
        if into is None:
            files = render_fleet(fleet, work=work)
        else:
            files = render_fleet(fleet, into=into, clusters_rendered=clusters_rendered, work=work)
    except GenerateError as err:
        _answer(frames, ("error", str(err)))
    except OSError as err:
        _answer(frames, ("oserror", err.errno, err.strerror, err.filename, str(err)))
    else:
        _answer(frames, ("files", files))


def _answer(frames, answer: tuple) -> None:  # noqa: ANN001 - a binary file
    data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    frames.write(_HEADER.pack(len(data)) + data)
    frames.flush()
