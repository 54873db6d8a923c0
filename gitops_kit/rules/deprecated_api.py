"""deprecated-api: an apiVersion that the target version of its component removed or deprecated."""

from __future__ import annotations

from functools import lru_cache

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._versions import Version, parse_version, target_version

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator, Mapping

#: component names in the data file → what `ctx.target()` and `--target` call them
COMPONENT_LABELS = {
    "kubernetes": "Kubernetes",
    "flux": "Flux",
    "argocd": "Argo CD",
    "cilium": "Cilium",
    "cert-manager": "cert-manager",
    "istio": "Istio",
}


class Deprecation:
    """One row of the data file; `kind` "" = every kind of that apiVersion."""

    __slots__ = ("api_version", "kind", "component", "deprecated_in", "removed_in", "replacement", "replacement_available_in")

    def __init__(
        self,
        api_version: str,
        kind: str,
        component: str,
        deprecated_in: Version,
        removed_in: Version | None,
        replacement: str,
        replacement_available_in: Version | None,
    ) -> None:
        self.api_version = api_version
        self.kind = kind
        self.component = component
        self.deprecated_in = deprecated_in
        self.removed_in = removed_in
        self.replacement = replacement
        self.replacement_available_in = replacement_available_in


class Table:
    """The rows by (apiVersion, kind); a row becomes a `Deprecation` when an object first needs it
    (a run over current APIs parses none of the versions)."""

    __slots__ = ("latest", "_raw", "_rows", "apis")

    def __init__(self, latest: Mapping[str, str], raw: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
        self.latest = latest
        self._raw = raw
        self._rows: dict[tuple[str, str], Deprecation] = {}
        #: every apiVersion with a row: one set lookup answers the objects on current APIs
        self.apis = frozenset(api for api, _kind in raw)

    def find(self, api_version: str, kind: str) -> Deprecation | None:
        if api_version not in self.apis:
            return None
        key = (api_version, kind) if (api_version, kind) in self._raw else (api_version, "")
        return self._row(key) if key in self._raw else None

    def rows(self) -> list[Deprecation]:
        """Every row, parsed (for tests and docs)."""
        return [self._row(key) for key in self._raw]

    def _row(self, key: tuple[str, str]) -> Deprecation:
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _row(self._raw[key])
        return row


def _row(raw: Mapping[str, Any]) -> Deprecation:
    deprecated = parse_version(raw.get("deprecated-in"))
    if deprecated is None:
        raise ValueError(f"deprecations.yaml: row {raw!r} has no deprecated-in version")
    return Deprecation(
        api_version=str(raw["api-version"]),
        kind=str(raw.get("kind") or ""),
        component=str(raw["component"]),
        deprecated_in=deprecated,
        removed_in=parse_version(raw.get("removed-in")),
        replacement=str(raw.get("replacement") or ""),
        replacement_available_in=parse_version(raw.get("replacement-available-in")),
    )


@lru_cache(maxsize=1)
def table() -> Table:
    """The packaged deprecations table (read once, on first use)."""
    from ._yaml import data_table

    raw = data_table("deprecations.yaml")
    rows = {(str(item["api-version"]), str(item.get("kind") or "")): item for item in raw["apis"]}
    return Table(dict(raw["latest"]), rows)


def _text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def _replacement(row: Deprecation, kind: str) -> str:
    if not row.replacement:
        return "there is no drop-in replacement: remove the object or migrate to the successor mechanism"
    since = f" (served since {COMPONENT_LABELS.get(row.component, row.component)} {_text(row.replacement_available_in)})" if row.replacement_available_in else ""
    return f"use apiVersion {row.replacement} {kind}{since}"


def check(doc: Document, ctx: Context) -> Iterable[Violation]:
    catalogue = table()
    row = catalogue.find(doc.api_version, doc.kind)
    # almost every object uses a current API: no generator for those
    return () if row is None else _violations(doc, ctx, catalogue, row)


def _violations(doc: Document, ctx: Context, catalogue: Table, row: Deprecation) -> Iterator[Violation]:
    target = target_version(ctx, row.component, catalogue.latest)
    if target is None or target < row.deprecated_in:
        return
    label = COMPONENT_LABELS.get(row.component, row.component)
    what = f"{doc.api_version} {doc.kind}"
    replacement = _replacement(row, doc.kind)
    if row.removed_in is not None and target >= row.removed_in:
        yield Violation(
            f"{what} is no longer served by {label} {_text(row.removed_in)}+ (target {label} {_text(target)}): {replacement}",
            path=("apiVersion",),
            severity=Severity.ERROR,
            fix=replacement[0].upper() + replacement[1:] + ".",
        )
        return
    removal = f"; removed in {label} {_text(row.removed_in)}" if row.removed_in else ""
    yield Violation(
        f"{what} is deprecated since {label} {_text(row.deprecated_in)}{removal} (target {label} {_text(target)}): {replacement}",
        path=("apiVersion",),
        severity=Severity.WARNING,
        fix=replacement[0].upper() + replacement[1:] + ".",
    )


RULE = Rule(
    id="deprecated-api",
    severity=Severity.ERROR,
    summary="An object uses an apiVersion that the target Kubernetes, Flux, Cilium or cert-manager version removed (error) or deprecated (warning).",
    rationale=(
        "A removed apiVersion is rejected by the API server (\"no matches for kind\"), so a Flux Kustomization or "
        "Argo CD Application stops reconciling at the next upgrade, usually in the middle of it. Deprecated "
        "versions still work but will break at a known release. Versions come from Kubernetes' own API lifecycle "
        "data, the CRDs each Flux release serves, Cilium and cert-manager release notes (and Pluto's table). "
        "The target versions are `targets:` in `.gitops-kit.yaml` or `--kubernetes-version`, `--flux-version`, "
        "`--cilium-version`, `--target COMPONENT=X.Y`; unset means the latest release gitops-kit knows."
    ),
    fix="Change apiVersion to the replacement the finding names (convert the fields that changed; `flux migrate -f` does it for Flux).",
    # objects on an apiVersion of the table (the usual object, on a current API, never reaches the rule)
    api_versions=table().apis,
    check=check,
    example="""\
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: cleanup, namespace: ops}
spec:
  schedule: "0 3 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox:1.36}]}}}}
""",
    good_example="""\
apiVersion: batch/v1
kind: CronJob
metadata: {name: cleanup, namespace: ops}
spec:
  schedule: "0 3 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox:1.36}]}}}}
""",
    references=(
        "https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
        "https://fluxcd.io/flux/releases/",
    ),
)
