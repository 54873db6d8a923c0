"""gitlab-runner-token-secret: the Secret named by the gitlab-runner values' runners.secret holds both token keys."""

from __future__ import annotations

from ..model import DocRef, Document, Severity, Violation, object_label
from ..rulebase import Context, Rule
from ._fleet import cluster_of
from ._helm import embedded_values
from ._memo import shared

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

#: chart 0.86 projects both keys into the runner pod with explicit `items` and no `optional`
KEYS = ("runner-token", "runner-registration-token")


class Wanted:
    """A release of the gitlab-runner chart and the Secret its values name."""

    __slots__ = ("secret", "namespace", "cluster", "at", "object")

    def __init__(self, secret: str, namespace: str, cluster: str | None, at: dict, object: str) -> None:  # noqa: A002
        self.secret, self.namespace, self.cluster, self.at, self.object = secret, namespace, cluster, at, object


class Found:
    """A Secret and the keys it holds (names only: values never leave the document).

    One per Secret of the repository, kept to the end of the run: three slots. `name` is the
    document's own string (other rules keep the same one); namespace, cluster, key names and the
    data field are one tuple shared by the Secrets that have the same."""

    __slots__ = ("name", "ref", "_facts")

    def __init__(self, name: str, namespace: str, cluster: str | None, keys: frozenset, ref: DocRef, data_key: str) -> None:
        self.name, self.ref, self._facts = name, ref, shared(_shared_facts, (namespace, cluster, keys, data_key))

    @property
    def namespace(self) -> str:
        return self._facts[0]

    @property
    def cluster(self) -> str | None:
        return self._facts[1]

    @property
    def keys(self) -> frozenset:
        return self._facts[2]

    @property
    def data_key(self) -> str:
        return self._facts[3]

    @property
    def object(self) -> str:  # built when reported
        return object_label("Secret", self.namespace, self.name)

    def __reduce__(self):  # pickled (parallel runs) with its shared facts, not four fields each
        return (_found, (self.name, self.ref, self._facts))


def _found(name: str, ref: DocRef, facts: tuple) -> Found:
    found = Found.__new__(Found)
    found.name, found.ref, found._facts = name, ref, facts
    return found


_shared_facts: dict[tuple, tuple] = {}


def _release_namespace(doc: Document) -> str:
    spec = doc.data.get("spec") if isinstance(doc.data.get("spec"), dict) else {}
    if doc.kind == "Application":
        destination = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
        return str(destination.get("namespace") or "")
    return str(spec.get("targetNamespace") or doc.namespace or "")


def collect(doc: Document, ctx: Context) -> list[Any] | None:
    fleet = ctx.services.get("fleet")
    if doc.kind == "Secret":
        keys: set[str] = set()
        data_key = ""
        for field in ("data", "stringData"):
            block = doc.data.get(field)
            if isinstance(block, dict):
                keys.update(str(k) for k in block)
                data_key = data_key or field
        return Found(doc.name, doc.namespace, cluster_of(doc, fleet), frozenset(keys), doc.ref, data_key)
    wanted = []
    for values in embedded_values(doc, ctx):
        runners = values.values.get("runners") if values.chart == "gitlab-runner" else None
        secret = runners.get("secret") if isinstance(runners, dict) else None
        if isinstance(secret, str) and secret.strip() and "{{" not in secret:
            at = values.where("runners", "secret")
            at["ref"] = at["ref"] or doc.ref
            at.pop("doc", None)
            wanted.append(Wanted(secret.strip(), _release_namespace(doc), cluster_of(doc, fleet), at, doc.object_id))
    return wanted or None


def finish(records: list[list[Any]], ctx: Context) -> Iterator[Violation]:
    # Wanted records come in lists (one per release), Found records alone (one per Secret of the repository)
    wanted = [r for record in records if isinstance(record, list) for r in record if isinstance(r, Wanted)]
    if not wanted:
        return  # no gitlab-runner release: nothing to look up (and no list of every Secret at the run's peak)
    secrets = [r for r in records if isinstance(r, Found)]
    reported: set[tuple] = set()
    for want in wanted:
        for secret in secrets:
            if secret.name != want.secret or (secret.namespace and want.namespace and secret.namespace != want.namespace):
                continue
            if secret.cluster and want.cluster and secret.cluster != want.cluster:
                continue
            missing = [key for key in KEYS if key not in secret.keys]
            key = (secret.ref.file, secret.ref.index)
            if not missing or key in reported:
                continue
            reported.add(key)
            yield Violation(
                f"Secret {secret.name} is the gitlab-runner token Secret of {want.object} (runners.secret) but has no "
                f"{' and no '.join(missing)} key: the chart mounts both keys, so the runner pod cannot start",
                path=(secret.data_key,) if secret.data_key else ("metadata", "name"),
                ref=secret.ref,
                object=secret.object,
                fix='Add the missing key(s); runner-registration-token may be empty ("") when the runner uses an authentication token.',
            )


RULE = Rule(
    id="gitlab-runner-token-secret",
    severity=Severity.ERROR,
    scope="repository",
    kinds=frozenset({"Secret", "HelmRelease", "Application"}),
    summary="The Secret that gitlab-runner values name in runners.secret holds both runner-token and runner-registration-token.",
    rationale=(
        "The gitlab-runner chart (0.86) projects the token Secret into the runner pod with explicit items for both "
        "runner-token and runner-registration-token and without `optional`, so a Secret with only runner-token (the "
        "obvious content for a glrt- authentication token) leaves the pod stuck in ContainerCreating. The Secret is "
        "looked up by name and namespace (the release's target namespace) in the same cluster folder, across the "
        "repository, SOPS-encrypted files included (key names are not encrypted); a Secret created outside the "
        "repository is not checked."
    ),
    fix='Add the missing key; runner-registration-token may be "" when the runner registers with an authentication token.',
    collect=collect,
    finish=finish,
    example="""\
apiVersion: v1
kind: Secret
metadata: {name: gitlab-runner-token, namespace: gitlab-runner}
stringData:
  runner-token: glrt-REPLACE-ME
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gitlab-runner, namespace: gitlab-runner}
spec:
  interval: 30m
  chart:
    spec: {chart: gitlab-runner, version: 0.86.x, sourceRef: {kind: HelmRepository, name: gitlab}}
  values:
    runners: {secret: gitlab-runner-token}
""",
    good_example="""\
apiVersion: v1
kind: Secret
metadata: {name: gitlab-runner-token, namespace: gitlab-runner}
stringData:
  runner-token: glrt-REPLACE-ME
  runner-registration-token: ""
""",
    references=("https://docs.gitlab.com/runner/install/kubernetes/",),
)
