"""Helm values embedded in a Flux HelmRelease or an Argo CD Application, with their paths.

Shared by the rules that check the values of a particular chart. Argo CD's `helm.values` is a YAML
string: it is parsed here, and findings inside it point at the `values` key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from ..model import Document, PathPart

Path = tuple[PathPart, ...]


@dataclass(frozen=True, slots=True)
class EmbeddedValues:
    chart: str
    values: Mapping[str, Any]
    #: path of the values mapping; for a string (Argo CD `helm.values`) the path of that string
    path: Path
    #: True when `values` came from a YAML string: sub-paths cannot be located inside it
    from_string: bool = False

    def at(self, *parts: PathPart) -> Path:
        return self.path if self.from_string else self.path + parts


def _chart_name(name: Any) -> str:
    # OCI and repository-qualified names: oci://registry/charts/gitlab-runner, gitlab/gitlab-runner
    return name.rstrip("/").rsplit("/", 1)[-1] if isinstance(name, str) else ""


def _argo_sources(spec: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Path]]:
    source = spec.get("source")
    if isinstance(source, dict):
        yield source, ("spec", "source")
    sources = spec.get("sources")
    if isinstance(sources, list):
        for index, item in enumerate(sources):
            if isinstance(item, dict):
                yield item, ("spec", "sources", index)


def embedded_values(doc: Document) -> Iterator[EmbeddedValues]:
    """Values of every chart a HelmRelease or Application installs (possibly empty mappings)."""
    spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
    if not isinstance(spec, dict):
        return
    if doc.kind == "HelmRelease" and doc.group == "helm.toolkit.fluxcd.io":
        chart = spec.get("chart")
        chart_spec = chart.get("spec") if isinstance(chart, dict) else None
        name = _chart_name(chart_spec.get("chart")) if isinstance(chart_spec, dict) else ""
        chart_ref = spec.get("chartRef")
        if not name and isinstance(chart_ref, dict):
            # an OCIRepository / HelmChart source is usually named after the chart it serves
            name = _chart_name(chart_ref.get("name"))
        values = spec.get("values")
        if name:
            yield EmbeddedValues(name, values if isinstance(values, dict) else {}, ("spec", "values"))
    elif doc.kind == "Application" and doc.group == "argoproj.io":
        for source, path in _argo_sources(spec):
            name = _chart_name(source.get("chart"))
            if not name:
                continue
            helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
            if isinstance(helm.get("valuesObject"), dict):
                yield EmbeddedValues(name, helm["valuesObject"], path + ("helm", "valuesObject"))
            elif isinstance(helm.get("values"), str):
                parsed = _parse_yaml(helm["values"])
                yield EmbeddedValues(name, parsed if isinstance(parsed, dict) else {}, path + ("helm", "values"), True)
            else:
                yield EmbeddedValues(name, {}, path)


def _parse_yaml(text: str) -> Any:
    import yaml_rs

    try:
        return yaml_rs.loads(text)
    except (yaml_rs.YAMLDecodeError, ValueError, RecursionError):
        return None  # a broken values string: the rules report missing keys, the Application fails to sync
