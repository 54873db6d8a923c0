"""flux-decryption: a Flux Kustomization that applies SOPS-encrypted files must be told to decrypt them."""

from __future__ import annotations

import posixpath

from ..model import DocRef, Document, Severity, Violation, object_label
from ..rulebase import Context, Record, Rule
from ..secrets.static import sops_block
from ._memo import shared

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

FLUX_GROUP = "kustomize.toolkit.fluxcd.io"


class FluxKustomization(Record):
    """A Flux Kustomization (one per Kustomization of the repository, kept to the end of the run, and
    few of them are ever reported): its name is the document's own string, where it is the DocRef's
    parts (`ref` rebuilds it) and the rest one tuple shared by the Kustomizations alike."""

    __slots__ = ()
    path: str  # spec.path normalised, relative to the source root ("" = root)
    name: str
    file: str
    index: int
    line: int
    #: namespace, spec.decryption.provider, whether it has a secretRef, the DocRef's base and ignored rules
    facts: tuple[str, str, bool, str | tuple[str], frozenset[str]]

    @property
    def ref(self) -> DocRef:
        facts = self.facts
        return DocRef.from_base(facts[3], self.file, self.index, self.line, facts[4])

    @property
    def object(self) -> str:
        return object_label("Kustomization", self.facts[0], self.name)

    @property
    def provider(self) -> str:
        return self.facts[1]

    @property
    def has_secret_ref(self) -> bool:
        return self.facts[2]


_shared_facts: dict[tuple, tuple] = {}


# An encrypted document is recorded as its DocRef: the very object the document and the other
# SOPS rules' records already hold, so the record costs one list slot (the memory bar).


def _normalise(path: str) -> str:
    cleaned = posixpath.normpath(path.strip().lstrip("/")) if path.strip() else "."
    return "" if cleaned in (".", "") else cleaned


def collect(doc: Document, ctx: Context) -> FluxKustomization | DocRef | None:
    if doc.kind == "Kustomization" and doc.group == FLUX_GROUP and doc.manifest:
        spec = doc.data.get("spec") if isinstance(doc.data.get("spec"), dict) else {}
        decryption = spec.get("decryption") if isinstance(spec.get("decryption"), dict) else {}
        secret_ref = decryption.get("secretRef")
        ref = doc.ref
        has_secret_ref = isinstance(secret_ref, dict) and bool(secret_ref.get("name"))
        facts = shared(_shared_facts, (doc.namespace, str(decryption.get("provider") or ""), has_secret_ref, ref.base, ref.ignored))
        return FluxKustomization(_normalise(str(spec.get("path") or "")), doc.name, ref.file, ref.index, ref.line, facts)
    meta = sops_block(doc.data)
    if meta is not None and meta.get("mac"):
        return doc.ref
    return None


def _owner(file: str, by_path: dict[str, FluxKustomization]) -> FluxKustomization | None:
    # the most specific Kustomization path wins: flux-system at ./clusters/prod usually does not apply
    # what a child Kustomization at ./clusters/prod/apps applies. Walking the file's parent folders
    # against an index keeps this linear in the number of files.
    folder = file
    while "/" in folder:
        folder = folder.rpartition("/")[0]
        if folder in by_path:
            return by_path[folder]
    return by_path.get("")


def _index(records: list, folders: set[str]) -> dict[str, FluxKustomization]:
    """The Kustomizations by path, among the `folders` that hold encrypted files (and their parents):
    no other path can own one, and a large repository has thousands of Kustomizations."""
    by_path: dict[str, FluxKustomization] = {}
    for record in records:
        if isinstance(record, FluxKustomization) and record.path in folders:
            by_path.setdefault(record.path, record)  # first one wins on ties, as before
    return by_path


def _folders(encrypted: Iterator[DocRef]) -> set[str]:
    """Every folder holding an encrypted file and every parent of those ("" = the root)."""
    folders = {""}
    for folder in {ref.file.rpartition("/")[0] for ref in encrypted}:
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def finish(records: list, ctx: Context) -> Iterator[Violation]:
    by_path = _index(records, _folders(r for r in records if isinstance(r, DocRef)))
    if not by_path:
        return  # no Kustomization applies a folder that holds an encrypted file
    needing: dict[FluxKustomization, list[str]] = {}
    for record in records:
        if isinstance(record, DocRef):
            owner = _owner(record.file, by_path)
            if owner is not None:
                needing.setdefault(owner, []).append(record.file)
    for kustomization, files in sorted(needing.items(), key=lambda item: (item[0].file, item[0].line)):
        example = sorted(set(files))[0]
        count = len(set(files))
        if kustomization.provider != "sops":
            yield Violation(
                f"applies {count} SOPS-encrypted file(s) (e.g. {example}) but has no spec.decryption.provider: sops; "
                "Flux would apply the ciphertext as is",
                ref=kustomization.ref, path=("spec",), object=kustomization.object,
            )
        elif not kustomization.has_secret_ref:
            yield Violation(
                f"decrypts {count} SOPS-encrypted file(s) but spec.decryption has no secretRef: it only works when the "
                "controller runs with --sops-age-secret",
                ref=kustomization.ref, path=("spec", "decryption"), object=kustomization.object, severity=Severity.WARNING,
            )


RULE = Rule(
    id="flux-decryption",
    severity=Severity.ERROR,
    scope="repository",
    kinds=frozenset({"Kustomization"}),
    marker_keys=("sops",),  # encrypted documents
    summary="A Flux Kustomization applies SOPS-encrypted files without spec.decryption (provider sops and a secretRef).",
    rationale=(
        "kustomize-controller only decrypts SOPS resources when the Kustomization declares "
        "`spec.decryption.provider: sops`; without it the encrypted Secret is applied with ENC[...] strings as its "
        "values (or rejected), and the workload fails at run time. The age key comes from `secretRef` (keys ending "
        "in `.agekey`). Each encrypted file is attributed to the Kustomization with the most specific spec.path. "
        "Argo CD repositories decrypt with the sops-decrypt Config Management Plugin or KSOPS instead: see ksops-decryption."
    ),
    fix="Add `decryption: {provider: sops, secretRef: {name: sops-age}}` to the Kustomization's spec.",
    collect=collect,
    finish=finish,
    example="""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  path: ./clusters/prod/apps   # holds db.sops.yaml
  sourceRef: {kind: GitRepository, name: flux-system}
  interval: 10m
  prune: true
""",
    good_example="""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  path: ./clusters/prod/apps
  sourceRef: {kind: GitRepository, name: flux-system}
  interval: 10m
  prune: true
  decryption:
    provider: sops
    secretRef: {name: sops-age}
""",
)
