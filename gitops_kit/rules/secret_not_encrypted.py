"""secret-not-encrypted: every Secret (and every `*.sops.yaml`/`*.enc.yaml` file) is SOPS-encrypted."""

from __future__ import annotations

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ..secrets.static import ENCRYPTED_FILE_NAMES, is_encrypted_file_name, metadata_problems, plaintext_secret_fields, sops_block, unencrypted_leaves

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    data = doc.data
    if not isinstance(data, dict):
        return
    is_secret = doc.manifest and doc.kind == "Secret"
    if not (is_secret or is_encrypted_file_name(doc.ref.file)):
        return
    meta = sops_block(data)
    if meta is None:
        if is_secret:
            for path in plaintext_secret_fields(data):
                yield Violation(f"Secret value {'.'.join(path)} is plaintext: the Secret has no sops block", path=path)
        elif any(key != "sops" for key in data):
            yield Violation("file is named like an encrypted file but has no sops block", path=(next(iter(data)),))
        return
    for path, message in metadata_problems(meta):
        yield Violation(message, path=path)
    for path, message in unencrypted_leaves(data, meta):
        where = ".".join(str(p) for p in path)
        yield Violation(f"{where}: {message}", path=path)


RULE = Rule(
    id="secret-not-encrypted",
    severity=Severity.ERROR,
    summary="A Secret or a *.sops.yaml file holds plaintext values or a broken sops block.",
    rationale=(
        "A plaintext Secret pushed to a GitOps repository is readable by everyone with access to the repository "
        "and its history, forever. Regex pre-commit hooks miss multi-document files and ignore `encrypted_regex`; "
        "`sops filestatus` only looks for the metadata block. This rule re-applies the file's own sops rule "
        "(`encrypted_regex`, suffixes) to every value and checks each one is a well-formed "
        "`ENC[AES256_GCM,…]` value (32-byte IV, 16-byte tag, known type) and that the sops block has a mac, "
        "version, lastmodified and a recipient. No key and no sops binary needed."
    ),
    fix=(
        "Encrypt the file: `gitops-kit secrets encrypt FILE` (uses the repository's .sops.yaml). If a plaintext "
        "value was committed, rotate that credential: it is in the git history."
    ),
    # Secrets, and any document of a file named like an encrypted file (`is_encrypted_file_name`)
    kinds=frozenset({"Secret"}),
    file_names=ENCRYPTED_FILE_NAMES,
    check=check,
    example="""\
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: apps}
stringData:
  password: hunter2
""",
    good_example="""\
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: apps}
stringData:
  password: ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str]
sops:
  age:
    - recipient: age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        ...
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2024-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:...,iv:...,tag:...,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.11.0
""",
)
