"""One record per SOPS-encrypted document, shared by the repository rules that keep one to the end of
a run (ksops-decryption, sops-rule-coverage): a large repository has tens of thousands of encrypted
documents, and one shared record costs one slot in each rule's list instead of a record each (the
memory bar of issue 8). Not a rule module: the registry skips names starting with `_`.
"""

from __future__ import annotations

from ..model import DocRef, Document, object_label
from ..rulebase import Record
from ..secrets.static import age_recipients, sops_block
from ..secrets.static import selection as static_selection
from ._memo import per_document, shared


class Keys(Record):
    """What a sops block says about who can decrypt and which values are encrypted: one shared record
    for every document encrypted alike (a repository usually has a handful)."""

    __slots__ = ()
    age: frozenset[str]
    pgp: frozenset[str]
    selection: tuple[str, str] | None  # None: the block sets more than one selection field


class Sealed(Record):
    """An encrypted document: where it is, its object's label in parts (`name` is the document's own
    string, `facts` a tuple shared by the documents of one kind and namespace) and its `Keys`."""

    __slots__ = ()
    ref: DocRef
    name: str
    #: (kind, namespace, has kind and apiVersion) for an object; None for a document that is not one
    facts: tuple[str, str, bool] | None
    keys: Keys

    @property
    def file(self) -> str:
        return self.ref.file

    @property
    def is_object(self) -> bool:
        """Whether the document has both `kind` and `apiVersion` (what KSOPS and Argo CD apply)."""
        return self.facts is not None and self.facts[2]

    @property
    def object(self) -> str:
        """What `Document.object_id` was: built when reported, not kept per document."""
        facts = self.facts
        return object_label(facts[0], facts[1], self.name) if facts is not None else ""


_shared_facts: dict[tuple, tuple] = {}
_shared_keys: dict[Keys, Keys] = {}


@per_document
def sealed(doc: Document) -> Sealed | None:
    """The shared record of an encrypted document (one with a top-level `sops` mapping), or None."""
    meta = sops_block(doc.data)
    if meta is None:
        return None
    facts = None
    if doc.is_object:
        data = doc.data
        facts = shared(_shared_facts, (doc.kind, doc.namespace, bool(data.get("kind") and data.get("apiVersion"))))
    listed = meta.get("pgp")
    pgp = frozenset(str(e.get("fp")) for e in (listed if isinstance(listed, list) else ()) if isinstance(e, dict) and e.get("fp"))
    keys = shared(_shared_keys, Keys(frozenset(age_recipients(meta)), pgp, static_selection(meta)))
    return Sealed(doc.ref, doc.name, facts, keys)  # type: ignore[arg-type]
