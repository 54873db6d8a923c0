"""Render a kustomization that uses a KSOPS generator, offline, with no key and no ksops binary.

`kubectl kustomize` never runs exec KRM functions: with `--enable-alpha-plugins` it silently drops
their output (kubectl has no `--enable-exec`), without it the build fails. So gitops-kit renders such
an overlay in a scratch mirror of its inputs (real folders, files symlinked) where each KSOPS
generator file is rewritten without its function annotation. Kustomize then loads it as a *legacy
exec plugin*, looked up only under `KUSTOMIZE_PLUGIN_HOME/viaduct.ai/v1/ksops/ksops` — a folder
gitops-kit creates holding its own stand-in, which prints the listed files still encrypted
(`ENC[...]` values and the `sops` block kept: the rules check them and the cache may store them).

Exec is enabled only for overlays whose every generator/transformer/validator is a KSOPS generator
or a kustomize builtin: a repository-supplied program or container function never runs.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..fileio import private_temp_dir
from .ksops import is_builtin_plugin, is_encrypted_documents, is_ksops, listed_files, read_documents, resolve

#: extra kustomize flag and a cache-key marker (bump it when the stand-in's output changes)
PLUGIN_FLAGS = ("--enable-alpha-plugins",)
CACHE_MARK = "ksops-stand-in-v1"
_PLUGIN_FIELDS = ("generators", "transformers", "validators")
_SKIP_DIRS = {".git", "node_modules", ".terraform"}

_STAND_IN = '''\
# gitops-kit's stand-in for KSOPS: prints the encrypted documents gitops-kit prepared; decrypts nothing.
import re, sys
with open(sys.argv[1], encoding="utf-8") as handle:
    found = re.search(r"(?m)^gitopsKitOutput: ['\\"]?(g[0-9]+)['\\"]?$", handle.read())
if found is None:
    sys.exit("gitops-kit ksops stand-in: this generator was not prepared by gitops-kit")
with open(sys.argv[0] + "." + found.group(1), encoding="utf-8") as handle:
    sys.stdout.write(handle.read())
'''


@dataclass
class Generator:
    root: str  # kustomization folder that lists it (KSOPS resolves `files` there)
    config_file: str  # the generator file, relative to the repository
    name: str
    files: list[str]  # readable, SOPS-encrypted files inside the repository, in order


@dataclass
class Plan:
    generators: list[Generator] = field(default_factory=list)
    #: why exec stays disabled for this overlay (another plugin or function is involved)
    refusal: str | None = None

    @property
    def files(self) -> list[str]:
        return sorted({f for g in self.generators for f in g.files})

    def by_root(self) -> dict[str, list[str]]:
        roots: dict[str, list[str]] = {}
        for generator in self.generators:
            roots.setdefault(generator.root, []).extend(generator.files)
        return roots


def plan(repo: Path, closure: Iterable[Any]) -> Plan | None:
    """The KSOPS generators of an overlay (its kustomization closure); None when it has none."""
    result = Plan()
    seen: set[str] = set()
    for kfile in closure:
        for entry in kfile.entries:
            if entry.field not in _PLUGIN_FIELDS:
                continue
            if "\n" in entry.value:
                result.refusal = result.refusal or f"{kfile.file}: inline {entry.field} configuration"
                continue
            config = resolve(kfile.root, entry.value)
            if config is None or not (repo / config).is_file():
                result.refusal = result.refusal or f"{kfile.file}: {entry.field} entry {entry.value} is not a file in the repository"
                continue
            for data in read_documents(str(repo / config)) or [None]:
                if is_ksops(data) and entry.field == "generators":
                    if config not in seen:
                        seen.add(config)
                        result.generators.append(_generator(repo, kfile.root, config, data))
                elif not is_builtin_plugin(data):
                    kind = f"{data.get('apiVersion')}/{data.get('kind')}" if isinstance(data, dict) else "an unreadable document"
                    result.refusal = result.refusal or f"{config}: {kind} is a plugin gitops-kit does not run"
    return result if result.generators else None


def _generator(repo: Path, root: str, config: str, data: dict[str, Any]) -> Generator:
    files: list[str] = []
    repo_real = repo.resolve()
    for listed in listed_files(data):
        if listed.path[0] != "files":
            continue  # secretFrom builds new Secrets from decrypted content: not emulated
        target = resolve(root, listed.value)
        if target is None or target in files:
            continue
        real = (repo / target).resolve()
        if not real.is_relative_to(repo_real) or not real.is_file():
            continue  # ksops-decryption reports it; a symlink must not lead the stand-in outside
        docs = read_documents(str(real))
        if docs and is_encrypted_documents(docs):
            files.append(target)
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) and isinstance(meta.get("name"), str) else "ksops"
    return Generator(root, config, name, files)


def _files_under(directory: Path) -> Iterable[Path]:
    """Files, and symlinked folders as they are (linked, not walked: a link loop must not hang us)."""
    for current, subdirs, names in os.walk(directory, followlinks=False):
        kept = []
        for name in subdirs:
            if name in _SKIP_DIRS:
                continue
            if os.path.islink(os.path.join(current, name)):
                yield Path(current) / name
            else:
                kept.append(name)
        subdirs[:] = kept
        for name in names:
            yield Path(current) / name


def _link(repo: Path, scratch: Path, source: Path) -> None:
    target = scratch / source.relative_to(repo)
    if target.exists() or target.is_symlink():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source, target)


def _mirror(repo: Path, scratch: Path, directories: Iterable[str], files: Iterable[str]) -> None:
    """Real folders, symlinked files: kustomize resolves `../` against folders, so those must be real."""
    scratch.mkdir(parents=True, exist_ok=True)
    for directory in directories:
        base = repo / directory if directory != "." else repo
        for path in _files_under(base):
            _link(repo, scratch, path)
    for file in files:
        path = repo / file
        if path.is_file():
            _link(repo, scratch, path)
        elif path.is_dir():
            for inner in _files_under(path):
                _link(repo, scratch, inner)


def _output(repo: Path, generator: Generator) -> str:
    parts = []
    for file in generator.files:
        text = (repo / file).read_text(encoding="utf-8-sig")
        parts.append(text if text.endswith("\n") else text + "\n")
    return "---\n".join(parts)


def prepare(repo: Path, scratch_root: Path, the_plan: Plan, directories: Iterable[str], files: Iterable[str]) -> tuple[Path, dict[str, str]]:
    """Build the mirror under `scratch_root`; return it and the environment kustomize needs."""
    import json

    mirror = scratch_root / "repo"
    _mirror(repo, mirror, directories, files)
    plugin = scratch_root / "plugins" / "viaduct.ai" / "v1" / "ksops" / "ksops"
    plugin.parent.mkdir(parents=True)
    script = plugin.with_name("stand_in.py")
    script.write_text(_STAND_IN, encoding="utf-8")
    for number, generator in enumerate(the_plan.generators):
        output_id = f"g{number}"
        script.with_name(f"stand_in.py.{output_id}").write_text(_output(repo, generator), encoding="utf-8")
        config = mirror / generator.config_file
        config.unlink(missing_ok=True)
        config.parent.mkdir(parents=True, exist_ok=True)
        # JSON is YAML; no function annotation, so kustomize takes the legacy exec-plugin path
        body = {"apiVersion": "viaduct.ai/v1", "kind": "ksops", "metadata": {"name": generator.name}, "gitopsKitOutput": output_id}
        config.write_text(json.dumps(body) + "\n", encoding="utf-8")
    plugin.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S {shlex.quote(str(script))} \"$@\"\n", encoding="utf-8")
    plugin.chmod(0o700)
    return mirror, {"KUSTOMIZE_PLUGIN_HOME": str(scratch_root / "plugins")}


def scratch_directory() -> private_temp_dir:
    return private_temp_dir("gitops-kit-ksops-")
