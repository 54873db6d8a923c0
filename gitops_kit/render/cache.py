"""A content-addressed cache of rendered overlays, so an unchanged repository renders only once.

The key hashes every input of the overlay (all files under each kustomization directory the
overlay reaches, plus the files it names outside them), the kustomize binary's identity (its real
path, size and modification time) and the flags. Renders that hold a plaintext Secret are never stored: only SOPS-encrypted Secrets (whose
values stay `ENC[...]`) may reach the disk.

Entries are written atomically (a unique temp file + rename, so concurrent runs sharing the cache
never see half an entry) into a 0700 directory as 0600 files, and carry a checksum of their body:
an entry that does not match it (a torn or edited file) is a miss and is removed, never trusted.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any, Iterable

from ..fileio import atomic_write_bytes
# at import, not in cache_dir: the render threads call it, and only the main thread imports (tests/reliability)
from ..resources import user_cache_dir

_SKIP_DIRS = {".git", "node_modules", ".terraform"}


def cache_dir() -> Path:
    return user_cache_dir("render")


def _files_under(directory: Path) -> Iterable[Path]:
    for current, subdirs, files in os.walk(directory, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            yield Path(current) / name


def input_key(repo: Path, directories: Iterable[str], files: Iterable[str], tool_id: str, flags: Iterable[str]) -> str:
    """sha256 over the tool, the flags and (path relative to `repo`, content) of every input file."""
    digest = hashlib.sha256()
    digest.update(f"gitops-kit-render-v1\0{tool_id}\0{' '.join(flags)}\0".encode())
    paths: set[Path] = set()
    for directory in directories:
        paths.update(_files_under(repo / directory if directory != "." else repo))
    for file in files:
        candidate = repo / file
        try:
            if candidate.is_file():
                paths.add(candidate)
            elif candidate.is_dir():
                paths.update(_files_under(candidate))
        except OSError:  # a name too long for the file system, say: hashed as unreadable below
            paths.add(candidate)
    for path in sorted(paths):
        content = _content(path)
        # relative to the repository: a copy elsewhere (the generator's scratch copy, another CI
        # checkout directory) renders the same and finds the same entries
        digest.update(os.fsencode(os.path.relpath(path, repo)) + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def _content(path: Path) -> bytes:
    """The file's bytes, as one open and read: a FIFO, socket or device is never read (that can wait
    forever; kustomize reports it), and the check costs no extra stat on this per-input path."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b"\0unreadable"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"\0not a regular file"
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return b"\0unreadable"
    finally:
        os.close(fd)


_MAGIC = b"gitops-kit-render-v1 sha256="


def _entry(key: str) -> Path:
    return cache_dir() / key[:2] / key


def load(key: str) -> bytes | None:
    path = _entry(key)
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    header, newline, body = raw.partition(b"\n")
    if newline and header == _MAGIC + hashlib.sha256(body).hexdigest().encode():
        return body
    try:
        path.unlink()
    except OSError:
        pass
    return None


def has_plaintext_secret(objects: Iterable[Any]) -> bool:
    """A Secret with data or stringData that is not SOPS-encrypted (no `sops` metadata block)."""
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("kind") != "Secret":
            continue
        if (obj.get("data") or obj.get("stringData")) and not isinstance(obj.get("sops"), dict):
            return True
    return False


def _private_dir() -> Path:
    directory = cache_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def store(key: str, output: bytes) -> None:
    try:
        _private_dir()
        header = _MAGIC + hashlib.sha256(output).hexdigest().encode() + b"\n"
        atomic_write_bytes(_entry(key), header + output, mode=0o600)
    except OSError:
        pass  # a read-only or full cache directory only costs speed
