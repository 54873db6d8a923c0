"""sops-rule-coverage: every encrypted file matches a `.sops.yaml` creation rule and carries its recipients."""

from __future__ import annotations

import posixpath

from ..errors import UserError
from ..model import DocRef, Document, Severity, Violation
from ..rulebase import Context, Record, Rule
from ._sealed import Keys, Sealed, sealed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

    from ..secrets.sops_config import CreationRule

CONFIG_NAMES = (".sops.yaml",)


class Config(Record):
    __slots__ = ()
    directory: str  # POSIX, relative to the root; "" for the root
    rules: tuple[CreationRule, ...]


class EncryptedAfterPlain(Record):
    """The file's first encrypted document when the file's first document is plain."""

    __slots__ = ()
    ref: DocRef
    keys: Keys
    plain_first: DocRef


#: every other encrypted document: the record ksops-decryption keeps for it too (one object for both rules)
Encrypted = Sealed

# Documents of one file reach `collect` in order and in one process, so the plain first document of
# the file being read is remembered here and attached to the file's first encrypted record, instead
# of keeping a record for the first document of every file in the repository (the memory bar).
_plain_first: list = [None]  # [(file, ref)] or [None]


def collect(doc: Document, ctx: Context) -> Config | Sealed | EncryptedAfterPlain | None:
    name = doc.ref.file.rpartition("/")[2]
    if name in CONFIG_NAMES and isinstance(doc.data, dict):
        from ..secrets.sops_config import creation_rules

        return Config(posixpath.dirname(doc.ref.file), tuple(creation_rules(doc.data)))
    encrypted = sealed(doc)
    if encrypted is None:
        if doc.ref.index == 0 and isinstance(doc.data, dict):
            _plain_first[0] = (doc.ref.file, doc.ref)
        return None
    remembered = _plain_first[0]
    if doc.ref.index > 0 and remembered is not None and remembered[0] == doc.ref.file:
        _plain_first[0] = None
        return EncryptedAfterPlain(doc.ref, encrypted.keys, remembered[1])
    return encrypted


def finish(records: list, ctx: Context) -> Iterator[Violation]:
    configs = [r for r in records if isinstance(r, Config)]
    encrypted = [r for r in records if isinstance(r, (Encrypted, EncryptedAfterPlain))]
    plain_first = {r.ref.file: r.plain_first for r in encrypted if isinstance(r, EncryptedAfterPlain)}
    if not encrypted:
        return
    if not configs:
        # The validated paths may not include the root's .sops.yaml: read it at the edge.
        configs = _root_config(ctx)
    reported_files: set[str] = set()
    # By file, in place and without a key tuple per record: this runs at the peak of a large run, and the
    # order of violations does not matter (findings are sorted), only that a file's records are together.
    encrypted.sort(key=_file_of)
    for record in encrypted:
        file = record.ref.file
        if record.ref.index > 0 and file in plain_first and file not in reported_files:
            reported_files.add(file)
            yield Violation(
                "the first document of this file has no sops block, so `sops decrypt` and KSOPS fail on the whole "
                "file (only the first document's sops block counts); encrypt each Secret in its own file",
                ref=plain_first[file],
                fix="Move the plain documents out of the encrypted file, or encrypt the whole file with sops.",
            )
        yield from _check_against_config(record.ref, record.keys, configs)


def _file_of(record: Encrypted | EncryptedAfterPlain) -> str:
    return record.ref.file


def _check_against_config(ref: DocRef, keys: Keys, configs: list[Config]) -> Iterator[Violation]:
    from ..secrets.sops_config import first_matching_rule

    file = ref.file
    config = _nearest(file, configs)
    if config is None:
        yield Violation(
            "encrypted file but no .sops.yaml covers it: nobody can re-encrypt or rotate its keys consistently",
            ref=ref, path=("sops",), fix="Create .sops.yaml at the repository root (`gitops-kit secrets keygen --cluster NAME`).",
        )
        return
    relative = file[len(config.directory) + 1 :] if config.directory else file
    config_file = posixpath.join(config.directory, ".sops.yaml")
    try:
        rule = first_matching_rule(list(config.rules), relative)
    except UserError as error:
        yield Violation(f"{config_file}: {error}", ref=ref, path=("sops",), fix="Fix the path_regex in .sops.yaml.")
        return
    if rule is None:
        yield Violation(
            f"no creation rule in {config_file} matches {relative}: sops cannot re-encrypt or update its keys",
            ref=ref, path=("sops",), fix=f"Add a creation rule whose path_regex matches {relative} to {config_file}.",
        )
        return
    wanted = rule.selection or ("unencrypted_suffix", "_unencrypted")
    if keys.selection is not None and keys.selection != wanted:
        yield Violation(
            f"the file uses {keys.selection[0]}: {keys.selection[1]} but creation rule {rule.index} of {config_file} "
            f"says {wanted[0]}: {wanted[1]}",
            ref=ref, path=("sops",), fix="Decrypt and re-encrypt the file so it follows the repository's rule.",
        )
    if (rule.age or keys.age) and frozenset(rule.age) != keys.age or (rule.pgp or keys.pgp) and frozenset(rule.pgp) != keys.pgp:
        missing = sorted((set(rule.age) | set(rule.pgp)) - (keys.age | keys.pgp))
        stale = sorted((keys.age | keys.pgp) - (set(rule.age) | set(rule.pgp)))
        parts = []
        if missing:
            parts.append(f"missing {', '.join(_short(k) for k in missing)}")
        if stale:
            parts.append(f"not in the rule any more: {', '.join(_short(k) for k in stale)}")
        yield Violation(
            f"recipients differ from creation rule {rule.index} of {config_file} ({'; '.join(parts)})",
            ref=ref, path=("sops",), fix=f"Run `gitops-kit secrets updatekeys {file}` (needs a key that can decrypt it).",
        )


def _short(key: str) -> str:
    return key if len(key) <= 20 else f"{key[:12]}…{key[-6:]}"


def _nearest(file: str, configs: list[Config]) -> Config | None:
    best: Config | None = None
    for config in configs:
        if config.directory and not file.startswith(config.directory + "/"):
            continue
        if best is None or len(config.directory) > len(best.directory):
            best = config
    return best


def _root_config(ctx: Context) -> list[Config]:
    from ..secrets.sops_config import creation_rules, load_config
    from pathlib import Path

    path = Path(ctx.root) / ".sops.yaml"
    if not path.is_file():
        return []
    try:
        return [Config("", tuple(creation_rules(load_config(path))))]
    except UserError:
        return []  # yaml-syntax reports a broken .sops.yaml when it is validated


RULE = Rule(
    id="sops-rule-coverage",
    severity=Severity.ERROR,
    scope="repository",
    # no object for its kind: encrypted documents, the plain first document of their file, .sops.yaml files
    kinds=frozenset(),
    marker_keys=("sops",),
    file_names=CONFIG_NAMES,
    summary="An encrypted file has no matching .sops.yaml creation rule, or its recipients or encrypted_regex differ from the rule.",
    rationale=(
        "sops picks the first creation rule whose path_regex matches the path relative to .sops.yaml. When no rule "
        "matches, nobody can re-encrypt or rotate the file; when the file's recipients differ from the rule "
        "(a key was rotated and the file was not updated), a removed key can still decrypt it and a new cluster "
        "cannot. Only the first document's sops block counts for `sops decrypt` and KSOPS."
    ),
    fix="Run `gitops-kit secrets updatekeys FILE`, or add a creation rule for the file's path to .sops.yaml.",
    collect=collect,
    finish=finish,
    example="""\
# .sops.yaml
creation_rules:
  - path_regex: ^clusters/prod/
    encrypted_regex: ^(data|stringData)$
    age: age1newkey...
# clusters/prod/db.yaml is still encrypted for age1oldkey... only
""",
    good_example="""\
# .sops.yaml
creation_rules:
  - path_regex: ^clusters/prod/
    encrypted_regex: ^(data|stringData)$
    age: age1newkey...
# clusters/prod/db.yaml: sops.age lists exactly age1newkey... (after `gitops-kit secrets updatekeys`)
""",
)
