"""ksops-decryption: in an Argo CD repository, SOPS files reach the cluster decrypted: through a working KSOPS
generator, or from a folder an Application source reads with a Config Management Plugin (`plugin:`)."""

from __future__ import annotations

import os
import posixpath

from ..discover import KUSTOMIZATION_NAMES
from ..model import DocRef, Document, Severity, Violation
from ..rulebase import Context, Record, Rule
from ..secrets.ksops import Listed, function_exec_path, is_encrypted_documents, is_encrypted_file, is_ksops, listed_files, resolve
from ._sealed import Sealed, sealed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

FLUX_GROUP = "kustomize.toolkit.fluxcd.io"
ARGO_KINDS = ("Application", "ApplicationSet")
_SCAN_BYTES = 1 << 20  # an Application file is small; a larger file is read no further than this


class Kustomization(Record):
    __slots__ = ()
    folder: str
    ref: DocRef
    resources: tuple[tuple[int, str], ...]
    generators: tuple[str, ...]


class Generator(Record):
    __slots__ = ()
    file: str
    ref: DocRef
    object: str
    exec_path: str | None
    files: tuple[Listed, ...]


#: an encrypted document: the record sops-rule-coverage keeps for it too (one object for both rules)
Encrypted = Sealed


class FluxDecrypts(Record):
    __slots__ = ()
    path: str  # spec.path, normalised ("" = repository root)


class ArgoApp(Record):
    __slots__ = ()
    file: str
    plugin_paths: tuple[str, ...]  # folders its sources read through a Config Management Plugin ("" = root)


def _strings(items: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(items) if isinstance(v, str)] if isinstance(items, list) else []


def _generator(doc: Document, data: dict[str, Any]) -> Generator:
    return Generator(doc.ref.file, doc.ref, doc.object_id, function_exec_path(data), tuple(listed_files(data)))


def collect(doc: Document, ctx: Context) -> Any:
    data = doc.data
    if not isinstance(data, dict):
        return None
    file = doc.ref.file
    if file.rpartition("/")[2] in KUSTOMIZATION_NAMES and doc.ref.index == 0:
        generators = tuple(v for _, v in _strings(data.get("generators")) if "\n" not in v)
        resources = tuple(_strings(data.get("resources")))
        return Kustomization(posixpath.dirname(file), doc.ref, resources, generators) if resources or generators else None
    if is_ksops(data):
        return _generator(doc, data)
    encrypted = sealed(doc)
    if encrypted is not None:
        return encrypted
    if doc.kind in ARGO_KINDS and doc.group == "argoproj.io":
        return ArgoApp(file, tuple(_plugin_paths(data)))
    if doc.kind == "Kustomization" and doc.group == FLUX_GROUP:
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        decryption = spec.get("decryption") if isinstance(spec.get("decryption"), dict) else {}
        if decryption.get("provider") == "sops":
            path = posixpath.normpath(str(spec.get("path") or ".").strip().lstrip("/") or ".")
            return FluxDecrypts("" if path == "." else path)
    return None


def _plugin_paths(data: dict[str, Any]) -> Iterator[str]:
    """`path` of every Git source with a `plugin:` section (an ApplicationSet's template too), normalised."""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    for owner in (spec, template.get("spec")):
        if not isinstance(owner, dict):
            continue
        single = owner.get("source")
        sources = [single] if isinstance(single, dict) else []
        listed = owner.get("sources")
        sources += [s for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []
        for source in sources:
            path = source.get("path")
            # `plugin: {}` (chosen by discovery) counts too; a templated path names no one folder
            if isinstance(source.get("plugin"), dict) and isinstance(path, str) and "{{" not in path:
                normal = posixpath.normpath(path.strip().lstrip("/") or ".")
                yield "" if normal == "." else normal


def _is_argo(records: list[Any], ctx: Context) -> bool:
    services = getattr(ctx, "services", None) or {}
    fleet = services.get("fleet")
    # a dict, as `Config.section` gives (and rules/_fleet.py reads): no collections.abc import for a Mapping test
    if isinstance(fleet, dict) and fleet.get("flavor") == "argocd":
        return True
    return any(isinstance(r, ArgoApp) for r in records)


def _flux_decrypts(file: str, paths: set[str]) -> bool:
    folder = file
    while "/" in folder:
        folder = folder.rpartition("/")[0]
        if folder in paths:
            return True
    return "" in paths


class _Disk:
    """Files the validated paths did not include, read at the edge (only those a kustomization names)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._docs: dict[str, list[Document] | None] = {}

    def exists(self, file: str) -> bool:
        return os.path.isfile(posixpath.join(self.root, file))

    def documents(self, file: str) -> list[Document] | None:
        if file not in self._docs:
            from ..loader import load_file

            path = posixpath.join(self.root, file)
            docs, _problems = load_file(path, file) if os.path.isfile(path) else ([], [])
            self._docs[file] = docs or None
        return self._docs[file]

    def encrypted(self, file: str) -> bool:
        if not file.lower().endswith((".yaml", ".yml")):
            return is_encrypted_file(os.path.join(self.root, file))  # secretFrom: dotenv, ini, binary store
        docs = self.documents(file)
        return bool(docs) and is_encrypted_documents([d.data for d in docs])


def finish(records: list[Any], ctx: Context) -> Iterator[Violation]:
    kustomizations = [r for r in records if isinstance(r, Kustomization)]
    seen_generators: dict[str, list[Generator]] = {}
    for record in records:
        if isinstance(record, Generator):
            seen_generators.setdefault(record.file, []).append(record)
    argo = _is_argo(records, ctx)
    if not kustomizations and not seen_generators and not argo:
        return  # nothing lists or applies encrypted files (and no index of every one at the run's peak)
    encrypted = {r.file: r for r in records if isinstance(r, Encrypted)}
    flux_paths = {r.path for r in records if isinstance(r, FluxDecrypts)}
    disk = _Disk(str(ctx.root))
    consumed: set[str] = set()

    # (kustomization folder, generator): KSOPS resolves `files` in the folder of the kustomization that runs it
    pairs: dict[tuple[str, str, int], Generator] = {}
    named: set[str] = set()
    for kustomization in kustomizations:
        for value in kustomization.generators:
            config = resolve(kustomization.folder, value)
            if config is None:
                continue
            named.add(config)
            for generator in seen_generators.get(config) or _read_generators(disk, config):
                pairs.setdefault((kustomization.folder, generator.file, generator.ref.index), generator)
    for file, generators in seen_generators.items():
        if file not in named:
            for generator in generators:
                pairs.setdefault((posixpath.dirname(file), file, generator.ref.index), generator)

    for (folder, _file, _index), generator in sorted(pairs.items()):
        yield from _check_generator(folder, generator, encrypted, disk, consumed)

    for kustomization in kustomizations:
        for index, value in kustomization.resources:
            target = resolve(kustomization.folder, value)
            if target is None or "://" in value:
                continue
            is_encrypted = target in encrypted or (target not in encrypted and disk.exists(target) and disk.encrypted(target))
            if not is_encrypted:
                continue
            consumed.add(target)
            if argo and not _flux_decrypts(target, flux_paths):
                yield Violation(
                    f"{value} is SOPS-encrypted but listed under resources: Argo CD would apply the ciphertext "
                    "(ENC[...] values) as the Secret",
                    ref=kustomization.ref, path=("resources", index),
                    fix="Move the file from `resources:` to the `files:` of a KSOPS generator listed under `generators:`.",
                )

    if not argo:
        return
    apps = [r for r in records if isinstance(r, ArgoApp)]
    plugin_folders = {path for r in apps for path in r.plugin_paths}
    unread = [
        (file, record) for file, record in sorted(encrypted.items())
        if record.is_object and file not in consumed and not _flux_decrypts(file, flux_paths)
        and not _plugin_reads(posixpath.dirname(file), plugin_folders, disk)
    ]
    if unread:
        # a partial run (--changed-since, one folder) may not include the Application that reads the folder
        plugin_folders |= _plugin_folders_on_disk(str(ctx.root), {r.file for r in apps})
    for file, record in unread:
        if _plugin_reads(posixpath.dirname(file), plugin_folders, disk):
            continue
        yield Violation(
            "SOPS-encrypted object that no KSOPS generator lists, no Argo CD plugin source reads (and no Flux "
            "Kustomization decrypts): Argo CD never applies it",
            ref=record.ref, path=("sops",), object=record.object, severity=Severity.WARNING,
            fix="Put the file in a folder that an Application source reads with `plugin: {name: sops-decrypt}` "
            "(the layout gitops-kit generates), or list it in the `files:` of the KSOPS generator of the "
            "kustomization that should apply it.",
        )


def _plugin_folders_on_disk(root: str, seen: set[str]) -> set[str]:
    """Plugin source folders of the Argo CD objects in the repository's files that the run did not load."""
    from ..loader import load_file

    found: set[str] = set()
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # .git, .github: no Applications
        for name in sorted(names):
            path = os.path.join(folder, name)
            file = os.path.relpath(path, root).replace(os.sep, "/")
            if not name.endswith((".yaml", ".yml")) or file in seen:
                continue
            try:
                with open(path, "rb") as handle:
                    text = handle.read(_SCAN_BYTES)
            except OSError:
                continue
            if b"argoproj.io" not in text or b"plugin" not in text:
                continue  # the cheap test first: most files are not Argo CD objects with a plugin source
            docs, _problems = load_file(path, file)
            for doc in docs:
                if doc.kind in ARGO_KINDS and doc.group == "argoproj.io" and isinstance(doc.data, dict):
                    found.update(_plugin_paths(doc.data))
    return found


def _plugin_reads(folder: str, plugin_folders: set[str], disk: _Disk) -> bool:
    """A Config Management Plugin source reads the folder's files itself: only where no kustomization is.

    With a kustomization the plugin presumably runs kustomize (KSOPS in a sidecar), so the generator
    checks above decide; the plugin gitops-kit generates refuses such a folder.
    """
    return folder in plugin_folders and not any(disk.exists(posixpath.join(folder, name)) for name in KUSTOMIZATION_NAMES)


def _read_generators(disk: _Disk, config: str) -> list[Generator]:
    return [_generator(doc, doc.data) for doc in disk.documents(config) or [] if is_ksops(doc.data)]


def _check_generator(folder: str, generator: Generator, encrypted: dict[str, Encrypted], disk: _Disk, consumed: set[str]) -> Iterator[Violation]:
    where = {"ref": generator.ref, "object": generator.object}
    if generator.exec_path is None:
        yield Violation(
            "KSOPS generator without the `config.kubernetes.io/function` annotation (exec: path: ksops): kustomize "
            "looks for a legacy plugin instead and the build fails in Argo CD",
            path=("metadata",), **where,
            fix="Add the annotation `config.kubernetes.io/function` with the text `exec: {path: ksops}` under metadata.annotations.",
        )
    elif generator.exec_path.rpartition("/")[2] != "ksops":
        yield Violation(
            f"the function annotation runs {generator.exec_path}, not ksops: the files are not decrypted by KSOPS",
            path=("metadata", "annotations"), severity=Severity.WARNING, **where,
        )
    if not generator.files:
        yield Violation("KSOPS generator lists no files", path=("kind",), severity=Severity.WARNING, **where)
    for listed in generator.files:
        target = resolve(folder, listed.value)
        if target is None:
            yield Violation(
                f"{listed.value} is outside the repository: Argo CD's repo-server cannot read it",
                path=listed.path, **where, fix="List a file inside the repository, relative to the kustomization's folder.",
            )
            continue
        consumed.add(target)
        if target in encrypted:
            continue
        if not disk.exists(target):
            yield Violation(
                f"{listed.value} does not exist ({target}; paths are relative to the kustomization folder "
                f"{folder or '.'}): the build fails",
                path=listed.path, **where, fix="Fix the path, or create the file with `gitops-kit secrets new`.",
            )
        elif not disk.encrypted(target):
            yield Violation(
                f"{listed.value} is not SOPS-encrypted: KSOPS (sops decrypt) fails on it, and a plaintext Secret "
                "must not be in the repository",
                path=listed.path, **where, fix=f"Encrypt it: `gitops-kit secrets encrypt {target}`.",
            )


RULE = Rule(
    id="ksops-decryption",
    severity=Severity.ERROR,
    scope="repository",
    # what collect() records: kustomization files, KSOPS generators, encrypted documents, Argo CD apps and
    # Flux Kustomizations (as objects; in non-manifest files as plain documents)
    kinds=frozenset({"ksops", *ARGO_KINDS, "Kustomization"}),
    plain_documents=True,
    marker_keys=("sops",),
    file_names=KUSTOMIZATION_NAMES,
    summary=(
        "In an Argo CD repository, a SOPS file is listed under resources, a KSOPS generator is broken or misses it, "
        "or nothing decrypts it."
    ),
    rationale=(
        "Argo CD applies what its repo-server renders. An encrypted object reaches the cluster decrypted in two ways: "
        "from a folder without a kustomization that an Application source reads through a Config Management Plugin "
        "(`plugin:`; gitops-kit's Argo CD flavour generates the `sops-decrypt` plugin, a sops sidecar that prints "
        "plain files and decrypts `*.sops.yaml`), or through KSOPS: a `viaduct.ai/v1` `ksops` generator with the "
        "`config.kubernetes.io/function` exec annotation, listing the files. An encrypted file under `resources:` "
        "is passed through as ciphertext; a generator without the annotation, or naming a missing or plaintext "
        "file, fails the build; an encrypted Secret that no generator lists, in no folder a plugin source reads, "
        "is never applied. Plugin sources count whatever their `repoURL` (one repository has several URLs: SSH, "
        "HTTPS, mirrors), with `path` relative to the repository root; only files directly in that folder count. "
        "When the validated paths leave out the Application that reads a folder (a pull-request run), the rule "
        "looks for it in the repository's other YAML files. "
        "The repository counts as Argo CD when `.gitops-kit.yaml` says `fleet: {flavor: argocd}` or it holds "
        "Argo CD Applications; generator checks apply everywhere."
    ),
    fix=(
        "Put encrypted files in a folder an Application source reads with `plugin: {name: sops-decrypt}`, or list "
        "them only in the `files:` of a KSOPS generator named under the kustomization's `generators:`."
    ),
    collect=collect,
    finish=finish,
    example="""\
# clusters/prod/apps/kustomization.yaml (Argo CD repository)
resources:
  - db.sops.yaml        # ciphertext would be applied
""",
    good_example="""\
# clusters/prod/apps/app.yaml: the folder holds db.sops.yaml and plain manifests, no kustomization
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: apps
  namespace: argocd
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: apps
  source:
    repoURL: https://git.example.org/fleet.git
    targetRevision: HEAD
    path: clusters/prod/apps
    plugin:
      name: sops-decrypt  # values/argo-cd.yaml: configs.cmp.plugins + the sops sidecar
""",
)
