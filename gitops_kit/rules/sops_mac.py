"""sops-mac: with an age key at hand, every encrypted file's values and MAC check out as sops checks them."""

from __future__ import annotations

from ..model import DocRef, Document, Severity, Violation
from ..rulebase import Context, Rule
from ..secrets.static import sops_block

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

#: what `secrets verify` reports that means "changed outside sops"; a file this key cannot open (another
#: cluster's) or that cannot be parsed is not this rule's business (secret-not-encrypted reports the latter)
TAMPER_CODES = ("sops-mac", "sops-value")


def collect(doc: Document, ctx: Context) -> DocRef | None:
    if doc.ref.index != 0:
        return None  # sops reads the first document's metadata only
    meta = sops_block(doc.data)
    return doc.ref if meta is not None and meta.get("mac") else None


def _may_have_key(ctx: Context) -> bool:
    """Whether `load_identities` has any source to read: the rule option, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE
    or the sops keys.txt. Asked first because the verifier (pyrage, the sops parser) costs ~20 ms to
    import, for nothing on the usual machine without keys."""
    import os

    option = ctx.rule_options("sops-mac").get("age-key-file")
    if (isinstance(option, str) and option) or os.environ.get("SOPS_AGE_KEY") or os.environ.get("SOPS_AGE_KEY_FILE"):
        return True
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.environ.get("HOME", "~"), ".config")
    return os.path.isfile(os.path.join(config_home, "sops", "age", "keys.txt"))


def _identities(ctx: Context) -> list[Any]:
    import os
    from pathlib import Path

    from ..secrets.verify import load_identities

    option = ctx.rule_options("sops-mac").get("age-key-file")
    key_file = None
    if isinstance(option, str) and option:
        key_file = Path(option) if os.path.isabs(option) else Path(ctx.root, option)
    return load_identities(key_file)


def finish(records: list[DocRef], ctx: Context) -> Iterator[Violation]:
    if not _may_have_key(ctx):
        return
    identities = _identities(ctx)
    if not identities:
        return  # no key here (the usual case on a laptop without keys): nothing can be checked
    from pathlib import Path

    from ..secrets.verify import verify_file

    seen: set[str] = set()
    for ref in records:
        if ref.path in seen:
            continue
        seen.add(ref.path)
        for problem in verify_file(Path(ref.path), identities, display=ref.file):
            if problem.code not in TAMPER_CODES:
                continue
            where = f" at {problem.key}" if problem.key else ""
            yield Violation(
                f"{problem.message}{where}",
                ref=DocRef(ref.path, ref.file, 0, problem.line, ref.ignored),
                line=problem.line,
                column=1,
            )


RULE = Rule(
    id="sops-mac",
    severity=Severity.ERROR,
    scope="repository",
    kinds=frozenset(),  # no object for its kind: encrypted documents only
    marker_keys=("sops",),
    summary="With an age key available, an encrypted file whose values or MAC do not verify (changed outside sops).",
    rationale=(
        "sops protects every value with an AES-GCM tag and the whole file with a MAC, but only `sops decrypt` "
        "checks them, and Flux's kustomize-controller does not check the MAC by default: a hand-edited or "
        "merged-wrong encrypted file can reach the cluster. When a key is at hand (SOPS_AGE_KEY, "
        "SOPS_AGE_KEY_FILE, the sops keys.txt, or `rules: {sops-mac: {age-key-file: …}}` in .gitops-kit.yaml, "
        "e.g. a CI job that has the cluster's key), validate verifies every file that key opens, offline, exactly "
        "as `gitops-kit secrets verify` does. Without a key the rule checks nothing; files the key cannot open are "
        "skipped. Values are never shown."
    ),
    fix=(
        "Restore the file from git, or decrypt it with the previous version and re-encrypt with `gitops-kit secrets "
        "encrypt`; never edit ciphertext, a plaintext field or the sops block by hand."
    ),
    collect=collect,
    finish=finish,
    example="""\
# stringData.key was encrypted by sops; metadata.name was renamed by hand afterwards
apiVersion: v1
kind: Secret
metadata:
  name: renamed-by-hand
stringData:
  key: ENC[AES256_GCM,data:mHeXsmQ=,iv:…,tag:…,type:str]
sops:
  mac: ENC[AES256_GCM,data:…,type:str]
""",
    good_example="""\
# the file exactly as `sops encrypt` (or `gitops-kit secrets encrypt`) wrote it
apiVersion: v1
kind: Secret
metadata:
  name: age
stringData:
  key: ENC[AES256_GCM,data:mHeXsmQ=,iv:…,tag:…,type:str]
sops:
  mac: ENC[AES256_GCM,data:…,type:str]
""",
    references=("https://github.com/getsops/sops#message-authentication-code",),
)
