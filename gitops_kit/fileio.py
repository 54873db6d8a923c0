"""Writing files safely: atomically (temp file in the same directory + rename), never half-written.

The temp file lives next to the target (a rename is only atomic within one file system) and is
removed on any failure, including KeyboardInterrupt. When the target is a symlink, the link itself
is replaced, never the file it points to; with `inside=ROOT` a write whose directory resolves
outside ROOT (through a symlinked directory) is refused before anything is created. A new file
gets the usual permissions (0666 minus the umask) unless `mode` says otherwise; an existing one
keeps its mode. Failures raise `WriteError` (an OSError and a UserError: one line, exit 2).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError


class WriteError(OSError, UserError):
    """A file could not be written: the CLI prints one line and exits 2; `except OSError` still catches it."""

    def __str__(self) -> str:  # one line for the CLI, without OSError's "[Errno N]" prefix
        return self.strerror or ""


def atomic_write_text(path: Path, text: str, mode: int | None = None, *, inside: Path | None = None) -> None:
    # surrogateescape: a non-UTF-8 file name in a report is written back as its own bytes, as stdout does
    atomic_write_bytes(path, text.encode("utf-8", "surrogateescape"), mode, inside=inside)


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None, *, inside: Path | None = None) -> None:
    path = Path(path)
    if inside is not None:
        check_inside(path, inside)
    if mode is None:
        mode = _existing_mode(path)
    import tempfile  # not at module level: it costs ~3 ms of start-up on paths that never write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_error(path, err) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException as err:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise _write_error(path, err) from None
        raise


def check_inside(path: Path, root: Path) -> None:
    """Refuse `path` when its nearest existing directory resolves outside `root` (a symlink escapes)."""
    root = Path(root).resolve()
    directory = Path(os.path.abspath(path)).parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        directory.resolve().relative_to(root)
    except ValueError:
        raise WriteError(
            None, f"{path}: refusing to write outside {root} (a symlinked directory points elsewhere); remove the link"
        ) from None


def _existing_mode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode & 0o7777 if not os.path.islink(path) else 0o666 & ~_umask()
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads creating files
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _write_error(path: Path, err: OSError) -> WriteError:
    reason = err.strerror or str(err)
    if path.is_dir():
        reason = "it is a directory"
    return WriteError(err.errno, f"{path}: cannot write ({reason}); give a writable file path")



class private_temp_dir:  # noqa: N801 - used like tempfile.TemporaryDirectory: `with private_temp_dir(p) as path:`
    """A 0700 temporary directory for secrets' plaintext and the like, removed on the way out whatever
    happens, including Ctrl-C or SIGTERM arriving while it is being removed.

    `tempfile.TemporaryDirectory` leaves part of the tree behind when the interrupt lands during its
    own removal (its finalizer is detached by then): reproduced as leftover rendered fleets, Mesh CA
    key included, in about 1 run of 60 interrupted at a random moment. Here the signals that raise in
    the main thread are held while the tree is removed and delivered right after."""

    def __init__(self, prefix: str) -> None:
        import tempfile

        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc_info: object) -> None:
        import shutil

        with SignalsHeld():
            shutil.rmtree(self.path, ignore_errors=True)


class SignalsHeld:
    """Hold SIGINT and SIGTERM (which raise in the main thread) inside the block; deliver the first one
    received, through the handler in place before, once it ends."""

    def __enter__(self) -> None:
        import signal
        import threading

        self.previous: dict = {}
        self.held: list[int] = []
        if threading.current_thread() is not threading.main_thread():
            return  # handlers only run on the main thread: nothing raises here
        for name in ("SIGINT", "SIGTERM"):
            signum = getattr(signal, name, None)
            if signum is not None:
                self.previous[signum] = signal.getsignal(signum)
                signal.signal(signum, lambda received, frame: self.held.append(received))

    def __exit__(self, *exc_info: object) -> None:
        import signal

        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        if self.held:
            signal.raise_signal(self.held[0])
