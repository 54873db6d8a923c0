"""chart-version: the charts gitops-kit scaffolds are pinned, and not to a version below a known floor.

Helm, Flux and Argo CD install the highest version a constraint allows, so what matters about a range is
its ceiling: `1.16.x` installs a 1.16 release, `>=1.17` whatever is newest tomorrow.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._helm import argo_sources, chart_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

    from ..model import PathPart

INF = 1 << 30
_COMPARATOR = r"^(>=|<=|~>|>|<|=|~|\^)?\s*v?([0-9xX*]+(?:\.[0-9xX*]+){0,2})(?:[-+][0-9A-Za-z.+-]*)?$"  # compiled on first use (re's cache)
_FLOATING_WORDS = {"", "*", "x", "X", "latest", "HEAD", "head", "main", "master"}


@lru_cache(maxsize=1)
def table() -> Mapping[str, Any]:
    from ._yaml import data_table

    return data_table("chart-versions.yaml")["charts"]


def _parts(text: str) -> list[int | None]:
    """`1.19.x` → [1, 19, None]; missing parts are wildcards."""
    parts: list[int | None] = [None if p in ("x", "X", "*") else int(p) for p in text.split(".")]
    return parts + [None] * (3 - len(parts))


def _fill(parts: list[int | None], value: int) -> tuple[int, int, int]:
    out, wild = [], False
    for part in parts:
        wild = wild or part is None
        out.append(value if wild else part)
    return tuple(out)  # type: ignore[return-value]


def ceiling(constraint: str) -> tuple[int, int, int] | None:
    """The highest version `constraint` allows (components may be INF), or None when nothing bounds it.
    Raises ValueError for text that is no version constraint."""
    best: tuple[int, int, int] | None = (-1, -1, -1)
    for alternative in constraint.split("||"):
        alternative = re.sub(r"(>=|<=|~>|>|<|=|~|\^)\s+", r"\1", alternative.strip())
        if re.fullmatch(r"\S+\s+-\s+\S+", alternative):  # hyphen range "1.2 - 1.4"
            alternative = "<=" + alternative.split()[-1]
        upper: tuple[int, int, int] | None = None
        for token in [t for t in re.split(r"[\s,]+", alternative) if t]:
            match = re.match(_COMPARATOR, token)
            if not match:
                raise ValueError(token)
            op, parts = match.group(1) or "", _parts(match.group(2))
            bound: tuple[int, int, int] | None
            if op in (">", ">="):
                continue
            if op == "<":
                low = _fill(parts, 0)
                bound = _below(low)
            elif op in ("~", "~>"):
                bound = (parts[0], parts[1], INF) if parts[1] is not None else (parts[0], INF, INF)  # type: ignore[assignment]
            elif op == "^":
                first = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
                bound = tuple(p if i <= first and p is not None else INF for i, p in enumerate(parts))  # type: ignore[assignment]
            else:  # exact, `=` or wildcard
                bound = None if parts[0] is None else _fill(parts, INF)
            if bound is not None and bound[0] is not None:
                upper = bound if upper is None else min(upper, bound)
        if upper is None:
            return None
        best = max(best, upper) if best is not None else upper
    return best


def _below(version: tuple[int, int, int]) -> tuple[int, int, int]:
    major, minor, patch = version
    if patch:
        return (major, minor, patch - 1)
    if minor:
        return (major, minor - 1, INF)
    return (major - 1, INF, INF)


def _version(text: str) -> tuple[int, int, int]:
    return _fill(_parts(text.lstrip("v")), 0)


def _show(version: tuple[int, int, int]) -> str:
    return ".".join("x" if part >= INF else str(part) for part in version)


def pins(doc: Document) -> Iterator[tuple[str, Any, tuple[PathPart, ...], str]]:
    """(chart, version text or None, path to report at, what the text is) for every chart the document pins."""
    spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
    if not isinstance(spec, dict):
        return
    group = doc.group
    if doc.kind == "HelmRelease" and group == "helm.toolkit.fluxcd.io":
        chart = spec.get("chart")
        chart_spec = chart.get("spec") if isinstance(chart, dict) else None
        if isinstance(chart_spec, dict):  # chartRef: the version is the OCIRepository's / HelmChart's business
            where = ("spec", "chart", "spec", "version") if "version" in chart_spec else ("spec", "chart", "spec")
            yield chart_name(chart_spec.get("chart")), chart_spec.get("version"), where, "spec.chart.spec.version"
    elif doc.kind == "HelmChart" and group == "source.toolkit.fluxcd.io":
        where = ("spec", "version") if "version" in spec else ("spec",)
        yield chart_name(spec.get("chart")), spec.get("version"), where, "spec.version"
    elif doc.kind == "OCIRepository" and group == "source.toolkit.fluxcd.io":
        layer = spec.get("layerSelector") if isinstance(spec.get("layerSelector"), dict) else {}
        if "helm" not in str(layer.get("mediaType", "")) and "/charts/" not in str(spec.get("url", "")):
            return  # an OCI artifact of manifests, not a chart
        ref = spec.get("ref") if isinstance(spec.get("ref"), dict) else {}
        if ref.get("digest"):
            return  # pinned to content; the version is unknown but cannot move
        key = "semver" if "semver" in ref else "tag"
        if key in ref:
            yield chart_name(spec.get("url")), ref.get(key), ("spec", "ref", key), f"spec.ref.{key}"
        else:  # no tag: Flux pulls `latest`
            yield chart_name(spec.get("url")), None, ("spec", "ref") if "ref" in spec else ("spec",), "spec.ref"
    elif doc.kind == "Application" and group == "argoproj.io":
        for source, path in argo_sources(spec):
            if source.get("chart"):
                where = (*path, "targetRevision") if "targetRevision" in source else path
                yield chart_name(source.get("chart")), source.get("targetRevision"), where, "targetRevision"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    charts = table()
    for chart, text, where, field in pins(doc):
        facts = charts.get(chart)
        if not isinstance(facts, dict):
            continue
        shown = "not set" if text is None else f"{text!r}"
        value = str(text).strip() if text is not None else ""
        generated = facts.get("generated")
        pin_fix = f"Pin {field} to a release line, e.g. {generated!r}." if generated else f"Pin {field} to an exact version or a patch range (X.Y.x)."
        if isinstance(text, float):
            yield Violation(
                f"chart {chart}: {field} is the YAML number {text!r}, not a version string (YAML reads 1.10 as 1.1)",
                path=where, fix=f"Quote the version: {field}: \"X.Y.Z\".",
            )
            continue
        if value in _FLOATING_WORDS:
            yield Violation(
                f"chart {chart}: {field} is {shown}, so every sync may install a new release (including majors with breaking changes)",
                path=where, fix=pin_fix,
            )
            continue
        try:
            top = ceiling(value)
        except (ValueError, TypeError):
            yield Violation(f"chart {chart}: {field} {shown} is not a version or version range", path=where, fix=pin_fix)
            continue
        if top is None:
            yield Violation(
                f"chart {chart}: {field} {shown} has no upper bound, so every sync may install a new release (including majors with breaking changes)",
                path=where, fix=pin_fix,
            )
            continue
        yield from _below_floor(chart, facts, value, top, where, field)


def _below_floor(chart: str, facts: Mapping[str, Any], value: str, top: tuple, where: tuple, field: str) -> Iterator[Violation]:
    for broken in facts.get("broken") or []:
        if _version(str(broken["version"])) == top:
            yield Violation(
                f"chart {chart} {value} is a known-broken release: {broken['reason']}",
                path=where, fix=f"Move {field} to a fixed release (at least {facts.get('floor')}).",
            )
            return
    floor = facts.get("floor")
    if floor and top < _version(str(floor)):
        allows = f"pins {value}" if re.fullmatch(r"v?[0-9xX*.]+", value) else f"{value} allows at most {_show(top)}"
        yield Violation(
            f"chart {chart}: {field} {allows}, below the supported floor {floor}: {' '.join(str(facts['reason']).split())}",
            path=where,
            fix=f"Upgrade to {floor} or later" + (f" (gitops-kit generates {facts['generated']!r})." if facts.get("generated") else "."),
        )


RULE = Rule(
    id="chart-version",
    severity=Severity.WARNING,
    kinds=frozenset({"HelmRelease", "HelmChart", "OCIRepository", "Application"}),
    summary="Charts gitops-kit scaffolds (cilium, gpu-operator, cvmfs-csi, gitlab-runner, kepler, ingress-nginx, kube-prometheus-stack) are pinned, and not below a known floor.",
    rationale=(
        "A missing version, `*`, `latest` or a range without an upper bound (`>=1.17`) lets Flux or Argo CD install "
        "whatever the chart repository publishes next, majors with breaking value changes included, on every cluster "
        "at once. Helm installs the highest version a range allows, so a range is judged by its ceiling: a pin whose "
        "ceiling is below the chart's floor installs a release that is out of support or known to break (the floors, "
        "the releases known to be broken and their sources are in gitops_kit/data/chart-versions.yaml). Checked: "
        "HelmRelease spec.chart.spec.version, HelmChart spec.version, OCIRepository spec.ref (semver/tag; a digest "
        "counts as pinned) and Argo CD Application targetRevision."
    ),
    fix="Pin a release line (e.g. `1.19.x`) at or above the floor the finding names.",
    check=check,
    example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec:
  interval: 30m
  chart:
    spec:
      chart: cilium
      version: ">=1.15.0"
      sourceRef: {kind: HelmRepository, name: cilium}
""",
    good_example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: cilium, namespace: kube-system}
spec:
  interval: 30m
  chart:
    spec:
      chart: cilium
      version: "1.19.x"
      sourceRef: {kind: HelmRepository, name: cilium}
""",
    references=(
        "https://fluxcd.io/flux/components/helm/helmreleases/#chart-template",
        "https://argo-cd.readthedocs.io/en/stable/user-guide/tracking_deployment_strategy/",
    ),
)
